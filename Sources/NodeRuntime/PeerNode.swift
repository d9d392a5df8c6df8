import Dispatch
import Foundation
import Synchronization
import GossipProtocol
import RecommenderModel
import SocketTransport
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
    public var membership: MembershipSettings
    public var gossip: GossipSettings
    public var seed: UInt64
    /// Stream limits for model exchanges.
    public var streamLimits: TCPStream.Limits
    /// At most this many inbound model streams at once; more are closed at once (counted as "busy").
    public var maxInboundStreams: Int
    public var faults = FaultInjection()
    /// Static mode: gossip only with these neighbours (from a topology file). nil: dynamic mode, partners come
    /// from peer sampling.
    public var staticNeighbours: [(PeerID, PeerAddress)]? = nil

    public init(id: PeerID, listen: SocketAddress, seeds: [PeerAddress] = [], swarmID: UInt32 = 1,
                membership: MembershipSettings = .init(), gossip: GossipSettings = .init(), seed: UInt64 = 1) {
        self.id = id; self.listen = listen; self.seeds = seeds; self.swarmID = swarmID
        self.membership = membership; self.gossip = gossip; self.seed = seed
        streamLimits = TCPStream.Limits(maxQueuedBytes: 8 << 20, maxInboundBytes: 8 << 20, readChunkBytes: 256 << 10,
                                        idleTimeout: .seconds(5), overallTimeout: .seconds(20))
        maxInboundStreams = 16
    }
}

/// Test-only fault injection (documented in the README): lets tests and experiments turn a healthy peer into
/// a lossy or stalled one without kernel support (these machines' kernels lack tc netem).
public struct FaultInjection: Sendable {
    /// Probability of dropping each outgoing datagram.
    public var dropOutgoingDatagrams: Double = 0
    /// Accept model streams but never read or answer them: a peer that stalls mid-exchange.
    public var silentModelStreams = false
    public init() {}
}

/// Traffic and drop counters of one peer (reported in its JSON lines).
public struct PeerStats: Sendable {
    public var bytesSent = 0
    public var bytesReceived = 0
    public var datagramsSent = 0
    public var datagramsReceived = 0
    /// Messages dropped, by reason (decode reasons from WireFormat, plus "busy", "send_failed", ...).
    public var dropped: [String: Int] = [:]
    /// Exchanges started, by partner.
    public var partners: [PeerID: Int] = [:]
    public mutating func drop(_ reason: String) { dropped[reason, default: 0] += 1 }
}

/// One peer: the shell around a `MembershipInstance` and a `GossipLearningInstance`. All of its state is
/// confined to its event loop's serial queue; it interprets the instances' directives with real UDP and
/// TCP sockets and real timers. `@unchecked Sendable` because of that confinement.
public final class PeerNode: @unchecked Sendable {
    public let config: PeerConfig
    public let loop: EventLoop
    public let address: PeerAddress
    private let sockets: PeerSockets
    private var membership: MembershipInstance
    private var gossip: GossipLearningInstance
    private var stats = PeerStats()
    private var udpWatcher: ReadWatcher?
    private var tcpWatcher: ReadWatcher?
    private let timers: TimerQueue
    private var outbound: [UInt64: TCPStream] = [:]
    /// Open inbound model streams, closed at stop.
    private var inbound: [Int: TCPStream] = [:]
    private var nextInboundID = 0
    private var inboundCount: Int { inbound.count }
    /// Connects in progress, cancelled at stop.
    private var connecting: [UInt64: ConnectAttempt] = [:]
    private var sequence: UInt64 = 0
    private var stopped = false
    private var staticNeighbours: [(PeerID, PeerAddress)]?
    /// Set from any thread the moment a stop is requested, so that work already queued behind a busy peer
    /// returns at once instead of training or exchanging: a stop takes effect within a second even under load.
    private let stopFlag = Atomic<Bool>(false)
    private var stopping: Bool { stopFlag.load(ordering: .relaxed) }
    private let origin: UInt64
    private var faultRNG: SplitMix64
    private let limits = WireLimits.default
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
        membership = MembershipInstance(id: config.id, address: address, seed: config.seed, settings: config.membership)
        gossip = GossipLearningInstance(id: config.id, learner: learner, merge: merge, settings: config.gossip, seed: config.seed)
        origin = EventLoop.monotonicNanoseconds()
        faultRNG = SplitMix64(seed: config.seed ^ 0xFA17)
        staticNeighbours = config.staticNeighbours
    }

    /// Switches to static mode (gossip only with `neighbours`) or back to peer sampling (nil). Useful when the
    /// neighbours' addresses are known only after every peer has bound its port.
    public func useStaticNeighbours(_ neighbours: [(PeerID, PeerAddress)]?) {
        loop.execute { [self] in staticNeighbours = neighbours }
    }

    private var now: Instant { Instant(nanoseconds: Int64(EventLoop.monotonicNanoseconds() &- origin)) }

    /// Starts listening, joins through the seeds, and starts gossiping.
    public func start() {
        loop.execute { [self] in
            udpWatcher = loop.watchDatagrams(on: sockets.udp) { [self] bytes, sender in onDatagram(bytes, from: sender) }
            tcpWatcher = loop.watchAccepts(on: sockets.tcp) { [self] connection in onAccept(connection) }
            let t = now
            if config.seeds.isEmpty {
                perform(membership.onStart(now: t))
            } else {
                perform(membership.onJoin(seeds: config.seeds, now: t))
            }
            perform(gossip.onStart(now: t))
        }
    }

    /// Stops timers, closes every socket and stream, and writes a final JSON line; `done` runs afterwards.
    public func stop(graceful: Bool = true, done: @escaping @Sendable () -> Void) {
        stopFlag.store(true, ordering: .relaxed)
        loop.execute { [self] in
            guard !stopped else { done(); return }
            if graceful { perform(membership.onLeave(now: now)) }
            stopped = true
            timers.cancel()
            for c in connecting.values { c.cancel() }
            connecting.removeAll()
            for s in outbound.values { s.close() }
            outbound.removeAll()
            for s in inbound.values { s.close() }
            inbound.removeAll()
            emit(event: "stop")
            udpWatcher?.cancel()
            tcpWatcher?.cancel()
            loop.execute { done() }
        }
    }

    // MARK: Directives

    private func perform(_ directives: [MembershipDirective]) {
        for d in directives {
            switch d {
            case .send(let message, let to): sendDatagram(message, to: to)
            case .schedule(let timer, let after): schedule(after: after) { [self] in perform(membership.onTimer(timer, now: now)) }
            case .memberUp, .memberDown, .log: break
            }
        }
    }

    private func perform(_ directives: [GossipDirective], replyOn stream: TCPStream? = nil) {
        for d in directives {
            switch d {
            case .exchange(let seq, let message, let peer, let to):
                stats.partners[peer, default: 0] += 1
                startExchange(seq: seq, message: message, to: to)
            case .reply(let message):
                guard let stream else { continue }
                send(message, on: stream)
                stream.finishWriting()
            case .schedule(let timer, let after):
                schedule(after: after) { [self] in
                    let partner: (PeerID, PeerAddress)? = timer == .round ? choosePartner() : nil
                    perform(gossip.onTimer(timer, partner: partner, now: now))
                }
            case .evaluated(let rank, let round):
                lastRank = rank
                lastEvaluatedRound = round
                emit(event: "eval")
            }
        }
    }

    /// Dynamic mode: a random live peer of the Cyclon view. Static mode: a random neighbour of the topology,
    /// preferring those membership does not believe dead.
    private func choosePartner() -> (PeerID, PeerAddress)? {
        guard let neighbours = staticNeighbours else { return membership.randomLivePeer() }
        guard !neighbours.isEmpty else { return nil }
        let live = neighbours.filter { membership.status(of: $0.0)?.isLive ?? true }
        let pool = live.isEmpty ? neighbours : live
        return pool[faultRNG.next(below: pool.count)]
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
        return Envelope(swarmID: config.swarmID, sender: config.id, sequence: sequence, message: message, authTag: nil)
    }

    private func sendDatagram(_ message: Message, to: PeerAddress) {
        guard !stopped else { return }   // a graceful leave still goes out while stopping
        if config.faults.dropOutgoingDatagrams > 0 && faultRNG.nextUnitDouble() < config.faults.dropOutgoingDatagrams {
            stats.drop("fault_injected"); return
        }
        let bytes: [UInt8]
        do { bytes = try WireCodec.encode(envelope(message), limits: limits) } catch {
            stats.drop("encode_" + error.reason); return
        }
        do {
            if try sockets.udp.send(bytes, to: SocketAddress(ipBytes: to.ip, port: to.port)) {
                stats.bytesSent += bytes.count
                stats.datagramsSent += 1
            } else {
                stats.drop("udp_would_block")
            }
        } catch {
            stats.drop("udp_send_failed")
        }
    }

    private func onDatagram(_ bytes: [UInt8], from sender: SocketAddress) {
        guard !stopping else { return }
        stats.bytesReceived += bytes.count
        stats.datagramsReceived += 1
        let env: Envelope
        do { env = try WireCodec.decode(bytes, limits: limits, expectedSwarmID: config.swarmID) } catch {
            stats.drop(error.reason); return
        }
        if env.message.wireType.channel != .datagram { stats.drop("model_on_udp"); return }
        perform(membership.onMessage(env.message, from: env.sender, address: PeerAddress(ip: sender.ipBytes, port: sender.port), now: now))
    }

    // MARK: TCP model exchange

    private func send(_ message: Message, on stream: TCPStream) {
        do {
            let bytes = try WireCodec.encode(envelope(message), limits: limits)
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
                gossip.onExchangeFailed(seq: seq, now: now)
            case .success(let connection):
                let box = StreamBox(FrameAccumulator(limits: limits, expectedSwarmID: config.swarmID))
                let stream = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { [self] chunk in
                    box.accumulator.append(chunk)
                    stats.bytesReceived += chunk.count
                    do {
                        while let frame = try box.accumulator.nextFrame() {
                            let env = try WireCodec.decode(frame, limits: limits, expectedSwarmID: config.swarmID)
                            box.handled = true
                            perform(gossip.onModelMessage(env.message, from: env.sender, now: now))
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
                        gossip.onExchangeFailed(seq: seq, now: now)
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
        guard !stopping, inboundCount < config.maxInboundStreams else {
            stats.drop("busy")
            try? connection.close()
            return
        }
        let inboundID = nextInboundID
        nextInboundID += 1
        if config.faults.silentModelStreams {
            inbound[inboundID] = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { _ in },
                                           onEndOfStream: {}, onClose: { [self] _ in inbound.removeValue(forKey: inboundID) })
            return
        }
        let box = StreamBox(FrameAccumulator(limits: limits, expectedSwarmID: config.swarmID))
        let stream = TCPStream(connection: connection, loop: loop, limits: config.streamLimits, onBytes: { [self] chunk in
            stats.bytesReceived += chunk.count
            guard !box.handled else { return }
            box.accumulator.append(chunk)
            do {
                if let frame = try box.accumulator.nextFrame() {
                    box.handled = true
                    let env = try WireCodec.decode(frame, limits: limits, expectedSwarmID: config.swarmID)
                    guard case .modelPush = env.message else { stats.drop("unexpected_on_stream"); box.stream?.close(); return }
                    guard let s = box.stream else { return }
                    perform(gossip.onModelMessage(env.message, from: env.sender, now: now), replyOn: s)
                    if s.isOpen && s.queuedBytes == 0 { s.finishWriting() }
                }
            } catch let e as DecodeError {
                stats.drop(e.reason)
                box.stream?.close()
            } catch {
                box.stream?.close()
            }
        }, onClose: { [self] _ in
            inbound.removeValue(forKey: inboundID)
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
        PeerSnapshot(peer: config.id, rank: lastRank, round: gossip.learner.round, stats: stats, counters: gossip.counters,
                     livePeers: membership.livePeers.count, seconds: Double(now.nanoseconds) / 1e9)
    }

    private func emit(event: String) {
        sink(makeSnapshot().jsonLine(event: event))
    }
}

/// Per-stream state shared by a stream's handlers (which run on the peer's queue only): the frame
/// accumulator, whether a frame was handled, and the stream itself (set right after creation).
final class StreamBox: @unchecked Sendable {
    var stream: TCPStream?
    var accumulator: FrameAccumulator
    var handled = false
    init(_ accumulator: FrameAccumulator) { self.accumulator = accumulator }
}

/// A peer's state at one moment, for logs and progress.
public struct PeerSnapshot: Sendable {
    public var peer: PeerID
    public var rank: Int?
    public var round: UInt64
    public var stats: PeerStats
    public var counters: GossipCounters
    public var livePeers: Int
    public var seconds: Double

    public var hit10: Double? { rank.map { RankingMetrics.hit(rank: $0, k: 10) } }
    public var ndcg10: Double? { rank.map { RankingMetrics.ndcg(rank: $0, k: 10) } }

    /// One JSON object: time, peer, round, metrics, bytes, exchanges, drops by reason.
    public func jsonLine(event: String) -> String {
        var s = "{\"event\":\"\(event)\",\"t\":\(String(format: "%.3f", seconds)),\"peer\":\(peer.raw),\"round\":\(round)"
        if let r = rank { s += ",\"rank\":\(r),\"hr10\":\(Int(hit10!)),\"ndcg10\":\(String(format: "%.5f", ndcg10!))" }
        s += ",\"bytes_sent\":\(stats.bytesSent),\"bytes_received\":\(stats.bytesReceived)"
        s += ",\"exchanges_started\":\(counters.exchangesStarted),\"exchanges_completed\":\(counters.exchangesCompleted)"
        s += ",\"exchanges_failed\":\(counters.exchangesFailed),\"merges\":\(counters.mergesApplied)"
        s += ",\"live_peers\":\(livePeers)"
        s += ",\"dropped\":{" + stats.dropped.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}}"
        return s
    }
}
