import Dispatch
import Foundation
import GossipProtocol
import PeerCore
import RecommenderModel
import Synchronization
import WireFormat

extension EventSimulation {
    /// Hands out a window's peers to its threads, one at a time.
    final class WorkCursor: Sendable {
        let next = Atomic<Int>(0)
    }

    /// One window's work (`run(until:)`): raw pointers that are valid, and only used, while the window runs. Each peer
    /// is run by exactly one thread, which writes only that peer and its `wake` slot; the fabric is read-only.
    struct WindowJob: @unchecked Sendable {
        let fabric: UnsafePointer<Fabric>
        let peers: UnsafeMutablePointer<SimPeer>
        let wake: UnsafeMutablePointer<Int64>
        let active: UnsafePointer<Int32>
        let from: Int64
        let cap: Int64

        func run(_ k: Int) {
            let i = Int(active[k])
            var w = PeerWorker(fabric: fabric, peer: peers + i, index: i, now: 0)
            w.run(until: min(from + fabric.pointee.inbound[i], cap))
            wake[i] = peers[i].queue.nextTime ?? .max
        }
    }

    /// One peer's event handling, as `PeerNode` interprets its directives: it reads the fabric and writes only its
    /// own peer (what it sends to another peer goes to the outbox).
    struct PeerWorker {
        let fabric: UnsafePointer<Fabric>
        let peer: UnsafeMutablePointer<SimPeer>
        let index: Int
        var now: Int64

        var instant: Instant { Instant(nanoseconds: now) }
        var f: Fabric { _read { yield fabric.pointee } }

        /// Handles this peer's events before `end`, in time order; work queued behind a busy peer waits until its
        /// training ends.
        mutating func run(until end: Int64) {
            let i = index
            while let t = peer.pointee.queue.nextTime, t < end {
                let (time, event) = peer.pointee.queue.pop()!
                now = time
                peer.pointee.counters.events += 1
                if f.state[i] == .online, time < peer.pointee.busyUntil {
                    peer.pointee.queue.push(event, at: peer.pointee.busyUntil)
                    continue
                }
                dispatch(event)
            }
        }

        mutating func dispatch(_ event: EventSimulation.PeerEvent) {
            let i = index
            switch event {
            case .timer(let g, let timer):
                guard f.state[i] == .online, f.generation[i] == g else { return }
                onTimer(timer)
            case .datagram(let from, let bytes):
                deliverDatagram(bytes, from: Int(from))
            case .push(let tg, let from, let fg, let message, let bytes):
                arrivePush(message, bytes: bytes, toGeneration: tg, from: Int(from), fromGeneration: fg)
            case .reply(let g, let from, let fg, let message, let bytes):
                arriveReply(message, bytes: bytes, generation: g, from: Int(from), fromGeneration: fg)
            case .connectFailed(let g, let seq):
                guard f.state[i] == .online, f.generation[i] == g else { return }
                perform(peer.pointee.core!.onExchangeFailed(seq: seq, now: instant), at: now, replyTo: nil)
            }
        }

        /// Queues `event` for peer `j` at `time`: in this peer's own queue, or in its outbox for another peer.
        mutating func send(_ event: EventSimulation.PeerEvent, to j: Int, at time: Int64) {
            if j == index {
                peer.pointee.queue.push(event, at: time)
            } else {
                peer.pointee.outbox.append(EventSimulation.Outgoing(to: Int32(j), time: time, event: event))
            }
        }

        // MARK: Directives

        /// A timer: the gossip round also occupies the peer for its training time (its effects take place then).
        mutating func onTimer(_ timer: PeerTimer) {
            let out = peer.pointee.core!.onTimer(timer, now: instant)
            var base = now
            if timer.isRound {
                let positives = f.shards[index].train.count
                let samples = positives == 0 ? 0 : f.settings.gossip.localEpochs * positives * (1 + f.config.negatives)
                let cost = Double(samples) * Double(f.settings.trainingCostPerSample.wholeNanoseconds) * f.slowdown[index]
                base = now + Int64(cost.rounded())
                peer.pointee.busyUntil = base
            }
            perform(out, at: base, replyTo: nil)
        }

        /// Carries the core's effects out at virtual time `base`; `.reply` goes back to `replyTo` (the pushing peer).
        mutating func perform(_ effects: [PeerEffect], at base: Int64, replyTo: (peer: Int, generation: UInt32)?) {
            for e in effects {
                switch e {
                case .send(let message, let to):
                    sendDatagram(message, to: to, at: base)
                case .exchange(let seq, let message, let partner, let address):
                    peer.pointee.partners[partner, default: 0] += 1
                    openStream(seq: seq, message: message, to: address, at: base)
                case .reply(let message):
                    guard let r = replyTo else { continue }
                    sendReply(message, to: r.peer, toGeneration: r.generation, at: base)
                case .schedule(let timer, let after):
                    send(.timer(generation: f.generation[index], timer), to: index, at: base + max(0, after.wholeNanoseconds))
                case .checkpoint(let state):
                    peer.pointee.checkpoint = state
                case .report(.memberUp):
                    peer.pointee.counters.memberUps += 1
                case .report(.memberDown(_, .evicted)):
                    peer.pointee.counters.evictions += 1
                case .report(.memberDown):
                    peer.pointee.counters.memberDowns += 1
                case .report(.exchangeCompleted(let partner)):
                    peer.pointee.completedWith[partner, default: 0] += 1
                case .report(.quarantined):
                    peer.pointee.counters.quarantines += 1
                case .report:
                    break   // the curve ranks every running peer itself (`samplePoint`)
                }
            }
        }

        // MARK: Network

        /// One-way latency of a message from `a` to `b` (nanoseconds), with jitter from this peer's network generator;
        /// never below `b`'s inbound bound (it cannot be with link factors >= 1; the floor keeps windows safe anyway).
        mutating func latency(_ a: Int, _ b: Int) -> Int64 {
            let base = Double(f.baseLatency[a] + f.baseLatency[b]) / 2 * (f.linkFactor[a] + f.linkFactor[b] - 1)
            let j = 1 + f.settings.jitter * peer.pointee.net.nextUnitDouble()
            return max(f.inbound[b], Int64((base * j).rounded()) + f.extraDelay[a] + f.extraDelay[b])
        }

        mutating func envelope(_ message: Message) -> Envelope {
            peer.pointee.frameSequence &+= 1
            return Envelope(swarmID: f.settings.swarmID, sender: PeerID(UInt64(index)), sequence: peer.pointee.frameSequence,
                            message: message)
        }

        mutating func sendDatagram(_ message: Message, to address: PeerAddress, at base: Int64) {
            let i = index
            let bytes: [UInt8]
            do { bytes = try WireCodec.encode(envelope(message), limits: f.limits, security: &peer.pointee.security) } catch {
                preconditionFailure("simulated peer \(i) built an unencodable datagram: \(error)")
            }
            peer.pointee.counters.datagramsSent += 1
            peer.pointee.counters.bytesSent += bytes.count
            guard let j = f.index(of: address) else { peer.pointee.counters.datagramsToOffline += 1; return }
            if f.loss > 0, peer.pointee.net.nextUnitDouble() < f.loss { peer.pointee.counters.datagramsLost += 1; return }
            if f.partitioned(i, j) { peer.pointee.counters.datagramsPartitioned += 1; return }
            send(.datagram(from: Int32(i), bytes: bytes), to: j, at: base + latency(i, j))
        }

        mutating func deliverDatagram(_ bytes: [UInt8], from i: Int) {
            let j = index
            guard f.state[j] == .online else { peer.pointee.counters.datagramsToOffline += 1; return }
            if f.partitioned(i, j) { peer.pointee.counters.datagramsPartitioned += 1; return }
            let env: Envelope
            do {
                env = try WireCodec.decode(bytes, limits: f.limits, expectedSwarmID: f.settings.swarmID,
                                           security: &peer.pointee.security)
            } catch {
                peer.pointee.counters.datagramsDecodeFailed += 1; return
            }
            let out = peer.pointee.core!.onDatagram(env.message, from: env.sender, address: EventSimulation.address(i), now: instant)
            perform(out, at: now, replyTo: nil)
        }

        /// Encodes (when round-tripping) and returns the frame size.
        mutating func streamFrame(_ message: Message) -> (size: Int, bytes: [UInt8]?) {
            guard f.settings.roundTripModels else { return (EventSimulation.frameSize(message), nil) }
            do {
                let b = try WireCodec.encode(envelope(message), limits: f.limits, security: &peer.pointee.security)
                return (b.count, b)
            } catch {
                preconditionFailure("simulated peer \(index) built an unencodable model message: \(error)")
            }
        }

        func decodeStream(_ message: Message, _ bytes: [UInt8]?) -> Message? {
            guard let bytes else { return message }
            return (try? WireCodec.decode(bytes, limits: f.limits, expectedSwarmID: f.settings.swarmID,
                                          security: &peer.pointee.security))?.message
        }

        /// Time (ns) for `size` bytes through this peer's uplink starting no earlier than `ready`; advances the uplink.
        mutating func transmit(_ size: Int, ready: Int64) -> Int64 {
            let start = max(ready, peer.pointee.uplinkFreeAt)
            let done = start + Int64((Double(size) / f.bandwidthBytesPerNs).rounded())
            peer.pointee.uplinkFreeAt = done
            peer.pointee.counters.bytesSent += size
            peer.pointee.counters.modelBytesSent += size
            return done
        }

        mutating func openStream(seq: UInt64, message: Message, to address: PeerAddress, at base: Int64) {
            let i = index, g = f.generation[i]
            guard let j = f.index(of: address), f.state[j] == .online, !f.partitioned(i, j) else {
                peer.pointee.counters.connectsFailed += 1
                send(.connectFailed(generation: g, seq: seq), to: i, at: base + f.settings.connectTimeout.wholeNanoseconds)
                return
            }
            peer.pointee.counters.streamsOpened += 1
            let handshake = latency(i, j) + latency(j, i)
            let frame = streamFrame(message)
            let sent = transmit(frame.size, ready: base + handshake)
            send(.push(toGeneration: f.generation[j], from: Int32(i), fromGeneration: g, message: message, bytes: frame.bytes),
                 to: j, at: sent + latency(i, j))
        }

        mutating func arrivePush(_ message: Message, bytes: [UInt8]?, toGeneration: UInt32, from i: Int, fromGeneration: UInt32) {
            let j = index
            guard f.state[j] == .online, f.generation[j] == toGeneration, !f.partitioned(i, j),
                  let m = decodeStream(message, bytes) else {
                peer.pointee.counters.streamsBroken += 1; return
            }
            tap(m, from: i)
            let out = peer.pointee.core!.onStreamMessage(m, from: PeerID(UInt64(i)), inbound: true, now: instant)
            perform(out, at: now, replyTo: (i, fromGeneration))
        }

        /// Hands a received model copy to `Settings.copyTap`, if any.
        func tap(_ m: Message, from sender: Int) {
            guard let tap = f.settings.copyTap, let core = peer.pointee.core else { return }
            switch m {
            case .modelPush(_, let model, _), .modelReply(_, let model):
                tap(index, sender, model, core.learner.items.trainedSteps)
            default: break
            }
        }

        mutating func sendReply(_ message: Message, to i: Int, toGeneration: UInt32, at base: Int64) {
            let j = index
            let frame = streamFrame(message)
            let sent = transmit(frame.size, ready: base)
            send(.reply(generation: toGeneration, from: Int32(j), fromGeneration: f.generation[j], message: message, bytes: frame.bytes),
                 to: i, at: sent + latency(j, i))
        }

        mutating func arriveReply(_ message: Message, bytes: [UInt8]?, generation: UInt32, from j: Int, fromGeneration: UInt32) {
            let i = index
            guard f.state[i] == .online, f.generation[i] == generation else { peer.pointee.counters.repliesToOffline += 1; return }
            guard !f.partitioned(i, j), let m = decodeStream(message, bytes) else { peer.pointee.counters.streamsBroken += 1; return }
            tap(m, from: j)
            perform(peer.pointee.core!.onStreamMessage(m, from: PeerID(UInt64(j)), inbound: false, now: instant), at: now, replyTo: nil)
        }
    }
}
