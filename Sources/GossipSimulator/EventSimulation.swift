import Dispatch
import Foundation
import GossipProtocol
import PeerCore
import RecommenderModel
import SwarmSpec
import Synchronization
import SwarmCrypto
import WireFormat

/// The deterministic twin of `NodeRuntime`: every peer runs the same `MembershipInstance` and
/// `GossipLearningInstance` values the real node runs, and its directives are interpreted the way `PeerNode`
/// interprets them, but on a virtual clock and a simulated network. Nothing reads a clock or global randomness,
/// and no dictionary is iterated, so a run is bit-for-bit reproducible from `Settings.seed`, whatever the number
/// of threads (`Settings.threads`).
///
/// **Events.** Each peer has its own `EventQueue` (keyed by virtual time, then insertion order) of the events only it
/// handles: its timers, and the datagrams, model streams and connect failures that reach it. Scenario events, starts,
/// checkpoints and curve samples are global events in a queue of their own.
///
/// **Parallel windows** (conservative parallel discrete-event simulation, Chandy and Misra, "Distributed
/// simulation: a case study in design and verification of distributed programs", IEEE TSE 1979, in synchronous
/// windows as in Lubachevsky's bounded lag, CACM 1989). A message from peer a to peer b takes at least
/// (base_a + base_b) / 2 (the base latencies, see Network), so at least inbound_b = (min_a base_a + base_b) / 2.
/// With t the earliest pending event of the swarm, nothing any peer does from t on can reach b before
/// t + inbound_b, so every peer's events up to its own horizon min(t + inbound, next global event) are independent
/// of every other peer's: the simulation handles them in one window, each peer's in its own time order, on
/// `Settings.threads` threads. (Per-peer horizons make windows longer than one common bound, the smallest latency of
/// all, would: fewer synchronizations, and more work to share among the threads.) What a peer sends during a
/// window waits in its outbox and is queued at the destination after the window, outboxes in peer order. A peer's
/// events read only its own state and what only global events change (which peers run, their generations, link
/// factors, partitions, loss), and each peer draws latency jitter and loss from its own network generator, so the
/// result does not depend on which thread ran which peer or when. Global events run alone, after every peer event
/// before them and before any at their time.
///
/// **Peers** are `PeerInstance`s (PeerCore), the very peer `PeerNode` runs: peer i has `PeerID(i)`, a virtual
/// address 10.x.y.z:7000, a `PeerLearner` over shard i, seeds from `SeedScheme` (table, user, and a peer seed per
/// start), the partner mode of `Settings.partners`, and joins through the first `seedCount` peers plus, after a
/// restart, the members its checkpoint kept. Start times are spread uniformly over `startSpread`.
///
/// **Effects** are carried out as `PeerNode` carries them out: `.send` is one datagram, `.schedule` one timer event
/// (never cancelled; a crash or restart bumps the peer's generation, which discards its old timers and in-flight
/// traffic), `.exchange` opens a model stream, `.reply` answers it, `.checkpoint` keeps the state in memory for a
/// restart, and `.report`s are counted (evaluations are not needed: the curve ranks every running peer itself).
///
/// **Compute.** A round's local training occupies the peer for `samples * trainingCostPerSample * slowdown`
/// of virtual time (samples = local epochs x positives x (1 + negatives); `slowdown` is the straggler factor),
/// and a straggler's rounds also come `compute` times less often (`GossipLearningInstance.slowdown`), as
/// in the real node: a device k times slower gets through k times fewer rounds.
/// The round's directives take effect when training ends, and any event for a busy peer waits until then,
/// as work queued behind a busy serial queue does. Merging and evaluation are charged nothing.
///
/// **Network.** Each peer has a base one-way latency drawn uniformly from `latency`; a link's latency is the
/// mean of its ends', times (f_a + f_b - 1) for straggler link factors f (each slow end adds its slowness: x f
/// to a normal peer, x (2f - 1) between two stragglers, as the real node's per-sender delay gives), times a
/// uniform jitter in `[1, 1 + jitter]` per message, plus both ends' straggler extra delays (never below L: link
/// factors are at least 1).
/// - Membership messages are datagrams, encoded and decoded through `WireCodec` (so sizes and limits are the
///   real ones); each is lost with the scenario's loss probability, dropped across a partition, and dropped if
///   the destination is not running when it arrives.
/// - A model exchange is a TCP-like reliable stream: connecting to a peer that is down or across a partition
///   fails after `connectTimeout` (no SYN-ACK), and the shell reports `onExchangeFailed`; otherwise the push
///   arrives after a handshake (one round trip), serialisation on the sender's uplink (bytes / bandwidth, FIFO
///   per sender), and one-way latency. The reply travels back the same way. A stream whose far end crashes,
///   restarts or is partitioned away mid-transfer is silently broken; the sender's `exchangeDeadline` ends it.
///   Model messages are encoded and decoded through `WireCodec` as a node's are (`roundTripModels`, on by
///   default); turned off, the receiver gets the sender's `ModelPayload` itself (whose element check was made when
///   it was built, `ModelPayload.elementsVerified`, as a decoded copy's is by the decoder) and the stream carries the
///   exact frame size: the same result (a test checks it), faster.
///
/// **Scenario** events (`Scenario.timeline`): `kill` drops the peer's process (its in-memory state is lost;
/// only its last checkpoint survives); `leave` is graceful (`onLeave`, then a checkpoint); `restart` starts a
/// new process from the last checkpoint (or fresh state without one), rejoining through the peers in its
/// checkpointed view plus the seeds; `join` is a first start; `partition`/`heal` cut and restore links between
/// groups; `loss` sets the datagram loss; `straggle` sets slowdown and link factors. Every running peer checkpoints
/// each `checkpointInterval` after its start (`SavedPeerState`: model, incarnation, up to 32 live members), as a
/// node does with `--checkpoint-dir`. A peer the timeline stops
/// before its first start (churn that begins offline) never starts until the timeline restarts it.
///
/// **Cost.** Every exchange moves two 222 KB copies of the item table through a working set of hundreds of MB,
/// so the work is bound by memory traffic (README, "Simulator speed"); `Scripts/bench-sim.sh` measures it against
/// a centralized baseline. Memory grows as N^2 for large swarms unless `MembershipSettings.maxMembers` caps the
/// member tables.
public struct EventSimulation {
    public struct Settings: Sendable {
        public var duration: Duration = .seconds(600)
        public var seed: UInt64 = 1
        public var gossip = GossipSettings()
        public var membership = MembershipSettings()
        /// How peers choose partners: as in `gossiprec node --mode`.
        public var partners = Partners.random
        /// How often the curve is sampled (every running peer's held-out rank is computed directly).
        public var sampleInterval: Duration = .seconds(10)
        /// The samples of the run's last `finalWindow` also count, per peer, its hits and evaluations
        /// (`PeerResult.windowHits`, `Summary.finalWindowHR`). The whole swarm's HR@10 moves by about ±0.02 from one
        /// sample to the next (every copy follows the same consensus), so the last sample alone is a noisy final figure.
        public var finalWindow: Duration = .seconds(100)
        /// Virtual CPU time per training sample (a positive or a sampled negative) at slowdown 1.
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
        /// Encode and decode every model message through WireCodec, as a node does (sizes are exact either way, and
        /// the result is the same; off is faster).
        public var roundTripModels = true
        /// Seal every frame (datagrams, and model messages when `roundTripModels`) with ChaCha20-Poly1305 under a run
        /// key drawn from `seed`, and open it through the receiver's replay filter, as a keyed node does (wire v3).
        /// Off by default: it costs real CPU (about 0.31 ms per 230 KB model frame each way), and frames grow by 12
        /// bytes (tag instead of checksum), so transfer times and the run differ slightly from an unsealed one.
        /// The run key is not secret (it follows from the seed): this exercises the path, it protects nothing.
        public var sealFrames = false
        public var swarmID: UInt32 = 1
        /// Threads that handle peers' events within a window (0: one per active processor). The result is the same
        /// bit for bit for every value; 1 runs everything on the calling thread.
        public var threads = 0
        /// Per-partner reputation of every peer (`PeerSettings.reputation`); the merge defences are `gossip.defences`.
        public var reputation = ReputationSettings()
        /// Test-only attack harness: the peers in `malicious` (swarm indices) run `attack` (`PeerSettings.attack`).
        /// The curve, the final window and `erAt10` then count benign peers only.
        public var attack: Attack? = nil
        public var malicious: [Int] = []
        /// Called with every model copy a peer receives (a push, or the reply to its push) before the peer handles it:
        /// the receiver, the sender, the copy and the receiver's own row weights then. For audits (`gossiprec
        /// privacy-audit`); called from the window threads, so it must be thread-safe. Nil: nothing is called.
        public var copyTap: (@Sendable (_ receiver: Int, _ sender: Int, _ copy: ModelPayload, _ receiverWeights: [Float]) -> Void)? = nil
        public init() {}
    }

    /// Partner choice for the whole swarm (each peer gets its `PartnerMode`).
    public enum Partners: Sendable {
        /// A random live member of the peer-sampling view.
        case random
        /// Static: peer i gossips only with `neighbours[i]` (swarm indices; a topology file's edges).
        case neighbours([[Int]])
        /// The DFedRec-style client graph.
        case clientGraph(ClientGraphSettings)

        /// Peer `i`'s mode.
        func mode(of i: Int) -> PartnerMode {
            switch self {
            case .random: return .random
            case .neighbours(let n):
                return .fixed(i < n.count ? n[i].map { Neighbour(PeerID(UInt64($0)), EventSimulation.address($0)) } : [])
            case .clientGraph(let cg): return .clientGraph(cg)
            }
        }

        /// `--mode`'s name.
        public var name: String {
            switch self {
            case .random: return "random"
            case .neighbours: return "static"
            case .clientGraph: return "client-graph"
            }
        }
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
        /// Target exposure (promotion attacks, computed at the last point only): the share of benign running peers whose
        /// top 10 over all their unseen items holds `Attack.target`; nil otherwise.
        public var er10: Double? = nil
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
        /// Partners quarantined by some peer (`PartnerReputation`), summed over peers.
        public var quarantines = 0
        public var events = 0
        public var gossip = GossipCounters()
    }

    public struct Summary: Sendable, Hashable {
        public var curve: [Point]
        public var final: Point?
        /// HR@10 pooled over the samples of the last `Settings.finalWindow` (hits over evaluations), or nil without any.
        public var finalWindowHR: Double?
        /// Virtual seconds to the first sample with HR@10 >= `Settings.targetHR`, or nil.
        public var timeToTarget: Double?
        public var counters: Counters
        public var timeline: [ScenarioEvent]
    }

    enum PeerState { case absent, online, crashed, left }

    /// An event that only one peer handles (the peer whose queue holds it).
    enum PeerEvent {
        case timer(generation: UInt32, PeerTimer)
        case datagram(from: Int32, bytes: [UInt8])
        /// A model push arrives (the receiver had `toGeneration` when the stream opened).
        case push(toGeneration: UInt32, from: Int32, fromGeneration: UInt32, message: Message, bytes: [UInt8]?)
        /// A model reply arrives (the receiver had `generation` when it opened the stream).
        case reply(generation: UInt32, from: Int32, fromGeneration: UInt32, message: Message, bytes: [UInt8]?)
        case connectFailed(generation: UInt32, seq: UInt64)
    }

    /// An event that may touch every peer: it runs alone.
    enum GlobalEvent {
        case scenario(Int)
        case sample
        case start(peer: Int32)
    }

    /// A peer event sent to another peer during a window, queued at the destination after it.
    struct Outgoing {
        var to: Int32
        var time: Int64
        var event: PeerEvent
    }

    /// One peer's state: what its own events read and write.
    struct SimPeer {
        /// The peer itself while it runs.
        var core: PeerInstance?
        var queue = EventQueue<PeerEvent>()
        var outbox: [Outgoing] = []
        /// Latency jitter and datagram loss of what this peer sends.
        var net: SplitMix64
        /// Traffic and events this peer caused (`EventSimulation.counters` adds them up).
        var counters = Counters()
        var busyUntil: Int64 = 0
        var uplinkFreeAt: Int64 = 0
        /// Its latest checkpoint (what a restart resumes from).
        var checkpoint: SavedPeerState?
        var frameSequence: UInt64 = 0
        /// Its frame keys, nonce epoch and replay filters (`Settings.sealFrames`); new at each start, as a node's.
        var security = FrameSecurity.insecure()
        /// Its first start is queued (within `startSpread`); a scenario kill or leave before then cancels it.
        var pendingStart = false
        /// Exchanges this peer started, by partner, over the whole run (what partner choice decided).
        var partners: [PeerID: Int] = [:]
        /// Exchanges this peer started that completed (the reply arrived and was merged), by partner, over the whole
        /// run: what got through (`PeerStats.completedWith` on the node).
        var completedWith: [PeerID: Int] = [:]
    }

    /// What peers' events read and only global events change (so it stays put during a window), and the settings.
    struct Fabric {
        let settings: Settings
        let shards: [UserShard]
        let config: TrainingConfig
        let limits = WireLimits.default
        let bandwidthBytesPerNs: Double
        /// Per peer j, the smallest one-way latency of any message to it, (min_i base_i + base_j) / 2: how far past the
        /// earliest pending event of the swarm j's own events may run in a window.
        var inbound: [Int64] = []
        var state: [PeerState]
        var generation: [UInt32]
        var baseLatency: [Int64]
        var slowdown: [Double]
        var linkFactor: [Double]
        var extraDelay: [Int64]
        var group: [Int32]? = nil
        var loss: Double = 0
        /// Peers running the attack harness (`Settings.malicious`).
        var malicious: [Bool] = []

        func partitioned(_ a: Int, _ b: Int) -> Bool {
            guard let g = group else { return false }
            return g[a] != g[b]
        }

        func index(of a: PeerAddress) -> Int? {
            guard let v = a.ipv4Value, v >> 24 == 10, a.port == 7000 else { return nil }
            let i = Int(v & 0xFF_FFFF)
            return i < state.count ? i : nil
        }
    }

    public let settings: Settings
    public let scenario: Scenario
    public let timeline: [ScenarioEvent]
    let merge: any MergeRule
    /// The table every fresh peer starts from, drawn once (`PeerLearner.initialItems`); peers share it until they write.
    let initialItems: ItemTable
    var fabric: Fabric
    /// What the scenario's events so far have made of the swarm (shared meaning with the node: `ScenarioState`).
    var scenarioState = ScenarioState()
    var peers: [SimPeer]
    /// Each peer's earliest queued event time (`Int64.max`: none), so a window finds its peers without touching them.
    var wake: [Int64]
    var globals = EventQueue<GlobalEvent>()
    let cursor = WorkCursor()
    public private(set) var now: Int64 = 0
    var globalEvents = 0
    /// Windows whose peers were handed to more than one thread (a check that the parallel path runs).
    var parallelWindows = 0
    var retired = GossipCounters()
    public private(set) var curve: [Point] = []
    /// Per peer, hits (rank < 10) and evaluations at the samples of the final window (`Settings.finalWindow`).
    var windowHits: [Int32], windowSamples: [Int32]
    let seeds: [PeerAddress]
    /// The run key of `Settings.sealFrames` (nil when off).
    let runKeyring: Keyring?

    /// Builds the swarm (peer i learns from `shards[i]`) and queues the start of every peer not absent.
    public init(shards: [UserShard], config: TrainingConfig, merge: any MergeRule, scenario: Scenario = .none,
                settings: Settings = .init()) {
        precondition(!shards.isEmpty, "a simulation needs at least one peer")
        precondition(settings.gossip.validate() == nil, settings.gossip.validate() ?? "")
        precondition(settings.membership.validate() == nil, settings.membership.validate() ?? "")
        if case .clientGraph(let cg) = settings.partners {
            precondition(cg.validate(catalogueSize: shards[0].itemCount) == nil, cg.validate(catalogueSize: shards[0].itemCount) ?? "")
        }
        precondition(settings.threads >= 0, "threads must be >= 0")
        self.merge = merge
        initialItems = PeerLearner.initialItems(itemCount: shards[0].itemCount, config: config, tableSeed: SeedScheme.table(settings.seed))
        self.scenario = scenario
        var s = settings
        if let l = scenario.latency { s.latency = l }
        if let b = scenario.bandwidthBitsPerSecond { s.bandwidthBitsPerSecond = b }
        self.settings = s
        var keySource = SplitMix64(seed: s.seed ^ 0x5EA1_F4A3_E5C0_DE00)
        runKeyring = s.sealFrames ? try! Keyring(primary: SwarmKey.generate(using: &keySource)) : nil
        var net = SplitMix64(seed: SeedScheme.simulatedLayout(s.seed))
        let n = shards.count
        timeline = scenario.timeline(peers: n, duration: s.duration, seed: scenario.seed ?? s.seed)
        seeds = (0..<min(max(1, s.seedCount), n)).map(Self.address)
        let lo = s.latency.lowerBound.wholeNanoseconds, hi = s.latency.upperBound.wholeNanoseconds
        fabric = Fabric(settings: s, shards: shards, config: config, bandwidthBytesPerNs: s.bandwidthBitsPerSecond / 8 / 1e9,
                        state: Array(repeating: .absent, count: n),
                        generation: Array(repeating: 0, count: n), baseLatency: Array(repeating: 0, count: n),
                        slowdown: Array(repeating: 1, count: n), linkFactor: Array(repeating: 1, count: n),
                        extraDelay: Array(repeating: 0, count: n))
        fabric.malicious = [Bool](repeating: false, count: n)
        if s.attack != nil { for i in s.malicious where i >= 0 && i < n { fabric.malicious[i] = true } }
        peers = (0..<n).map { i in SimPeer(net: SplitMix64(seed: SeedScheme.simulatedNetwork(s.seed, user: i))) }
        wake = Array(repeating: .max, count: n)
        windowHits = Array(repeating: 0, count: n)
        windowSamples = Array(repeating: 0, count: n)
        let absent = Set(scenario.absentPeers(peers: n, seed: scenario.seed ?? s.seed))
        for i in 0..<n {
            fabric.baseLatency[i] = lo + Int64(net.next(below: Int(max(1, hi - lo + 1))))
            guard !absent.contains(i) else { continue }
            peers[i].pendingStart = true
            let at = Int64(net.next(below: Int(max(1, s.startSpread.wholeNanoseconds))))
            globals.push(.start(peer: Int32(i)), at: i == 0 ? 0 : at)
        }
        let fastest = fabric.baseLatency.min()!
        fabric.inbound = fabric.baseLatency.map { max(1, (fastest + $0) / 2) }
        for (k, e) in timeline.enumerated() { globals.push(.scenario(k), at: e.time.wholeNanoseconds) }
        globals.push(.sample, at: 0)
    }

    // MARK: Addresses and queries

    static func address(_ i: Int) -> PeerAddress {
        PeerAddress(ipv4: 0x0A00_0000 | UInt32(truncatingIfNeeded: i) & 0xFF_FFFF, port: 7000)
    }

    public var peerCount: Int { peers.count }
    public var virtualTime: Duration { .nanoseconds(now) }
    public func isOnline(_ i: Int) -> Bool { fabric.state[i] == .online }
    /// The live members peer `i` knows (nil when it is not running).
    public func livePeers(of i: Int) -> [PeerID]? { peers[i].core.map { $0.membership.livePeers.map(\.peer) } }
    /// Peer `i`'s gossip counters (nil when it is not running).
    public func gossipCounters(of i: Int) -> GossipCounters? { peers[i].core?.gossip.counters }
    /// Peer `i`'s copy screen, with its clipping radii (nil when it is not running).
    public func screen(of i: Int) -> CopyScreen? { peers[i].core?.gossip.screen }
    /// Peer `i`'s learner (nil when it is not running).
    public func learner(of i: Int) -> PeerLearner? { peers[i].core?.learner }
    /// The exchanges peer `i` started over the whole run, by partner.
    public func partners(of i: Int) -> [PeerID: Int] { peers[i].partners }
    /// The exchanges peer `i` started that completed, over the whole run, by partner.
    public func completedExchanges(of i: Int) -> [PeerID: Int] { peers[i].completedWith }

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
        if let a = settings.attack, a.kind == .promotion, !curve.isEmpty { curve[curve.count - 1].er10 = exposure(of: a.target) }
        return summary
    }

    /// A sample that can reach the target: some peers evaluated, and they trained at least one round on average.
    /// (The sample at 0 s holds the first peer alone, untrained: its one evaluation made the target "reached at 0 s"
    /// whenever its held-out item happened to rank in the top 10 of the initial table.)
    static func countsForTarget(_ p: Point) -> Bool { p.evaluated > 0 && p.meanRound >= 1 }

    public var summary: Summary {
        let samples = windowSamples.reduce(0) { $0 + Int($1) }
        return Summary(curve: curve, final: curve.last,
                finalWindowHR: samples == 0 ? nil : Double(windowHits.reduce(0) { $0 + Int($1) }) / Double(samples),
                timeToTarget: curve.first { Self.countsForTarget($0) && $0.hr10 >= settings.targetHR }?.seconds,
                counters: totals, timeline: timeline)
    }

    /// Processes every event up to and including virtual time `end`: global events one at a time, peer events in
    /// windows (see the type's documentation).
    public mutating func run(until end: Duration, progress: (Point) -> Void = { _ in }) {
        let limit = end.wholeNanoseconds
        let threads = settings.threads == 0 ? ProcessInfo.processInfo.activeProcessorCount : settings.threads
        var active: [Int32] = []
        while true {
            let g = globals.nextTime ?? .max
            var p = Int64.max
            for t in wake where t < p { p = t }
            guard min(g, p) <= limit else { break }
            if g <= p {
                let (time, event) = globals.pop()!
                now = time
                globalEvents += 1
                dispatch(event, progress: progress)
                continue
            }
            // Peer i's events before p + inbound[i] (and before the next global event) cannot be reached by anything
            // another peer sends from p on.
            let cap = min(g, limit + 1)
            active.removeAll(keepingCapacity: true)
            for i in wake.indices where wake[i] < min(p + fabric.inbound[i], cap) { active.append(Int32(i)) }
            runWindow(active, from: p, cap: cap, threads: threads)
            for i in active { deliverOutbox(of: Int(i)) }
        }
        if now < limit { now = limit }
    }

    /// Handles each peer i in `active` up to its horizon, min(`from` + inbound[i], `cap`), on up to `threads` threads.
    private mutating func runWindow(_ active: [Int32], from: Int64, cap: Int64, threads: Int) {
        if min(threads, active.count) > 1 { parallelWindows += 1 }
        let cursor = self.cursor
        withRawPeers { F, P, W in
            active.withUnsafeBufferPointer { A in
                let job = WindowJob(fabric: F, peers: P, wake: W, active: A.baseAddress!, from: from, cap: cap)
                let workers = min(threads, A.count)
                guard workers > 1 else {
                    for k in 0..<A.count { job.run(k) }
                    return
                }
                cursor.next.store(0, ordering: .relaxed)
                let count = A.count
                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                    while true {
                        let k = cursor.next.wrappingAdd(1, ordering: .relaxed).oldValue
                        if k >= count { break }
                        job.run(k)
                    }
                }
            }
        }
    }

    /// Calls `body` with raw pointers to the fabric, the first peer and the first `wake` slot. The arrays are moved
    /// out of `self` meanwhile, so that those pointers are the only access to them.
    private mutating func withRawPeers(_ body: (UnsafePointer<Fabric>, UnsafeMutablePointer<SimPeer>, UnsafeMutablePointer<Int64>) -> Void) {
        var ps: [SimPeer] = [], wk: [Int64] = []
        swap(&ps, &peers); swap(&wk, &wake)
        let fab = fabric
        withUnsafePointer(to: fab) { F in
            ps.withUnsafeMutableBufferPointer { P in
                wk.withUnsafeMutableBufferPointer { W in body(F, P.baseAddress!, W.baseAddress!) }
            }
        }
        swap(&ps, &peers); swap(&wk, &wake)
    }

    /// Queues what peer `i` sent to others at their destinations, in the order it sent it.
    private mutating func deliverOutbox(of i: Int) {
        guard !peers[i].outbox.isEmpty else { return }
        var out: [Outgoing] = []
        swap(&out, &peers[i].outbox)
        for o in out {
            let j = Int(o.to)
            peers[j].queue.push(o.event, at: o.time)
            if o.time < wake[j] { wake[j] = o.time }
        }
        out.removeAll(keepingCapacity: true)
        swap(&out, &peers[i].outbox)
    }

    /// Runs `body` as peer `i`'s own event handling at the current time (for global events that act on a peer), then
    /// delivers what it sent.
    private mutating func asPeer(_ i: Int, _ body: (inout PeerWorker) -> Void) {
        let t = now
        withRawPeers { F, P, _ in
            var w = PeerWorker(fabric: F, peer: P + i, index: i, now: t)
            body(&w)
        }
        deliverOutbox(of: i)
        wake[i] = peers[i].queue.nextTime ?? .max
    }

    private mutating func dispatch(_ event: GlobalEvent, progress: (Point) -> Void) {
        switch event {
        case .start(let p):
            guard peers[Int(p)].pendingStart else { return }
            peers[Int(p)].pendingStart = false
            start(Int(p), fresh: true)
        case .scenario(let k):
            apply(timeline[k])
        case .sample:
            let p = samplePoint()
            curve.append(p)
            progress(p)
            let next = now + settings.sampleInterval.wholeNanoseconds
            if settings.sampleInterval > .zero, next <= settings.duration.wholeNanoseconds { globals.push(.sample, at: next) }
        }
    }

    // MARK: Peer life cycle

    func freshLearner(_ i: Int) -> PeerLearner {
        PeerLearner(shard: fabric.shards[i], config: fabric.config, items: initialItems,
                    peerSeed: SeedScheme.user(settings.seed, i))
    }

    /// Starts peer `i`: fresh (first join) or from its checkpoint (restart), as `PeerNode` does, joining through the
    /// swarm's seeds plus the peers its checkpoint knew.
    private mutating func start(_ i: Int, fresh: Bool) {
        guard fabric.state[i] != .online else { return }
        peers[i].pendingStart = false
        fabric.generation[i] &+= 1
        let cp = fresh ? nil : peers[i].checkpoint
        var peer = PeerSettings()
        peer.membership = settings.membership
        peer.gossip = settings.gossip
        peer.partners = settings.partners.mode(of: i)
        peer.checkpointPeriod = settings.checkpointInterval > .zero ? settings.checkpointInterval : nil
        peer.reputation = settings.reputation
        if fabric.malicious[i] { peer.attack = settings.attack }
        var core = PeerInstance(id: PeerID(UInt64(i)), address: Self.address(i), learner: cp?.learner ?? freshLearner(i),
                                merge: merge, settings: peer, seed: SeedScheme.peer(settings.seed, user: i, start: fabric.generation[i]),
                                incarnation: cp?.incarnation ?? 0)
        core.onSlowdown(fabric.slowdown[i])
        peers[i].core = core
        // A start's epoch: its generation, which only grows (a restart never reuses a nonce).
        peers[i].security = runKeyring.map { FrameSecurity(keyring: $0, swarmID: settings.swarmID, epoch: fabric.generation[i]) }
            ?? .insecure(swarmID: settings.swarmID)
        fabric.state[i] = .online
        peers[i].busyUntil = now
        var joinVia = seeds
        for m in cp?.known ?? [] where !joinVia.contains(m.address) { joinVia.append(m.address) }
        asPeer(i) { w in
            let out = w.peer.pointee.core!.onStart(seeds: joinVia, now: w.instant)
            w.perform(out, at: w.now, replyTo: nil)
        }
    }

    private mutating func stop(_ i: Int, graceful: Bool) {
        if peers[i].pendingStart {
            // Stopped before its first start (the scenario counts it as running from time 0).
            peers[i].pendingStart = false
            fabric.state[i] = graceful ? .left : .crashed
            return
        }
        guard fabric.state[i] == .online else { return }
        asPeer(i) { w in
            let out = w.peer.pointee.core!.onStop(graceful: graceful, now: w.instant)
            w.perform(out, at: w.now, replyTo: nil)
        }
        retired.add(peers[i].core!.gossip.counters)
        fabric.state[i] = graceful ? .left : .crashed
        fabric.generation[i] &+= 1
        peers[i].core = nil
    }

    private mutating func apply(_ e: ScenarioEvent) {
        switch scenarioState.onEvent(e, swarmSize: peers.count) {
        case .stop(let list, let graceful): for p in list { stop(p, graceful: graceful) }
        case .start(let list, let fresh): for p in list { start(p, fresh: fresh || peers[p].checkpoint == nil) }
        case .conditionsChanged:
            fabric.group = scenarioState.groups.map { $0.map { Int32($0) } }
            fabric.loss = scenarioState.loss
        case .stragglersChanged(let list):
            for p in list {
                guard let s = scenarioState.straggle(of: p) else { continue }
                fabric.slowdown[p] = s.slowdown
                peers[p].core?.onSlowdown(s.slowdown)
                fabric.linkFactor[p] = s.linkDelayFactor
                fabric.extraDelay[p] = s.extraLinkDelay.wholeNanoseconds
            }
        case .nothing: break
        }
    }

    /// The exact size of `message`'s frame as `WireCodec` encodes it for a stream (unsealed: checksum, no tag).
    public static func frameSize(_ message: Message) -> Int {
        guard let n = WireCodec.modelFrameBytes(message, sealed: false) else { preconditionFailure("frameSize is for model messages") }
        return n
    }
}
