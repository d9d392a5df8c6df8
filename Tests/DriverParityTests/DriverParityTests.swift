import Dispatch
import Foundation
import GossipProtocol
import GossipSimulator
import NodeRuntime
import PeerCore
import RecommenderModel
import SwarmSpec
import Testing

// One peer core, two drivers: the same scenario (planted swarm, settings, seeds, partner mode, profile) runs as
// real peers on loopback (`PeerNode`, `NodeHost`, `ScenarioDriver`) and in the simulator (`EventSimulation`), and
// the same checks are applied to the partner choices each driver shows. The node part is bounded by polls of a
// few seconds; the simulator part is deterministic (its seed is printed on failure).

/// The scenario both drivers run: 12 planted users in 3 taste groups (user u in group u % 3), fast timers.
struct ParityScenario {
    static let peers = 12
    static let groups = 3
    static let seed: UInt64 = 3
    static func group(_ u: Int) -> Int { u % groups }

    /// How peers pick partners, as each driver is told it.
    enum Mode {
        case random
        /// Static mode along a topology's edges.
        case fixed(Topology)
        case clientGraph(ClientGraphSettings)
    }

    let split: LeaveOneOutSplit
    let config: TrainingConfig
    let gossip: GossipSettings
    let membership: MembershipSettings
    let mode: Mode
    /// A `Scenario` text; its timeline starts when the swarm starts.
    let profile: String

    init(mode: Mode, profile: String = "") throws {
        let log = SyntheticData.planted(users: Self.peers, items: 48, groups: Self.groups, perUser: 10, seed: 13)
        split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 4)
        var c = TrainingConfig()
        c.dimension = 8
        c.optimizer = .sgd
        c.learningRate = 0.3
        c.l2 = 0.001
        config = c
        var g = GossipSettings()
        g.period = .milliseconds(30)
        g.evaluationPeriod = .milliseconds(500)
        gossip = g
        var m = MembershipSettings()
        m.protocolPeriod = .milliseconds(200)
        m.pingTimeout = .milliseconds(60)
        m.shufflePeriod = .milliseconds(200)
        membership = m
        self.mode = mode
        self.profile = profile
    }

    var timeline: [ScenarioEvent] {
        get throws { try Scenario.parse(text: profile).timeline(peers: Self.peers, duration: .seconds(60), seed: Self.seed) }
    }
}

/// What a driver showed over an observation window: per running peer, the exchanges it started, by partner, and
/// how many live members it had when the window opened.
struct Observed {
    var driver: String
    var started: [Int: [Int: Int]] = [:]
    var liveAtMark: [Int: Int] = [:]
    /// Exchanges started before the window by all peers, by partner.
    var startedBeforeMark: [Int: Int] = [:]

    /// The share of exchanges started with a peer of the starter's own taste group.
    var sameGroupShare: Double {
        var same = 0, all = 0
        for (p, partners) in started {
            for (q, n) in partners {
                all += n
                if ParityScenario.group(q) == ParityScenario.group(p) { same += n }
            }
        }
        return Double(same) / Double(max(1, all))
    }
}

// MARK: - The node on loopback

/// Collects JSON lines from peers' queues.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.withLock { items.append(s) } }
    var all: [String] { lock.withLock { items } }
}

/// Polls the host every 100 ms until `done` holds or `timeout` seconds pass; returns the last snapshots.
func poll(_ host: NodeHost, timeout: TimeInterval, until done: ([PeerSnapshot]) -> Bool) -> [PeerSnapshot] {
    let deadline = Date().addingTimeInterval(timeout)
    var snaps: [PeerSnapshot] = []
    repeat {
        Thread.sleep(forTimeInterval: 0.1)
        snaps = host.snapshots()
    } while Date() < deadline && !done(snaps)
    return snaps
}

extension ParityScenario {
    /// Runs the scenario as real peers on 127.0.0.1 until `mark` holds (at most 10 s), then until every peer then
    /// running has started `exchanges` more exchanges (at most 10 s); stops every peer, closing its sockets.
    /// `lines` receives the peers' JSON lines.
    func runOnNode(mark: @escaping ([PeerSnapshot]) -> Bool, exchanges: Int, lines: Lines = Lines()) throws -> Observed {
        var nodes: [PeerNode] = []
        for u in 0..<Self.peers {
            let learner = PeerLearner(shard: split.shards[u], config: config, tableSeed: SeedScheme.table(Self.seed),
                                      peerSeed: SeedScheme.user(Self.seed, u))
            var pc = PeerConfig(id: PeerID(UInt64(u)), listen: .loopbackIPv4(port: 0), seeds: nodes.first.map { [$0.address] } ?? [],
                                swarmID: 11, seed: SeedScheme.peer(Self.seed, user: u, start: 1))
            pc.peer.gossip = gossip
            pc.peer.membership = membership
            if case .clientGraph(let cg) = mode { pc.peer.partners = .clientGraph(cg) }
            nodes.append(try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                      sink: { lines.add($0) }))
        }
        if case .fixed(let topology) = mode {
            for (u, n) in nodes.enumerated() {
                n.useStaticNeighbours(topology.neighbourIndices(of: u).map { Neighbour(PeerID(UInt64($0)), nodes[$0].address) })
            }
        }
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        let driver = try ScenarioDriver(host: host, timeline: timeline, first: 0) { _ in }
        host.start()
        driver.start()
        defer {
            driver.cancel()
            host.stop()
        }
        let atMark = poll(host, timeout: 10, until: mark)
        #expect(mark(atMark), "node: the window never opened: \(atMark.map { ($0.peer.raw, $0.livePeers) })")
        let before = Dictionary(uniqueKeysWithValues: atMark.map { ($0.peer, $0.stats.partners) })
        func startedSinceMark(_ s: PeerSnapshot) -> Int {
            s.stats.partners.values.reduce(0, +) - (before[s.peer]?.values.reduce(0, +) ?? 0)
        }
        let atEnd = poll(host, timeout: 10) { snaps in
            snaps.filter { before[$0.peer] != nil }.allSatisfy { startedSinceMark($0) >= exchanges }
        }
        var o = Observed(driver: "node")
        for s in atMark {
            o.liveAtMark[Int(s.peer.raw)] = s.livePeers
            for (q, n) in s.stats.partners { o.startedBeforeMark[Int(q.raw), default: 0] += n }
        }
        for s in atEnd {
            guard let b = before[s.peer] else { continue }
            var window: [Int: Int] = [:]
            for (q, n) in s.stats.partners where n > b[q, default: 0] { window[Int(q.raw)] = n - b[q, default: 0] }
            o.started[Int(s.peer.raw)] = window
            #expect(startedSinceMark(s) >= exchanges, "node: peer \(s.peer.raw) started \(startedSinceMark(s)) exchanges in the window")
        }
        return o
    }
}

// MARK: - The simulator

extension ParityScenario {
    /// Runs the scenario in the simulator (seed `seed`) and observes the window from `mark` to `end` (virtual time).
    func runOnSimulator(mark: Duration, end: Duration) throws -> Observed {
        var s = EventSimulation.Settings()
        s.seed = Self.seed
        s.duration = end
        s.gossip = gossip
        s.membership = membership
        s.threads = 1
        s.startSpread = .milliseconds(100)   // the node starts its peers together
        switch mode {
        case .random: s.partners = .random
        case .fixed(let t): s.partners = .neighbours((0..<Self.peers).map { t.neighbourIndices(of: $0) })
        case .clientGraph(let cg): s.partners = .clientGraph(cg)
        }
        var sim = EventSimulation(shards: split.shards, config: config, merge: WeightedAverageMerge(),
                                  scenario: try Scenario.parse(text: profile), settings: s)
        sim.run(until: mark)
        var o = Observed(driver: "simulator (seed \(Self.seed))")
        var before: [Int: [PeerID: Int]] = [:]
        for i in 0..<Self.peers {
            guard let live = sim.livePeers(of: i) else { continue }
            o.liveAtMark[i] = live.count
            before[i] = sim.partners(of: i)
        }
        for i in 0..<Self.peers {
            for (q, n) in sim.partners(of: i) { o.startedBeforeMark[Int(q.raw), default: 0] += n }
        }
        _ = sim.run()
        for (i, b) in before where sim.isOnline(i) {
            var window: [Int: Int] = [:]
            for (q, n) in sim.partners(of: i) where n > b[q, default: 0] { window[Int(q.raw)] = n - b[q, default: 0] }
            o.started[i] = window
        }
        return o
    }
}

// MARK: - The same checks for both

@Suite(.serialized) struct DriverParityTests {
    /// Exchanges each peer must start in the node's window; the simulator's 2 s windows hold 30 to 40.
    static let windowExchanges = 20

    @Test func inRandomModePartnersComeOnlyFromThePeersLiveMembers() throws {
        // Peers 10 and 11 leave gracefully at 1 s: from the window on, everyone else counts nine live members
        // and never picks a departed peer; random picks spread over the view, whatever the taste.
        let scenario = try ParityScenario(mode: .random, profile: "at 1s leave peers 10,11")
        let survivors = Set(0..<10)
        let node = try scenario.runOnNode(mark: { snaps in snaps.count == 10 && snaps.allSatisfy { $0.livePeers == 9 } },
                                          exchanges: Self.windowExchanges)
        let sim = try scenario.runOnSimulator(mark: .seconds(3), end: .seconds(5))
        for o in [node, sim] {
            #expect(Set(o.started.keys) == survivors, "\(o.driver): running peers \(o.started.keys.sorted())")
            #expect(o.startedBeforeMark[10, default: 0] > 0 && o.startedBeforeMark[11, default: 0] > 0,
                    "\(o.driver): peers 10 and 11 were partners before they left: \(o.startedBeforeMark.sorted { $0.key < $1.key })")
            for (p, partners) in o.started.sorted(by: { $0.key < $1.key }) {
                #expect(o.liveAtMark[p] == 9, "\(o.driver): peer \(p) had \(o.liveAtMark[p] ?? -1) live members")
                #expect(Set(partners.keys).isSubset(of: survivors.subtracting([p])),
                        "\(o.driver): peer \(p) picked \(partners.keys.sorted()); its live members are \(survivors.subtracting([p]).sorted())")
                #expect(partners.count >= 4, "\(o.driver): peer \(p) picked only \(partners.keys.sorted())")
            }
            #expect(o.sameGroupShare < 0.45, "\(o.driver): \(o.sameGroupShare) of random partners share the taste group (expected about 0.26)")
        }
    }

    @Test func inStaticModeEveryExchangeFollowsATopologyEdgeAndEveryNeighbourIsUsed() throws {
        let ring = try Topology.ring(peers: ParityScenario.peers)
        let scenario = try ParityScenario(mode: .fixed(ring))
        let node = try scenario.runOnNode(mark: { $0.count == ParityScenario.peers }, exchanges: Self.windowExchanges)
        let sim = try scenario.runOnSimulator(mark: .seconds(1), end: .seconds(3))
        for o in [node, sim] {
            #expect(o.started.count == ParityScenario.peers, "\(o.driver): \(o.started.count) peers observed")
            for (p, partners) in o.started.sorted(by: { $0.key < $1.key }) {
                let edges = Set(ring.neighbourIndices(of: p))
                #expect(Set(partners.keys) == edges, "\(o.driver): peer \(p) gossiped with \(partners.keys.sorted()), its ring neighbours are \(edges.sorted())")
            }
        }
    }

    @Test func inClientGraphModePartnersShareTheTasteGroupFarMoreOftenThanRandomOnes() throws {
        // Three others in a peer's group of four: a random partner shares it 3 times in 11 (0.27). Once every
        // client graph is full (3 neighbours), partners are mostly its similar neighbours, plus 10% exploration.
        var cg = ClientGraphSettings()
        cg.neighbours = 3
        cg.exploration = 0.1
        cg.refreshPeriod = .milliseconds(300)
        cg.disclosure.decoyRatio = 1
        let scenario = try ParityScenario(mode: .clientGraph(cg))
        let lines = Lines()
        let node = try scenario.runOnNode(mark: { snaps in
            snaps.count == ParityScenario.peers && snaps.allSatisfy { ($0.clientGraph?.edges.edges.count ?? 0) >= 3 }
        }, exchanges: Self.windowExchanges, lines: lines)
        let sim = try scenario.runOnSimulator(mark: .seconds(3), end: .seconds(5))
        for o in [node, sim] {
            #expect(o.started.count == ParityScenario.peers, "\(o.driver): \(o.started.count) peers observed")
            #expect(o.sameGroupShare > 0.6, "\(o.driver): \(o.sameGroupShare) of client-graph partners share the taste group (random: 0.27)")
        }
        // The node's final lines carry each peer's learned graph, for `gossiprec topology from-logs`.
        #expect(lines.all.filter { $0.contains("\"event\":\"stop\"") && $0.contains("\"client_graph\"") }.count == ParityScenario.peers)
    }
}
