import Foundation
import GossipProtocol
import RecommenderModel
import WireFormat

/// The deterministic twin of `NodeRuntime`: every peer runs the same `MembershipInstance` and
/// `GossipLearningInstance` values the real node runs, and its directives are interpreted the way `PeerNode`
/// interprets them, but on a virtual clock and a simulated network. Nothing reads a clock or global randomness,
/// and no dictionary is iterated, so a run is bit-for-bit reproducible from `Settings.seed`.
///
/// **Event loop.** One `EventQueue` keyed by (virtual time, insertion order). Timers, datagram deliveries,
/// model-stream arrivals, connect failures, scenario events, checkpoints and curve samples are events.
///
/// **Peers** (as `PeerNode` builds them): peer i has `PeerID(i)`, a virtual address 10.x.y.z:7000, a
/// `PeerLearner` over shard i with the swarm's shared table seed (`seed ^ 0x7AB1E`) and user seed
/// `seed * 1_000_003 + i` (as `gossiprec node`), and joins through the first `seedCount` peers. Start times
/// are spread uniformly over `startSpread`.
///
/// **Directives** are handled as in `PeerNode`: membership `.send` is one datagram, `.schedule` one timer
/// event (never cancelled; a crash or restart bumps the peer's generation, which discards its old timers and
/// in-flight traffic); for a gossip `.round` the partner is `membership.randomLivePeer()` drawn before the
/// round; `.exchange` opens a model stream; `.reply` answers it; `.evaluated` records the rank.
///
/// **Compute.** A round's local training occupies the peer for `samples * trainingCostPerSample * compute`
/// of virtual time (samples = local epochs x positives x (1 + negatives); `compute` is the straggler factor),
/// and a straggler's rounds also come `compute` times less often (`GossipLearningInstance.periodScale`), as
/// in the real node: a device k times slower gets through k times fewer rounds.
/// The round's directives take effect when training ends, and any event for a busy peer waits until then,
/// as work queued behind a busy serial queue does. Merging and evaluation are charged nothing.
///
/// **Network.** Each peer has a base one-way latency drawn uniformly from `latency`; a link's latency is the
/// mean of its ends', times (f_a + f_b - 1) for straggler link factors f (each slow end adds its slowness: x f
/// to a normal peer, x (2f - 1) between two stragglers, as the real node's per-sender delay gives), times a
/// uniform jitter in `[1, 1 + jitter]` per message, plus both ends' straggler extra delays.
/// - Membership messages are datagrams, encoded and decoded through `WireCodec` (so sizes and limits are the
///   real ones); each is lost with the scenario's loss probability, dropped across a partition, and dropped if
///   the destination is not running when it arrives.
/// - A model exchange is a TCP-like reliable stream: connecting to a peer that is down or across a partition
///   fails after `connectTimeout` (no SYN-ACK), and the shell reports `onExchangeFailed`; otherwise the push
///   arrives after a handshake (one round trip), serialisation on the sender's uplink (bytes / bandwidth, FIFO
///   per sender), and one-way latency. The reply travels back the same way. A stream whose far end crashes,
///   restarts or is partitioned away mid-transfer is silently broken; the sender's `exchangeDeadline` ends it.
///   Stream sizes are the exact `WireCodec` frame sizes; with `roundTripModels` they are actually encoded and
///   decoded (slower).
///
/// **Scenario** events (`Scenario.timeline`): `kill` drops the peer's process (its in-memory state is lost;
/// only its last checkpoint survives); `leave` is graceful (`onLeave`, then a checkpoint); `restart` starts a
/// new process from the last checkpoint (or fresh state without one), rejoining through the peers in its
/// checkpointed view plus the seeds; `join` is a first start; `partition`/`heal` cut and restore links between
/// groups; `loss` sets the datagram loss; `straggle` sets compute and link factors. Every running peer is
/// checkpointed each `checkpointInterval` (model, incarnation, Cyclon view). A peer the timeline stops
/// before its first start (churn that begins offline) never starts until the timeline restarts it.
///
/// **Cost** (release build, measured on the 2-core development machine, one core): ML-100K, 943 peers, 2 s
/// period, 600 s virtual (283k rounds, 5.3M events) takes about 190 s of CPU, some 0.7 ms per round. Perf
/// shows the protocol's own learning code dominating: `ItemTable.accepts` (closure-based `allSatisfy` over
/// 55k floats, twice per exchange) ~21 %, building payloads ~10 %, push-sum merges and local training ~20 %,
/// SWIM/Cyclon ~15 %; the simulator's queue, network and WireFormat round trip of datagrams are a few percent.
/// A vectorised `accepts` (as `WireFormat.ModelChecks`) would be the first thing to speed up, for the node as
/// much as for the simulator. Memory grows as N^2 for large swarms: every SWIM member table holds every peer
/// (10,000 peers: ~4 GB after 30 virtual seconds).
public struct EventSimulation {
    public struct Settings: Sendable {
        public var duration: Duration = .seconds(600)
        public var seed: UInt64 = 1
        public var gossip = GossipSettings()
        public var membership = MembershipSettings()
        /// How often the curve is sampled (every running peer's held-out rank is computed directly).
        public var sampleInterval: Duration = .seconds(10)
        /// Virtual CPU time per training sample (a positive or a sampled negative) at compute factor 1.
        public var trainingCostPerSample: Duration = .nanoseconds(300)
        public var latency: ClosedRange<Duration> = .milliseconds(5) ... .milliseconds(40)
        /// Per-message latency jitter: a uniform extra fraction in [0, jitter].
        public var jitter = 0.1
        /// Per-peer link bandwidth (bits per second), up and down.
        public var bandwidthBitsPerSecond: Double = 100e6
        /// A connect to a peer that is down or unreachable fails after this long (as `PeerNode`'s connect).
        public var connectTimeout: Duration = .seconds(2)
        public var checkpointInterval: Duration = .seconds(30)
        /// Peers 0..<seedCount are everyone's join seeds.
        public var seedCount = 3
        public var startSpread: Duration = .seconds(1)
        /// `Summary.timeToTarget` is the first sample time with mean HR@10 at or above this (among samples whose
        /// online peers trained at least one round on average).
        public var targetHR: Double = 0.55
        /// Encode and decode every model message through WireCodec (sizes are exact either way).
        public var roundTripModels = false
        public var swarmID: UInt32 = 1
        public init() {}
    }

    /// One point of the learning curve.
    public struct Point: Sendable, Hashable {
        public var seconds: Double
        /// Mean HR@10 and NDCG@10 over the running peers that have a held-out item.
        public var hr10: Double
        public var ndcg10: Double
        public var evaluated: Int
        /// Bytes sent (datagrams and model streams) by all peers so far, divided by the peer count, in MB.
        public var mbPerPeer: Double
        public var online: Int
        public var meanRound: Double
        public var exchangesCompleted: Int
        public var exchangesFailed: Int
    }

    /// Traffic and protocol counters over the whole run.
    public struct Counters: Sendable, Hashable {
        public var datagramsSent = 0
        public var datagramsLost = 0
        public var datagramsToOffline = 0
        public var datagramsPartitioned = 0
        public var datagramsDecodeFailed = 0
        public var streamsOpened = 0
        public var connectsFailed = 0
        public var streamsBroken = 0
        public var repliesToOffline = 0
        public var bytesSent = 0
        public var modelBytesSent = 0
        /// Members declared down (failed, reported dead, or left), evictions not included.
        public var memberDowns = 0
        /// Members forgotten to stay within `MembershipSettings.maxMembers`.
        public var evictions = 0
        public var memberUps = 0
        public var events = 0
        public var gossip = GossipCounters()
    }

    public struct Summary: Sendable, Hashable {
        public var curve: [Point]
        public var final: Point?
        /// Virtual seconds to the first sample with HR@10 >= `Settings.targetHR`, or nil.
        public var timeToTarget: Double?
        public var counters: Counters
        public var timeline: [ScenarioEvent]
    }

    enum PeerState { case absent, online, crashed, left }

    struct Checkpoint {
        var learner: PeerLearner
        var incarnation: UInt64
        var known: [PeerAddress]
    }

    struct SimPeer {
        var state: PeerState = .absent
        var generation: UInt32 = 0
        var membership: MembershipInstance?
        var gossip: GossipLearningInstance?
        var busyUntil: Int64 = 0
        var uplinkFreeAt: Int64 = 0
        var baseLatency: Int64 = 0
        var compute = 1.0
        var linkFactor = 1.0
        var extraDelay: Int64 = 0
        var checkpoint: Checkpoint?
        var lastRank: Int?
        var frameSequence: UInt64 = 0
        var bytesSent = 0
        /// Its first start is queued (within `startSpread`); a scenario kill or leave before then cancels it.
        var pendingStart = false
    }

    enum Event {
        case membershipTimer(peer: Int32, generation: UInt32, MembershipTimer)
        case gossipTimer(peer: Int32, generation: UInt32, GossipTimer)
        case datagram(to: Int32, from: Int32, bytes: [UInt8])
        /// A model push reaches `to` (which had `toGeneration` when the stream opened).
        case push(to: Int32, toGeneration: UInt32, from: Int32, fromGeneration: UInt32, message: Message, bytes: [UInt8]?)
        /// A model reply reaches `to`.
        case reply(to: Int32, generation: UInt32, from: Int32, fromGeneration: UInt32, message: Message, bytes: [UInt8]?)
        case connectFailed(peer: Int32, generation: UInt32, seq: UInt64)
        case scenario(Int)
        case checkpoint
        case sample
        case start(peer: Int32)

        var peer: Int32? {
            switch self {
            case .membershipTimer(let p, _, _), .gossipTimer(let p, _, _), .datagram(let p, _, _),
                 .push(let p, _, _, _, _, _), .reply(let p, _, _, _, _, _), .connectFailed(let p, _, _): return p
            default: return nil
            }
        }
    }

    public let settings: Settings
    public let scenario: Scenario
    public let timeline: [ScenarioEvent]
    let shards: [UserShard]
    let config: TrainingConfig
    let merge: any MergeRule
    /// The table every fresh peer starts from, drawn once (`PeerLearner.initialItems`); peers share it until they write.
    let initialItems: ItemTable
    var peers: [SimPeer]
    var queue = EventQueue<Event>()
    public private(set) var now: Int64 = 0
    var net: SplitMix64
    var loss: Double = 0
    var group: [Int32]? = nil
    public private(set) var counters = Counters()
    var retired = GossipCounters()
    public private(set) var curve: [Point] = []
    let seeds: [PeerAddress]
    let limits = WireLimits.default
    let bandwidthBytesPerNs: Double

    /// Builds the swarm (peer i learns from `shards[i]`) and queues the start of every peer not absent.
    public init(shards: [UserShard], config: TrainingConfig, merge: any MergeRule, scenario: Scenario = .none,
                settings: Settings = .init()) {
        precondition(!shards.isEmpty, "a simulation needs at least one peer")
        precondition(settings.gossip.validate() == nil, settings.gossip.validate() ?? "")
        precondition(settings.membership.validate() == nil, settings.membership.validate() ?? "")
        self.shards = shards
        self.config = config
        self.merge = merge
        initialItems = PeerLearner.initialItems(itemCount: shards[0].itemCount, config: config, tableSeed: settings.seed ^ 0x7AB1E)
        self.scenario = scenario
        var s = settings
        if let l = scenario.latency { s.latency = l }
        if let b = scenario.bandwidthBitsPerSecond { s.bandwidthBitsPerSecond = b }
        self.settings = s
        bandwidthBytesPerNs = s.bandwidthBitsPerSecond / 8 / 1e9
        net = SplitMix64(seed: s.seed ^ 0x0E7_5EED)
        let n = shards.count
        timeline = scenario.timeline(peers: n, duration: s.duration, seed: scenario.seed ?? s.seed)
        seeds = (0..<min(max(1, s.seedCount), n)).map(Self.address)
        peers = Array(repeating: SimPeer(), count: n)
        let lo = s.latency.lowerBound.wholeNanoseconds, hi = s.latency.upperBound.wholeNanoseconds
        let absent = Set(scenario.absentPeers(peers: n, seed: scenario.seed ?? s.seed))
        for i in 0..<n {
            peers[i].baseLatency = lo + Int64(net.next(below: Int(max(1, hi - lo + 1))))
            guard !absent.contains(i) else { continue }
            peers[i].pendingStart = true
            let at = Int64(net.next(below: Int(max(1, s.startSpread.wholeNanoseconds))))
            queue.push(.start(peer: Int32(i)), at: i == 0 ? 0 : at)
        }
        for (k, e) in timeline.enumerated() { queue.push(.scenario(k), at: e.time.wholeNanoseconds) }
        if s.checkpointInterval > .zero { queue.push(.checkpoint, at: s.checkpointInterval.wholeNanoseconds) }
        queue.push(.sample, at: 0)
    }

    // MARK: Addresses and queries

    static func address(_ i: Int) -> PeerAddress {
        PeerAddress(ipv4: 0x0A00_0000 | UInt32(truncatingIfNeeded: i) & 0xFF_FFFF, port: 7000)
    }

    func index(of a: PeerAddress) -> Int? {
        guard let v = a.ipv4Value, v >> 24 == 10, a.port == 7000 else { return nil }
        let i = Int(v & 0xFF_FFFF)
        return i < peers.count ? i : nil
    }

    public var peerCount: Int { peers.count }
    public var virtualTime: Duration { .nanoseconds(now) }
    public func isOnline(_ i: Int) -> Bool { peers[i].state == .online }
    /// The live members peer `i` knows (nil when it is not running).
    public func livePeers(of i: Int) -> [PeerID]? { peers[i].membership.map { $0.livePeers.map(\.peer) } }
    /// Peer `i`'s gossip counters (nil when it is not running).
    public func gossipCounters(of i: Int) -> GossipCounters? { peers[i].gossip?.counters }
    /// Peer `i`'s learner (nil when it is not running).
    public func learner(of i: Int) -> PeerLearner? { peers[i].gossip?.learner }

    // MARK: Running

    /// Runs the whole duration, calling `progress` at every curve sample, and returns the summary.
    public mutating func run(progress: (Point) -> Void = { _ in }) -> Summary {
        run(until: settings.duration, progress: progress)
        if curve.last.map({ $0.seconds < settings.duration.inSeconds }) ?? true {
            now = settings.duration.wholeNanoseconds
            let p = samplePoint()
            curve.append(p)
            progress(p)
        }
        return summary
    }

    /// A sample that can reach the target: some peers evaluated, and they trained at least one round on average.
    /// (The sample at 0 s holds the first peer alone, untrained: its one evaluation made the target "reached at 0 s"
    /// whenever its held-out item happened to rank in the top 10 of the initial table.)
    static func countsForTarget(_ p: Point) -> Bool { p.evaluated > 0 && p.meanRound >= 1 }

    public var summary: Summary {
        Summary(curve: curve, final: curve.last,
                timeToTarget: curve.first { Self.countsForTarget($0) && $0.hr10 >= settings.targetHR }?.seconds,
                counters: totals, timeline: timeline)
    }

    /// Processes every event up to and including virtual time `end`.
    public mutating func run(until end: Duration, progress: (Point) -> Void = { _ in }) {
        let limit = end.wholeNanoseconds
        while let t = queue.nextTime, t <= limit {
            let (time, event) = queue.pop()!
            now = time
            counters.events += 1
            if let p = event.peer {
                let i = Int(p)
                // Work queued behind a busy peer waits until its training ends.
                if peers[i].state == .online, time < peers[i].busyUntil {
                    queue.push(event, at: peers[i].busyUntil)
                    continue
                }
            }
            dispatch(event, progress: progress)
        }
        if now < limit { now = limit }
    }

    private mutating func dispatch(_ event: Event, progress: (Point) -> Void) {
        switch event {
        case .start(let p):
            guard peers[Int(p)].pendingStart else { return }
            peers[Int(p)].pendingStart = false
            start(Int(p), fresh: true)
        case .membershipTimer(let p, let g, let timer):
            let i = Int(p)
            guard peers[i].state == .online, peers[i].generation == g else { return }
            let out = peers[i].membership!.onTimer(timer, now: instant)
            perform(out, peer: i, at: now)
        case .gossipTimer(let p, let g, let timer):
            let i = Int(p)
            guard peers[i].state == .online, peers[i].generation == g else { return }
            gossipTimer(timer, peer: i)
        case .datagram(let to, let from, let bytes):
            deliverDatagram(bytes, to: Int(to), from: Int(from))
        case .push(let to, let tg, let from, let fg, let message, let bytes):
            arrivePush(message, bytes: bytes, to: Int(to), toGeneration: tg, from: Int(from), fromGeneration: fg)
        case .reply(let to, let g, let from, let fg, let message, let bytes):
            arriveReply(message, bytes: bytes, to: Int(to), generation: g, from: Int(from), fromGeneration: fg)
        case .connectFailed(let p, let g, let seq):
            let i = Int(p)
            guard peers[i].state == .online, peers[i].generation == g else { return }
            peers[i].gossip!.onExchangeFailed(seq: seq, now: instant)
        case .scenario(let k):
            apply(timeline[k])
        case .checkpoint:
            for i in peers.indices where peers[i].state == .online { takeCheckpoint(i) }
            queue.push(.checkpoint, at: now + settings.checkpointInterval.wholeNanoseconds)
        case .sample:
            let p = samplePoint()
            curve.append(p)
            progress(p)
            let next = now + settings.sampleInterval.wholeNanoseconds
            if settings.sampleInterval > .zero, next <= settings.duration.wholeNanoseconds { queue.push(.sample, at: next) }
        }
    }

    var instant: Instant { Instant(nanoseconds: now) }

    // MARK: Peer life cycle

    private func peerSeed(_ i: Int, _ generation: UInt32) -> UInt64 {
        var r = SplitMix64(seed: settings.seed ^ UInt64(i) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(generation) &* 0xC2B2_AE3D)
        return r.next()
    }

    func freshLearner(_ i: Int) -> PeerLearner {
        PeerLearner(shard: shards[i], config: config, items: initialItems, peerSeed: settings.seed &* 1_000_003 &+ UInt64(i))
    }

    /// Starts peer `i`: fresh (first join) or from its checkpoint (restart).
    private mutating func start(_ i: Int, fresh: Bool) {
        guard peers[i].state != .online else { return }
        peers[i].pendingStart = false
        peers[i].generation &+= 1
        let g = peers[i].generation
        let seed = peerSeed(i, g)
        let id = PeerID(UInt64(i))
        let cp = fresh ? nil : peers[i].checkpoint
        peers[i].membership = MembershipInstance(id: id, address: Self.address(i), incarnation: cp?.incarnation ?? 0,
                                                 seed: seed, settings: settings.membership)
        peers[i].gossip = GossipLearningInstance(id: id, learner: cp?.learner ?? freshLearner(i), merge: merge,
                                                 settings: settings.gossip, seed: seed)
        peers[i].gossip!.periodScale = peers[i].compute
        peers[i].state = .online
        peers[i].busyUntil = now
        peers[i].lastRank = nil
        var joinVia = seeds
        for a in cp?.known ?? [] where !joinVia.contains(a) { joinVia.append(a) }
        let m = peers[i].membership!.onJoin(seeds: joinVia, now: instant)
        perform(m, peer: i, at: now)
        let gd = peers[i].gossip!.onStart(now: instant)
        perform(gd, peer: i, at: now, replyTo: nil)
    }

    private mutating func stop(_ i: Int, graceful: Bool) {
        if peers[i].pendingStart {
            // Stopped before its first start (the scenario counts it as running from time 0).
            peers[i].pendingStart = false
            peers[i].state = graceful ? .left : .crashed
            return
        }
        guard peers[i].state == .online else { return }
        if graceful {
            let out = peers[i].membership!.onLeave(now: instant)
            perform(out, peer: i, at: now)
            takeCheckpoint(i)
        }
        retired.add(peers[i].gossip!.counters)
        peers[i].state = graceful ? .left : .crashed
        peers[i].generation &+= 1
        peers[i].membership = nil
        peers[i].gossip = nil
        peers[i].lastRank = nil
    }

    private mutating func takeCheckpoint(_ i: Int) {
        guard let m = peers[i].membership, let g = peers[i].gossip else { return }
        peers[i].checkpoint = Checkpoint(learner: g.learner, incarnation: m.incarnation,
                                         known: m.viewEntries.prefix(8).map(\.address))
    }

    private mutating func apply(_ e: ScenarioEvent) {
        switch e.action {
        case .kill: for p in e.peers { stop(p, graceful: false) }
        case .leave: for p in e.peers { stop(p, graceful: true) }
        case .restart: for p in e.peers { start(p, fresh: peers[p].checkpoint == nil) }
        case .join: for p in e.peers { start(p, fresh: true) }
        case .partition(let groups):
            var g = [Int32](repeating: 0, count: peers.count)
            for (k, list) in groups.enumerated() { for p in list where p < peers.count { g[p] = Int32(k) } }
            group = g
        case .heal: group = nil
        case .loss(let p): loss = p
        case .straggle(let c, let f, let extra):
            for p in e.peers {
                peers[p].compute = c
                peers[p].gossip?.periodScale = c
                peers[p].linkFactor = f
                peers[p].extraDelay = extra.wholeNanoseconds
            }
        }
    }

    // MARK: Directives

    private mutating func perform(_ directives: [MembershipDirective], peer i: Int, at base: Int64) {
        for d in directives {
            switch d {
            case .send(let message, let to): sendDatagram(message, from: i, to: to, at: base)
            case .schedule(let timer, let after):
                queue.push(.membershipTimer(peer: Int32(i), generation: peers[i].generation, timer),
                           at: base + max(0, after.wholeNanoseconds))
            case .memberUp: counters.memberUps += 1
            case .memberDown(_, .evicted): counters.evictions += 1
            case .memberDown: counters.memberDowns += 1
            case .log: break
            }
        }
    }

    private mutating func gossipTimer(_ timer: GossipTimer, peer i: Int) {
        let partner: (PeerID, PeerAddress)? = timer == .round ? peers[i].membership!.randomLivePeer() : nil
        let out = peers[i].gossip!.onTimer(timer, partner: partner, now: instant)
        var base = now
        if timer == .round {
            let positives = shards[i].train.count
            let samples = positives == 0 ? 0 : settings.gossip.localEpochs * positives * (1 + config.negatives)
            let cost = Double(samples) * Double(settings.trainingCostPerSample.wholeNanoseconds) * peers[i].compute
            base = now + Int64(cost.rounded())
            peers[i].busyUntil = base
        }
        perform(out, peer: i, at: base, replyTo: nil)
    }

    private mutating func perform(_ directives: [GossipDirective], peer i: Int, at base: Int64,
                                  replyTo: (peer: Int, generation: UInt32)?) {
        for d in directives {
            switch d {
            case .exchange(let seq, let message, _, let address):
                openStream(seq: seq, message: message, from: i, to: address, at: base)
            case .reply(let message):
                guard let r = replyTo else { continue }
                sendReply(message, from: i, to: r.peer, toGeneration: r.generation, at: base)
            case .schedule(let timer, let after):
                queue.push(.gossipTimer(peer: Int32(i), generation: peers[i].generation, timer),
                           at: base + max(0, after.wholeNanoseconds))
            case .evaluated(let rank, _):
                peers[i].lastRank = rank
            }
        }
    }

    // MARK: Network

    /// One-way latency of a message from `a` to `b` (nanoseconds), with jitter from the network generator.
    private mutating func latency(_ a: Int, _ b: Int) -> Int64 {
        let base = Double(peers[a].baseLatency + peers[b].baseLatency) / 2 * (peers[a].linkFactor + peers[b].linkFactor - 1)
        let j = 1 + settings.jitter * net.nextUnitDouble()
        return Int64((base * j).rounded()) + peers[a].extraDelay + peers[b].extraDelay
    }

    private func partitioned(_ a: Int, _ b: Int) -> Bool {
        guard let g = group else { return false }
        return g[a] != g[b]
    }

    private mutating func envelope(_ message: Message, from i: Int) -> Envelope {
        peers[i].frameSequence &+= 1
        return Envelope(swarmID: settings.swarmID, sender: PeerID(UInt64(i)), sequence: peers[i].frameSequence, message: message)
    }

    private mutating func sendDatagram(_ message: Message, from i: Int, to address: PeerAddress, at base: Int64) {
        let bytes: [UInt8]
        do { bytes = try WireCodec.encode(envelope(message, from: i), limits: limits) } catch {
            preconditionFailure("simulated peer \(i) built an unencodable datagram: \(error)")
        }
        counters.datagramsSent += 1
        counters.bytesSent += bytes.count
        peers[i].bytesSent += bytes.count
        guard let j = index(of: address) else { counters.datagramsToOffline += 1; return }
        if loss > 0, net.nextUnitDouble() < loss { counters.datagramsLost += 1; return }
        if partitioned(i, j) { counters.datagramsPartitioned += 1; return }
        queue.push(.datagram(to: Int32(j), from: Int32(i), bytes: bytes), at: base + latency(i, j))
    }

    private mutating func deliverDatagram(_ bytes: [UInt8], to j: Int, from i: Int) {
        guard peers[j].state == .online else { counters.datagramsToOffline += 1; return }
        if partitioned(i, j) { counters.datagramsPartitioned += 1; return }
        let env: Envelope
        do { env = try WireCodec.decode(bytes, limits: limits, expectedSwarmID: settings.swarmID) } catch {
            counters.datagramsDecodeFailed += 1; return
        }
        let out = peers[j].membership!.onMessage(env.message, from: env.sender, address: Self.address(i), now: instant)
        perform(out, peer: j, at: now)
    }

    /// The exact size of `message`'s frame as `WireCodec` encodes it for a stream (no auth tag).
    public static func frameSize(_ message: Message) -> Int {
        func model(_ m: ModelPayload) -> Int { 4 + 2 + 8 + 4 + 8 * m.items.count + 4 * m.values.count }
        let payload: Int
        switch message {
        case .modelPush(_, let m, _): payload = 8 + 1 + model(m)
        case .modelReply(_, let m): payload = 8 + model(m)
        case .modelDecline: payload = 8 + 1
        default: preconditionFailure("frameSize is for model messages")
        }
        return FrameHeader.byteCount + payload + FrameHeader.checksumByteCount
    }

    /// Encodes (when round-tripping) and returns the frame size.
    private mutating func streamFrame(_ message: Message, from i: Int) -> (size: Int, bytes: [UInt8]?) {
        guard settings.roundTripModels else { return (Self.frameSize(message), nil) }
        do {
            let b = try WireCodec.encode(envelope(message, from: i), limits: limits)
            return (b.count, b)
        } catch {
            preconditionFailure("simulated peer \(i) built an unencodable model message: \(error)")
        }
    }

    private func decodeStream(_ message: Message, _ bytes: [UInt8]?) -> Message? {
        guard let bytes else { return message }
        return (try? WireCodec.decode(bytes, limits: limits, expectedSwarmID: settings.swarmID))?.message
    }

    /// Time (ns) for `size` bytes through `i`'s uplink starting no earlier than `ready`; advances the uplink.
    private mutating func transmit(_ size: Int, from i: Int, ready: Int64) -> Int64 {
        let start = max(ready, peers[i].uplinkFreeAt)
        let done = start + Int64((Double(size) / bandwidthBytesPerNs).rounded())
        peers[i].uplinkFreeAt = done
        counters.bytesSent += size
        counters.modelBytesSent += size
        peers[i].bytesSent += size
        return done
    }

    private mutating func openStream(seq: UInt64, message: Message, from i: Int, to address: PeerAddress, at base: Int64) {
        let g = peers[i].generation
        guard let j = index(of: address), peers[j].state == .online, !partitioned(i, j) else {
            counters.connectsFailed += 1
            queue.push(.connectFailed(peer: Int32(i), generation: g, seq: seq), at: base + settings.connectTimeout.wholeNanoseconds)
            return
        }
        counters.streamsOpened += 1
        let handshake = latency(i, j) + latency(j, i)
        let frame = streamFrame(message, from: i)
        let sent = transmit(frame.size, from: i, ready: base + handshake)
        queue.push(.push(to: Int32(j), toGeneration: peers[j].generation, from: Int32(i), fromGeneration: g,
                         message: message, bytes: frame.bytes), at: sent + latency(i, j))
    }

    private mutating func arrivePush(_ message: Message, bytes: [UInt8]?, to j: Int, toGeneration: UInt32,
                                     from i: Int, fromGeneration: UInt32) {
        guard peers[j].state == .online, peers[j].generation == toGeneration, !partitioned(i, j),
              let m = decodeStream(message, bytes) else {
            counters.streamsBroken += 1; return
        }
        let out = peers[j].gossip!.onModelMessage(m, from: PeerID(UInt64(i)), now: instant)
        perform(out, peer: j, at: now, replyTo: (i, fromGeneration))
    }

    private mutating func sendReply(_ message: Message, from j: Int, to i: Int, toGeneration: UInt32, at base: Int64) {
        let frame = streamFrame(message, from: j)
        let sent = transmit(frame.size, from: j, ready: base)
        queue.push(.reply(to: Int32(i), generation: toGeneration, from: Int32(j), fromGeneration: peers[j].generation,
                          message: message, bytes: frame.bytes), at: sent + latency(j, i))
    }

    private mutating func arriveReply(_ message: Message, bytes: [UInt8]?, to i: Int, generation: UInt32,
                                      from j: Int, fromGeneration: UInt32) {
        guard peers[i].state == .online, peers[i].generation == generation else { counters.repliesToOffline += 1; return }
        guard !partitioned(i, j), let m = decodeStream(message, bytes) else { counters.streamsBroken += 1; return }
        _ = peers[i].gossip!.onModelMessage(m, from: PeerID(UInt64(j)), now: instant)
    }

    // MARK: Measuring

    var totals: Counters {
        var c = counters
        var g = retired
        for p in peers { if let x = p.gossip { g.add(x.counters) } }
        c.gossip = g
        return c
    }

    /// HR@10 of one group of online peers now (`breakdown`).
    public struct GroupResult: Sendable, Hashable {
        public var group: String
        public var peers: Int
        public var hr10: Double
        public var meanRound: Double
    }

    /// One peer's state now (`peerResults`).
    public struct PeerResult: Sendable, Hashable {
        public var index: Int
        public var online: Bool
        /// Compute factor above 1 (a straggler).
        public var straggler: Bool
        /// Stopped at least once since its first start (a returning peer).
        public var returned: Bool
        /// Rank of its held-out item under its own model (nil when offline or without a test item).
        public var rank: Int?
        public var round: UInt64
        /// Copies merged and exchanges failed since its latest start (`GossipCounters`; 0 when offline).
        public var merges: Int
        public var exchangesFailed: Int
    }

    /// Every peer's state now, in index order: what `breakdown` groups, and what a paired comparison of two runs
    /// of the same swarm (`gossiprec simulate --ranks`) reads.
    public func peerResults() -> [PeerResult] {
        peers.indices.map { i in
            let p = peers[i]
            let live = p.state == .online && p.gossip != nil
            // `generation` counts starts and stops: 1 for a peer that has run since its first start.
            return PeerResult(index: i, online: live, straggler: p.compute > 1, returned: p.generation > 1,
                              rank: live ? p.gossip!.learner.testRank() : nil, round: p.gossip?.learner.round ?? 0,
                              merges: live ? p.gossip!.counters.mergesApplied : 0,
                              exchangesFailed: live ? p.gossip!.counters.exchangesFailed : 0)
        }
    }

    /// The online peers' HR@10 now, split by straggler or not (compute factor above 1) and by whether the peer
    /// was ever stopped (a returning peer): where a profile's cost comes from.
    public func breakdown() -> [GroupResult] { Self.breakdown(peerResults()) }

    /// `breakdown` of results already taken (`peerResults`), so a caller that also needs them ranks every peer once.
    public static func breakdown(_ results: [PeerResult]) -> [GroupResult] {
        var groups: [String: (RankingSummary, Int, Double)] = [:]
        for p in results where p.online {
            let name = (p.straggler ? "stragglers" : "others") + (p.returned ? ", returned" : ", never stopped")
            var g = groups[name] ?? (RankingSummary(k: 10), 0, 0)
            if let r = p.rank { g.0.add(rank: r) }
            g.1 += 1
            g.2 += Double(p.round)
            groups[name] = g
        }
        return groups.keys.sorted().map { k in
            let g = groups[k]!
            return GroupResult(group: k, peers: g.1, hr10: g.0.hitRate, meanRound: g.2 / Double(max(1, g.1)))
        }
    }

    private func samplePoint() -> Point {
        var s = RankingSummary(k: 10)
        var online = 0
        var rounds = 0.0
        var g = retired
        for p in peers {
            guard p.state == .online, let gossip = p.gossip else { continue }
            online += 1
            rounds += Double(gossip.learner.round)
            g.add(gossip.counters)
            if let r = gossip.learner.testRank() { s.add(rank: r) }
        }
        return Point(seconds: Double(now) / 1e9, hr10: s.hitRate, ndcg10: s.ndcg, evaluated: s.count,
                     mbPerPeer: Double(counters.bytesSent) / Double(peers.count) / 1e6, online: online,
                     meanRound: online == 0 ? 0 : rounds / Double(online),
                     exchangesCompleted: g.exchangesCompleted, exchangesFailed: g.exchangesFailed)
    }
}

extension GossipCounters {
    /// Adds another peer's counters to these.
    mutating func add(_ o: GossipCounters) {
        rounds += o.rounds
        exchangesStarted += o.exchangesStarted
        exchangesCompleted += o.exchangesCompleted
        exchangesFailed += o.exchangesFailed
        exchangesSkippedBusy += o.exchangesSkippedBusy
        roundsWithoutPartner += o.roundsWithoutPartner
        mergesApplied += o.mergesApplied
        pushesDeclined += o.pushesDeclined
        rollbacks += o.rollbacks
        roundsCatchingUp += o.roundsCatchingUp
    }
}
