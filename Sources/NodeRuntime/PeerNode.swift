import Dispatch
import Foundation
import Synchronization
import GossipProtocol
import PeerCore
import PeerStore
import RecommenderModel
import SocketTransport
import SwarmCrypto
import WireFormat

/// Everything a peer needs to start.
public struct PeerConfig: Sendable {
    public var id: PeerID
    /// Where to bind (port 0: any free port; the same port serves UDP membership and TCP model exchange).
    public var listen: SocketAddress
    /// Seeds to join through (empty for the first peer of a swarm).
    public var seeds: [PeerAddress]
    /// Peers of different swarms on the same ports reject each other's frames.
    public var swarmID: UInt32
    /// What the peer core runs with: membership, gossip, partner mode (random, static neighbours from a topology
    /// file, or the client graph). Its checkpoint period is taken from `checkpoint` (none without it).
    public var peer: PeerSettings
    /// This start's peer seed (`SeedScheme.peer`): every generator of the peer, and its fault injection's, derive
    /// from it.
    public var seed: UInt64
    /// The membership incarnation to start from (a restored checkpoint's; 0 for a fresh peer).
    public var incarnation: UInt64 = 0
    /// Stream limits for model exchanges.
    public var streamLimits: TCPStream.Limits
    /// At most this many inbound model streams at once, shared fairly among sources (`SourceLimits.inboundSlot`):
    /// a new stream takes the slot of a source holding two more ("displaced") or is closed at once ("busy").
    public var maxInboundStreams: Int
    /// Per-source token buckets for datagrams, new TCP connections and inbound bytes, checked before decoding
    /// (`SourceLimits`; drops counted as "rate_datagrams", "rate_connections", "rate_bytes").
    public var sourceLimits: SourceLimits.Settings = .default
    public var faults = FaultInjection()
    /// Crash-safe local state: the peer saves its model, clock and known peers here every `period` and at a
    /// graceful stop (`CheckpointStore`: temp file, fsync, rename, CRC). nil: no checkpoints.
    public var checkpoint: CheckpointSettings? = nil
    /// Added to the time in this peer's JSON lines (seconds): a peer restarted into a running swarm reports
    /// times on the swarm's clock.
    public var logTimeOffset: Double = 0
    /// The swarm keyring: every frame is sealed with its primary key and frames under any of its keys open.
    /// nil runs unkeyed (`--insecure`): frames go out unsealed and sealed ones are refused. The nonce epoch is
    /// persisted in `checkpoint`'s directory when there is one (`NonceEpochFile`).
    public var keyring: Keyring? = nil

    public init(id: PeerID, listen: SocketAddress, seeds: [PeerAddress] = [], swarmID: UInt32 = 1,
                peer: PeerSettings = .init(), seed: UInt64 = 1) {
        self.id = id; self.listen = listen; self.seeds = seeds; self.swarmID = swarmID
        self.peer = peer; self.seed = seed
        streamLimits = TCPStream.Limits(maxQueuedBytes: 8 << 20, maxInboundBytes: 8 << 20, readChunkBytes: 256 << 10,
                                        idleTimeout: .seconds(5), overallTimeout: .seconds(20))
        maxInboundStreams = 16
    }
}

/// Where and how often a peer checkpoints (see `PeerConfig.checkpoint`, `PeerCheckpointing`).
public struct CheckpointSettings: Sendable {
    /// This peer's own directory (checkpoint.bin, checkpoint.prev).
    public var directory: String
    /// Checked on load: a checkpoint of another swarm or peer is rejected, never loaded.
    public var identity: String
    public var period: Duration = .seconds(30)
    public init(directory: String, identity: String, period: Duration = .seconds(30)) {
        self.directory = directory; self.identity = identity; self.period = period
    }
}

/// One peer's driver over real sockets: it runs a `PeerInstance` (every decision) and carries its effects out
/// with real UDP and TCP sockets and real timers, plus test-only fault injection on what it sends. All of its
/// state is confined to its event loop's serial queue. `@unchecked Sendable` because of that confinement.
public final class PeerNode: @unchecked Sendable {
    public let config: PeerConfig
    public let loop: EventLoop
    public let address: PeerAddress
    private let sockets: PeerSockets
    /// The UDP socket's and the TCP listener's descriptors (tests check they are closed after `stop`).
    var socketDescriptors: [FileDescriptor] { sockets.descriptors }
    private var core: PeerInstance
    private var stats = PeerStats()
    private var udpWatcher: ReadWatcher?
    private var tcpWatcher: ReadWatcher?
    private let timers: TimerQueue
    private var outbound: [UInt64: TCPStream] = [:]
    /// Open inbound model streams, closed at stop.
    private var inbound: [Int: TCPStream] = [:]
    /// The source of each open inbound stream (keys as `inbound`'s; ids grow, so sorted ids are oldest first).
    private var inboundSources: [Int: SourceAddress] = [:]
    /// Per-source admission: token buckets checked before any byte is decoded.
    private var admission: SourceLimits
    private var nextInboundID = 0
    /// Connects in progress, cancelled at stop.
    private var connecting: [UInt64: ConnectAttempt] = [:]
    private var sequence: UInt64 = 0
    /// Sealing keys, this process's nonce epoch, and the per-sender replay filters (`FrameSecurity`).
    private var security: FrameSecurity
    private var stopped = false
    /// `config.faults`, changeable while running (`updateFaults`: a scenario's loss or straggler link delay).
    private var faults: FaultInjection
    /// Set from any thread the moment a stop is requested, so that work already queued behind a busy peer
    /// returns at once instead of training or exchanging: a stop takes effect within a second even under load.
    private let stopFlag = Atomic<Bool>(false)
    private var stopping: Bool { stopFlag.load(ordering: .relaxed) }
    private let origin: UInt64
    /// Fault injection's own generator (`SeedScheme.Purposes.faults`): injecting faults never changes a decision.
    private var faultRNG: SplitMix64
    private let limits = WireLimits.default
    private let mergeName: String
    private let checkpointStore: CheckpointStore?
    /// Receives one JSON object (as text, no newline) per evaluation and at shutdown.
    private let sink: @Sendable (String) -> Void
    /// The latest evaluation: (rank, round), read by the host for progress lines.
    public private(set) var lastRank: Int?
    public private(set) var lastEvaluatedRound: UInt64 = 0

    /// Binds the peer's sockets now (so its port is known at once); `start()` begins the protocol.
    public init(config: PeerConfig, learner: PeerLearner, merge: any MergeRule, target: DispatchQueue? = nil,
                sink: @escaping @Sendable (String) -> Void) throws {
        self.config = config
        self.sink = sink
        sockets = try PeerSockets.bind(config.listen)
        let bound = sockets.tcp.localAddress
        address = PeerAddress(ip: bound.ipBytes, port: bound.port)
        loop = EventLoop(label: "peer-\(config.id.raw)", target: target)
        timers = TimerQueue(queue: loop.queue)
        var settings = config.peer
        settings.checkpointPeriod = config.checkpoint?.period
        core = PeerInstance(id: config.id, address: address, learner: learner, merge: merge, settings: settings,
                            seed: config.seed, incarnation: config.incarnation)
        origin = EventLoop.monotonicNanoseconds()
        faultRNG = SplitMix64(seed: SeedScheme.Purposes(peerSeed: config.seed).faults)
        mergeName = merge.name
        checkpointStore = config.checkpoint.map { CheckpointStore(directory: $0.directory, identity: $0.identity) }
        faults = config.faults
        admission = SourceLimits(settings: config.sourceLimits)
        if let keyring = config.keyring {
            let epoch = try NonceEpochFile.next(directory: config.checkpoint?.directory)
            security = FrameSecurity(keyring: keyring, swarmID: config.swarmID, epoch: epoch)
        } else {
            security = .insecure(swarmID: config.swarmID)
        }
    }

    /// Whether this peer seals its frames (false: `--insecure`).
    public var isKeyed: Bool { config.keyring != nil }

    /// Switches to `keyring` on the peer's queue (a key rotation step, e.g. after SIGHUP re-read the key file): new
    /// keys open at once, the new primary seals from the next frame, removed keys open nothing. Ignored by an
    /// insecure peer (it has no keys to rotate). `done` runs on the queue afterwards.
    public func updateKeyring(_ keyring: Keyring, done: @escaping @Sendable () -> Void = {}) {
        loop.execute { [self] in
            if security.isKeyed { security.replaceKeyring(keyring) }
            done()
        }
    }

    /// Switches to static mode (gossip only with `neighbours`) or back to the configured mode (nil). Useful when
    /// the neighbours' addresses are known only after every peer has bound its port.
    public func useStaticNeighbours(_ neighbours: [Neighbour]?) {
        loop.execute { [self] in core.onNeighbours(neighbours) }
    }

    /// Changes this peer's fault injection from now on (on its queue).
    public func updateFaults(_ change: @escaping @Sendable (inout FaultInjection) -> Void) {
        loop.execute { [self] in change(&faults) }
    }

    /// Makes this peer a straggler (`factor` > 1: its rounds come `factor` times less often) or a normal peer (1).
    public func setSlowdown(_ factor: Double) {
        loop.execute { [self] in core.onSlowdown(factor) }
    }

    private var now: Instant { Instant(nanoseconds: Int64(EventLoop.monotonicNanoseconds() &- origin)) }

    /// Starts listening, joins through the seeds, and starts gossiping.
    public func start() {
        loop.execute { [self] in
            udpWatcher = loop.watchDatagrams(on: sockets.udp) { [self] bytes, sender in onDatagram(bytes, from: sender) }
            tcpWatcher = loop.watchAccepts(on: sockets.tcp) { [self] connection in onAccept(connection) }
            perform(core.onStart(seeds: config.seeds, now: now))
        }
    }

    /// Stops timers, closes every socket and stream, and writes a final JSON line; `done` runs afterwards.
    /// A graceful stop announces the leave and saves a last checkpoint; `graceful: false` is a crash as far
    /// as the swarm and the disk can tell (no leave message, no final checkpoint: the last periodic one is
    /// what a restart finds).
    public func stop(graceful: Bool = true, done: @escaping @Sendable () -> Void) {
        stopFlag.store(true, ordering: .relaxed)
        loop.execute { [self] in
            guard !stopped else { done(); return }
            perform(core.onStop(graceful: graceful, now: now))
            stopped = true
            timers.cancel()
            for c in connecting.values { c.cancel() }
            connecting.removeAll()
            for s in outbound.values { s.close() }
            outbound.removeAll()
            for s in inbound.values { s.close() }
            inbound.removeAll()
            inboundSources.removeAll()
            emit(event: "stop")
            udpWatcher?.cancel()
            tcpWatcher?.cancel()
            loop.execute { done() }
        }
    }

    // MARK: Effects

    /// Carries out the core's effects; `.reply` goes to `replyOn` (the inbound stream whose push is handled).
    private func perform(_ effects: [PeerEffect], replyOn stream: TCPStream? = nil) {
        for e in effects {
            switch e {
            case .send(let message, let to):
                sendDatagram(message, to: to)
            case .exchange(let seq, let message, let peer, let to):
                stats.partners[peer, default: 0] += 1
                startExchange(seq: seq, message: message, to: to)
            case .reply(let message):
                guard let stream else { continue }
                send(message, on: stream)
                stream.finishWriting()
            case .schedule(let timer, let after):
                schedule(after: after) { [self] in perform(core.onTimer(timer, now: now)) }
            case .checkpoint(let state):
                saveCheckpoint(state)
            case .report(let report):
                switch report {
                case .evaluated(let rank, let round):
                    lastRank = rank
                    lastEvaluatedRound = round
                    emit(event: "eval")
                case .exchangeCompleted(let peer): stats.completedWith[peer, default: 0] += 1
                case .dropped(let reason): stats.drop(reason)
                case .quarantined: stats.drop("partner_quarantined")
                case .memberUp, .memberDown, .note: break
                }
            }
        }
    }

    // MARK: Checkpoints

    /// Saves model, clock and known peers (on the peer's queue; a few hundred KB and an fsync).
    private func saveCheckpoint(_ state: SavedPeerState) {
        guard let store = checkpointStore, let settings = config.checkpoint else { return }
        let known = state.known.map { KnownPeer(id: $0.peer.raw, host: $0.address.host, port: $0.address.port,
                                                incarnation: $0.status.incarnation) }
        let checkpoint = PeerCheckpoint(learner: state.learner, identity: settings.identity,
                                        savedAt: Date().timeIntervalSince1970, incarnation: state.incarnation,
                                        knownPeers: known, mergeRule: mergeName)
        do {
            try store.save(checkpoint)
            stats.checkpointsSaved += 1
        } catch {
            stats.drop("checkpoint_save_failed")
            sink("{\"event\":\"checkpoint_failed\",\"peer\":\(config.id.raw),\"error\":\(PeerCheckpointing.jsonString("\(error)"))}")
        }
    }

    private func schedule(after: Duration, _ body: @escaping @Sendable () -> Void) {
        guard !stopping else { return }
        timers.schedule(after: after) { [self] in
            guard !stopping else { return }
            body()
        }
    }

    // MARK: UDP membership

    private func envelope(_ message: Message) -> Envelope {
        sequence &+= 1
        return Envelope(swarmID: config.swarmID, sender: config.id, sequence: sequence, message: message)
    }

    private func sendDatagram(_ message: Message, to: PeerAddress) {
        guard !stopped else { return }   // a graceful leave still goes out while stopping
        let faults = self.faults
        if !faults.unreachable.isEmpty, faults.unreachable.contains(to) { stats.drop("partitioned"); return }
        let faulty = faults.applies(to: to.ip)
        if faulty && faults.dropOutgoingDatagrams > 0 && faultRNG.nextUnitDouble() < faults.dropOutgoingDatagrams {
            stats.drop("fault_injected"); return
        }
        let bytes: [UInt8]
        do { bytes = try WireCodec.encode(envelope(message), limits: limits, security: &security) } catch {
            stats.drop("encode_" + error.reason); return
        }
        let destination = SocketAddress(ipBytes: to.ip, port: to.port)
        let copies = faulty && faults.duplicateOutgoingDatagrams > 0 && faultRNG.nextUnitDouble() < faults.duplicateOutgoingDatagrams ? 2 : 1
        if copies == 2 { stats.fault("duplicated_datagrams") }
        if let delay = faultDelay(to: to.ip) {
            stats.fault("delayed_datagrams")
            schedule(after: delay) { [self] in for _ in 0..<copies { transmit(bytes, to: destination) } }
        } else {
            for _ in 0..<copies { transmit(bytes, to: destination) }
        }
    }

    private func transmit(_ bytes: [UInt8], to destination: SocketAddress) {
        do {
            if try sockets.udp.send(bytes, to: destination) {
                stats.bytesSent += bytes.count
                stats.datagramsSent += 1
            } else {
                stats.drop("udp_would_block")
            }
        } catch {
            stats.drop("udp_send_failed")
        }
    }

    /// The injected delay for traffic to `ip` (fixed plus seeded uniform jitter), or nil when none applies.
    private func faultDelay(to ip: [UInt8]) -> Duration? {
        let faults = self.faults
        guard faults.delays, faults.applies(to: ip) else { return nil }
        return EventLoop.jitteredDelay(faults.outgoingDelay, jitter: faults.outgoingDelayJitter, using: &faultRNG)
    }

    private func onDatagram(_ bytes: [UInt8], from sender: SocketAddress) {
        guard !stopping else { return }
        stats.bytesReceived += bytes.count
        stats.datagramsReceived += 1
        if let source = SourceAddress(ip: sender.ipBytes),
           case .drop(let why) = admission.onDatagram(from: source, bytes: bytes.count, now: now) {
            stats.drop(why.reason); return
        }
        let env: Envelope
        do { env = try WireCodec.decode(bytes, limits: limits, expectedSwarmID: config.swarmID, security: &security) } catch {
            stats.drop(error.reason); return
        }
        let from = PeerAddress(ip: sender.ipBytes, port: sender.port)
        perform(core.onDatagram(env.message, from: env.sender, address: from, now: now))
    }

    // MARK: TCP model exchange

    private func send(_ message: Message, on stream: TCPStream) {
        do {
            let bytes = try WireCodec.encode(envelope(message), limits: limits, security: &security)
            try stream.enqueue(bytes)
            stats.bytesSent += bytes.count
        } catch let e as EncodeError {
            stats.drop("encode_" + e.reason)
        } catch {
            stats.drop("stream_enqueue_failed")
        }
    }

    private func startExchange(seq: UInt64, message: Message, to: PeerAddress) {
        guard !stopping else { return }
        if !faults.unreachable.isEmpty, faults.unreachable.contains(to) {
            stats.drop("partitioned")
            loop.execute { [self] in perform(core.onExchangeFailed(seq: seq, now: now)) }
            return
        }
        if let delay = faultDelay(to: to.ip) {
            stats.fault("delayed_exchanges")
            schedule(after: delay) { [self] in connectAndPush(seq: seq, message: message, to: to) }
        } else {
            connectAndPush(seq: seq, message: message, to: to)
        }
    }

    private func connectAndPush(seq: UInt64, message: Message, to: PeerAddress) {
        let address = SocketAddress(ipBytes: to.ip, port: to.port)
        connecting[seq] = loop.connect(to: address, timeout: .seconds(2)) { [self] result in
            connecting.removeValue(forKey: seq)
            guard !stopping else {
                if case .success(let c) = result { try? c.close() }
                return
            }
            switch result {
            case .failure:
                stats.drop("connect_failed")
                perform(core.onExchangeFailed(seq: seq, now: now))
            case .success(let connection):
                let box = StreamBox(FrameAccumulator(limits: limits, expectedSwarmID: config.swarmID))
                let stream = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { [self] chunk in
                    box.accumulator.append(chunk)
                    stats.bytesReceived += chunk.count
                    do {
                        while let frame = try box.accumulator.nextFrame() {
                            let env = try WireCodec.decode(consume frame, limits: limits, expectedSwarmID: config.swarmID, security: &security)
                            box.handled = true
                            perform(core.onStreamMessage(env.message, from: env.sender, inbound: false, now: now))
                            box.stream?.close()
                        }
                    } catch let e as DecodeError {
                        stats.drop(e.reason)
                        box.stream?.close()
                    } catch {
                        box.stream?.close()
                    }
                }, onClose: { [self] reason in
                    outbound.removeValue(forKey: seq)
                    if !box.handled {
                        stats.drop("exchange_" + Self.reasonKey(reason))
                        perform(core.onExchangeFailed(seq: seq, now: now))
                    }
                })
                box.stream = stream
                outbound[seq] = stream
                send(message, on: stream)
                stream.finishWriting()
            }
        }
    }

    private func onAccept(_ connection: TCPConnection) {
        guard !stopping, let source = SourceAddress(ip: connection.remoteAddress.ipBytes) else {
            try? connection.close()
            return
        }
        if case .drop(let why) = admission.onConnection(from: source, now: now) {
            stats.drop(why.reason)
            try? connection.close()
            return
        }
        let open = inboundSources.sorted { $0.key < $1.key }
        switch SourceLimits.inboundSlot(for: source, open: open.map(\.value), capacity: config.maxInboundStreams) {
        case .accept: break
        case .refuse:
            stats.drop("busy")
            try? connection.close()
            return
        case .replace(let at):
            let victim = open[at].key
            stats.drop("displaced")
            inboundSources.removeValue(forKey: victim)
            inbound.removeValue(forKey: victim)?.close()
        }
        let inboundID = nextInboundID
        nextInboundID += 1
        inboundSources[inboundID] = source
        if faults.silentModelStreams {
            inbound[inboundID] = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { _ in },
                                           onEndOfStream: {}, onClose: { [self] _ in
                                               inbound.removeValue(forKey: inboundID)
                                               inboundSources.removeValue(forKey: inboundID)
                                           })
            return
        }
        // A reply to this source may be held back (fault injection): then the source's FIN must not half-close
        // our side before the reply is written, so the reply path finishes writing instead.
        let remoteIP = connection.remoteAddress.ipBytes
        let delaysReply = faults.delays && faults.applies(to: remoteIP)
        let box = StreamBox(FrameAccumulator(limits: limits, expectedSwarmID: config.swarmID))
        var endOfStream: (@Sendable () -> Void)? = nil
        if delaysReply { endOfStream = { if !box.handled { box.stream?.finishWriting() } } }
        let stream = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { [self] chunk in
            stats.bytesReceived += chunk.count
            if case .drop(let why) = admission.onStreamBytes(from: source, bytes: chunk.count, now: now) {
                stats.drop(why.reason)
                box.stream?.close()
                return
            }
            guard !box.handled else { return }
            box.accumulator.append(chunk)
            do {
                if let frame = try box.accumulator.nextFrame() {
                    box.handled = true
                    let env = try WireCodec.decode(consume frame, limits: limits, expectedSwarmID: config.swarmID, security: &security)
                    guard let s = box.stream else { return }
                    let effects = core.onStreamMessage(env.message, from: env.sender, inbound: true, now: now)
                    if delaysReply, effects.contains(where: \.isReply), let delay = faultDelay(to: remoteIP) {
                        stats.fault("delayed_replies")
                        let replies = effects.filter(\.isReply)
                        perform(effects.filter { !$0.isReply }, replyOn: s)
                        schedule(after: delay) { [self] in
                            guard s.isOpen else { return }
                            perform(replies, replyOn: s)
                            if s.isOpen && s.queuedBytes == 0 { s.finishWriting() }
                        }
                    } else {
                        perform(effects, replyOn: s)
                        if s.isOpen && s.queuedBytes == 0 { s.finishWriting() }
                    }
                }
            } catch let e as DecodeError {
                stats.drop(e.reason)
                box.stream?.close()
            } catch {
                box.stream?.close()
            }
        }, onEndOfStream: endOfStream, onClose: { [self] _ in
            inbound.removeValue(forKey: inboundID)
            inboundSources.removeValue(forKey: inboundID)
        })
        box.stream = stream
        inbound[inboundID] = stream
    }

    static func reasonKey(_ r: TCPStream.CloseReason) -> String {
        switch r {
        case .finished: return "closed_without_reply"
        case .closedLocally: return "closed_locally"
        case .idleTimeout: return "idle_timeout"
        case .deadlineExceeded: return "deadline"
        case .inboundLimitExceeded: return "inbound_limit"
        case .failed: return "stream_failed"
        }
    }

    // MARK: Reporting

    /// Called on the loop: a snapshot of counters for progress aggregation.
    public func snapshot(_ body: @escaping @Sendable (PeerSnapshot) -> Void) {
        loop.execute { [self] in body(makeSnapshot()) }
    }

    private func makeSnapshot() -> PeerSnapshot {
        PeerSnapshot(peer: config.id, rank: lastRank, round: core.learner.round, stats: stats, counters: core.gossip.counters,
                     livePeers: core.membership.livePeers.count, seconds: Double(now.nanoseconds) / 1e9 + config.logTimeOffset,
                     clientGraph: core.clientGraph.map { ($0.exportEdges(), $0.counters) },
                     tracked: TrackedState(sources: admission.trackedSources, sourceEvictions: admission.evictions,
                                           inboundStreams: inbound.count, replaySenders: security.trackedSenderCount,
                                           members: core.membership.knownMembers.count),
                     malicious: config.peer.attack != nil)
    }

    private func emit(event: String) {
        sink(makeSnapshot().jsonLine(event: event))
    }
}

extension PeerEffect {
    /// Whether this is a `.reply` (the answer written on an inbound model stream).
    var isReply: Bool { if case .reply = self { return true } else { return false } }
}

/// Per-stream state shared by a stream's handlers (which run on the peer's queue only): the frame
/// accumulator, whether a frame was handled, and the stream itself (set right after creation).
final class StreamBox: @unchecked Sendable {
    var stream: TCPStream?
    var accumulator: FrameAccumulator
    var handled = false
    init(_ accumulator: FrameAccumulator) { self.accumulator = accumulator }
}
