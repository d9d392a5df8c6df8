import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SocketTransport
import Testing
@testable import NodeRuntime

/// Open descriptors of this process (Linux: entries of /proc/self/fd).
func openDescriptorCount() -> Int {
    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? -1
}

/// Collects JSON lines from peers' queues.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

/// Builds `count` peers over a planted split on 127.0.0.1 with fast timers; the first is everyone's seed.
func makeSwarm(split: LeaveOneOutSplit, count: Int, period: Duration, lines: Lines,
               configure: (inout PeerConfig) -> Void = { _ in }) throws -> [PeerNode] {
    var config = TrainingConfig()
    config.dimension = 8
    config.optimizer = .sgd
    config.learningRate = 0.3
    config.l2 = 0.001
    var gossip = GossipSettings()
    gossip.period = period
    gossip.evaluationPeriod = .milliseconds(200)
    var membership = MembershipSettings()
    membership.protocolPeriod = .milliseconds(200)
    membership.pingTimeout = .milliseconds(60)
    membership.shufflePeriod = .milliseconds(200)
    var nodes: [PeerNode] = []
    for u in 0..<count {
        let learner = PeerLearner(shard: split.shards[u], config: config, tableSeed: 99, peerSeed: UInt64(u) + 1)
        var pc = PeerConfig(id: PeerID(UInt64(u)), listen: .loopbackIPv4(port: 0), seeds: nodes.first.map { [$0.address] } ?? [],
                            swarmID: 7, gossip: gossip, seed: UInt64(u) * 31 + 5)
        pc.membership = membership
        configure(&pc)
        nodes.append(try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                  sink: { lines.add($0) }))
    }
    return nodes
}

@Suite(.serialized) struct LoopbackSwarmTests {
    @Test func aSmallLoopbackSwarmLearnsPlantedTastesBeyondPopularityAndClosesEverything() throws {
        let fdsBefore = openDescriptorCount()
        let log = SyntheticData.planted(users: 20, items: 60, groups: 4, perUser: 12, seed: 11)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 5)
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        let lines = Lines()
        let nodes = try makeSwarm(split: split, count: 20, period: .milliseconds(40), lines: lines)
        #expect(openDescriptorCount() >= fdsBefore + 40, "each peer holds a UDP and a TCP socket")
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        // Bounded wait: poll until the swarm's mean HR@10 clearly beats popularity, at most 20 s.
        let deadline = Date().addingTimeInterval(20)
        var summary = SwarmSummary([])
        repeat {
            Thread.sleep(forTimeInterval: 0.5)
            summary = SwarmSummary(host.snapshots())
        } while Date() < deadline && !(summary.evaluated == 20 && summary.hr10 >= pop.hitRate + 0.3)
        let t0 = Date()
        host.stop()
        let stopSeconds = Date().timeIntervalSince(t0)
        #expect(summary.evaluated == 20)
        #expect(summary.hr10 >= pop.hitRate + 0.3, "swarm HR@10 \(summary.hr10) vs ItemPop \(pop.hitRate)")
        #expect(summary.exchangesCompleted > 0)
        #expect(stopSeconds < 1.5, "stopping took \(stopSeconds) s")
        // Every peer wrote a final line, and no model message was dropped as malformed.
        let stops = lines.all.filter { $0.contains("\"event\":\"stop\"") }
        #expect(stops.count == 20)
        #expect(!lines.all.contains { $0.contains("bad_checksum") || $0.contains("non_finite") })
        // Sockets are closed asynchronously on each peer's queue after its watchers are cancelled.
        var fdsAfter = openDescriptorCount()
        for _ in 0..<50 where fdsAfter > fdsBefore { Thread.sleep(forTimeInterval: 0.05); fdsAfter = openDescriptorCount() }
        #expect(fdsAfter <= fdsBefore, "descriptors before \(fdsBefore), after \(fdsAfter)")
    }

    @Test func aPeerThatAcceptsAndNeverAnswersDoesNotStallTheOthers() throws {
        let log = SyntheticData.planted(users: 8, items: 40, groups: 2, perUser: 10, seed: 3)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
        let lines = Lines()
        let nodes = try makeSwarm(split: split, count: 8, period: .milliseconds(30), lines: lines, configure: { pc in
            pc.gossip.exchangeTimeout = .milliseconds(400)
            pc.streamLimits.idleTimeout = .milliseconds(300)
            if pc.id == PeerID(3) { pc.faults.silentModelStreams = true }
        })
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        Thread.sleep(forTimeInterval: 2.5)
        let snaps = host.snapshots()
        host.stop()
        let healthy = snaps.filter { $0.peer != PeerID(3) }
        // Rounds never wait on an exchange: at a 30 ms period, 2.5 s gives ~80 rounds; a peer blocked on the
        // silent one for its 400 ms deadline each time would manage far fewer.
        let minRound = healthy.map(\.round).min() ?? 0
        #expect(minRound >= 40, "slowest healthy peer reached round \(minRound)")
        // Exchanges with the silent peer fail by deadline; the others complete.
        let failed = healthy.map(\.counters.exchangesFailed).reduce(0, +)
        let completed = healthy.map(\.counters.exchangesCompleted).reduce(0, +)
        #expect(failed > 0, "some exchanges must have hit the silent peer and failed")
        #expect(completed > 3 * failed, "completed \(completed), failed \(failed): 1 partner in 7 is silent")
    }
}
