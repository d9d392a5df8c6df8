import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SwarmSpec
import Testing
@testable import NodeRuntime
import PeerCore

/// A churn profile applied to real peers in one process by `ScenarioDriver`: what only the node can show, that
/// each event is carried out on real peers (a kill stops a node, a restart builds a new one on the same port from
/// its checkpoint directory, loss and slowdown reach the peers' fault injection and core, a partition fills and
/// empties their unreachable sets). What the events make peers decide is tested in the simulator
/// (GossipSimulatorTests, ScenarioDecisionTests).
@Suite(.serialized) struct ScenarioDriverTests {
    @Test func aProfileKillsRestartsAndSlowsRealPeers() throws {
        let log = SyntheticData.planted(users: 12, items: 48, groups: 3, perUser: 10, seed: 4)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 9)
        let root = NSTemporaryDirectory() + "gossiprec-scenario-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        // Times count from `driver.start()`, which waits until every peer has checkpointed.
        let profile = """
        stragglers peers 7 slowdown 5x
        at 300ms kill peers 2,5
        at 600ms restart peers 2,5
        at 0s loss 5%
        """
        let scenario = try Scenario.parse(text: profile, file: "test.profile")
        let timeline = scenario.timeline(peers: 12, duration: .seconds(10), seed: 1)
        #expect(timeline.contains { $0.action == .kill && $0.peers == [2, 5] })

        let lines = Lines()
        let ports = PortBook()
        let (cfg, gs, ms) = fastTestSettings(period: .milliseconds(40))
        let host = try NodeHost(slotCount: 12, online: Array(0..<12), log: try LineWriter(path: nil)) { slot, seeds, fresh in
            var learner = PeerLearner(shard: split.shards[slot], config: cfg, tableSeed: 99, peerSeed: UInt64(slot) + 1)
            let c = CheckpointSettings(directory: root + "/peer-\(slot)", identity: "t \(slot)", period: .milliseconds(100))
            if fresh { lines.add("newcomer \(slot)") }   // as NodeCommand.makePeer: a joining peer does not resume
            let restored = fresh ? PeerCheckpointing.Restored.notLoaded : PeerCheckpointing.restore(&learner, settings: c)
            if restored.source != .none { lines.add("restored \(slot) round \(restored.round)") } else { lines.add("fresh \(slot): \(restored.summary)") }
            var pc = PeerConfig(id: PeerID(UInt64(slot)), listen: .loopbackIPv4(port: ports.port(of: slot)),
                                seeds: restored.seeds + seeds, swarmID: 9, seed: UInt64(slot) * 7 + 1)
            pc.peer.gossip = gs
            pc.peer.membership = ms
            pc.checkpoint = c
            let node = try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                    sink: { lines.add($0) })
            ports.remember(slot, node.address.port)
            return node
        }
        let first = (0..<12).map { host.peer(inSlot: $0) }
        let firstPorts = first.map { $0?.address.port }
        let notes = Lines()
        let driver = try ScenarioDriver(host: host, timeline: timeline, first: 0) { notes.add($0) }
        host.start()
        defer { driver.cancel(); host.stop() }
        let checkpointed = pollSnapshots(host, timeout: 10, interval: 0.1) { snaps in
            snaps.count == 12 && snaps.allSatisfy { $0.stats.checkpointsSaved >= 2 }
        }
        #expect(checkpointed.allSatisfy { $0.stats.checkpointsSaved >= 2 }, "checkpoints before the kill: \(checkpointed.map(\.stats.checkpointsSaved))")
        let roundsAtStart = Dictionary(uniqueKeysWithValues: checkpointed.map { ($0.peer, $0.round) })
        driver.start()
        let restarted = { (slot: Int) in host.peer(inSlot: slot).map { $0 !== first[slot] } ?? false }
        let snaps = pollSnapshots(host, timeout: 15, interval: 0.1) { snaps in
            snaps.count == 12 && restarted(2) && restarted(5)
                && snaps.filter { [2, 5].contains($0.peer.raw) }.allSatisfy { $0.counters.exchangesCompleted >= 3 }
        }
        let counts = driver.countsSnapshot
        #expect(counts.kills == 2 && counts.restarts == 2 && counts.stragglers == 1, "\(counts)")
        #expect(notes.all.contains { $0.hasPrefix("kill 2 peers") })
        #expect(!lines.all.contains { $0.hasPrefix("newcomer") }, "a restart is not a newcomer")
        #expect(snaps.count == 12, "all peers online again")
        // Killed peers were replaced by new nodes on their old ports, resumed from their checkpoints, and took part again.
        for slot in [2, 5] {
            #expect(restarted(slot), "slot \(slot) holds a new node")
            #expect(host.peer(inSlot: slot)?.address.port == firstPorts[slot], "slot \(slot) came back on its port")
        }
        #expect(lines.all.filter { $0.hasPrefix("restored 2 ") || $0.hasPrefix("restored 5 ") }.count == 2, "\(lines.all.filter { $0.hasPrefix("restored") || $0.hasPrefix("fresh") })")
        for s in snaps where [2, 5].contains(s.peer.raw) {
            #expect(s.counters.exchangesCompleted >= 3, "peer \(s.peer) after restart")
        }
        // The straggler's slowdown reached its core: since the profile started, its rounds came far less often.
        let healthy = snaps.filter { ![2, 5, 7].contains($0.peer.raw) }.map { Double($0.round - roundsAtStart[$0.peer]!) }.sorted()
        let straggler = try #require(snaps.first { $0.peer.raw == 7 })
        let slow = Double(straggler.round - roundsAtStart[straggler.peer]!)
        #expect(slow < 0.5 * healthy[healthy.count / 2], "straggler: \(slow) rounds, healthy median \(healthy[healthy.count / 2])")
        // The datagram loss reached the peers' fault injection.
        #expect(snaps.map { $0.stats.dropped["fault_injected", default: 0] }.reduce(0, +) > 0)
    }

    @Test func partitionsWithoutPeerAddressesAreRejectedWithAReason() throws {
        let scenario = try Scenario.parse(text: "at 5s partition 0-2 | 3-5\nat 9s heal", file: "p.profile")
        let host = NodeHost(peers: [], log: try LineWriter(path: nil))
        #expect(throws: ScenarioDriver.DriverError.self) {
            _ = try ScenarioDriver(host: host, timeline: scenario.timeline(peers: 6, duration: .seconds(10)), first: 0) { _ in }
        }
    }

    @Test func aPartitionCutsTrafficBetweenGroupsOnOneLoopbackAddressUntilHealed() throws {
        let log = SyntheticData.planted(users: 8, items: 32, groups: 2, perUser: 8, seed: 4)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 10, seed: 9)
        // Times count from `driver.start()`, once exchanges cross between the sides.
        let scenario = try Scenario.parse(text: "at 200ms partition 0-3 | 4-7\nat 2500ms heal", file: "p.profile")
        let timeline = scenario.timeline(peers: 8, duration: .seconds(20), seed: 1)
        let ports = PortBook()
        let (cfg, gs, fast) = fastTestSettings(period: .milliseconds(40))
        var ms = fast
        ms.rejoinInterval = .seconds(1)   // should the sides declare each other dead, a seed brings them back together
        let membership = ms
        let host = try NodeHost(slotCount: 8, online: Array(0..<8), log: try LineWriter(path: nil)) { slot, seeds, _ in
            let learner = PeerLearner(shard: split.shards[slot], config: cfg, tableSeed: 99, peerSeed: UInt64(slot) + 1)
            var pc = PeerConfig(id: PeerID(UInt64(slot)), listen: .loopbackIPv4(port: ports.port(of: slot)), seeds: seeds,
                                swarmID: 9, seed: UInt64(slot) * 7 + 1)
            pc.peer.gossip = gs
            pc.peer.membership = membership
            let node = try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                    sink: { _ in })
            ports.remember(slot, node.address.port)
            return node
        }
        let notes = Lines()
        let driver = try ScenarioDriver(host: host, timeline: timeline, first: 0, swarmSize: 8,
                                        address: { u in PeerAddress.ipv4(127, 0, 0, 1, port: ports.port(of: u)) }) { notes.add($0) }
        host.start()
        defer { driver.cancel(); host.stop() }
        func side(_ p: PeerID) -> Int { p.raw < 4 ? 0 : 1 }
        /// Exchanges completed (by the pusher) with a peer of the same side and of the other side.
        func completions() -> (same: Int, cross: Int) {
            var same = 0, cross = 0
            for s in host.snapshots() {
                for (q, n) in s.stats.completedWith { if side(q) == side(s.peer) { same += n } else { cross += n } }
            }
            return (same, cross)
        }
        var before = completions()
        let deadline = Date().addingTimeInterval(10)
        while before.cross == 0 && Date() < deadline { Thread.sleep(forTimeInterval: 0.1); before = completions() }
        #expect(before.cross > 0, "exchanges crossed before the partition: \(before)")
        driver.start()
        let t0 = Date()
        func sleep(until t: TimeInterval) { Thread.sleep(forTimeInterval: max(0, t - Date().timeIntervalSince(t0))) }
        sleep(until: 0.6)   // exchanges open at 200 ms have ended (they run to completion)
        let cut = completions()
        sleep(until: 1.5)
        let during = completions()
        let sampled = Date().timeIntervalSince(t0)
        #expect(sampled < 2.5, "the sample during the partition came after the heal, at \(sampled) s")
        #expect(during.cross == cut.cross, "an exchange crossed the partition: \(cut) -> \(during)")
        #expect(during.same > cut.same + 10, "each side kept exchanging: \(cut) -> \(during)")
        let dropped = host.snapshots().map { $0.stats.dropped["partitioned", default: 0] }
        #expect(dropped.allSatisfy { $0 > 0 }, "every peer had traffic held back: \(dropped)")
        #expect(notes.all.contains { $0.hasPrefix("partition into 2 groups of 4, 4") })
        // After the heal the unreachable sets are empty again and exchanges cross.
        sleep(until: 2.5)
        var after = completions()
        while Date().timeIntervalSince(t0) < 12 && after.cross < during.cross + 10 {
            Thread.sleep(forTimeInterval: 0.1)
            after = completions()
        }
        #expect(after.cross >= during.cross + 10, "exchanges crossed again after the heal: \(during) -> \(after)")
        #expect(notes.all.contains("heal the partition"))
    }
}

/// Ports of slots: a restarted peer binds the port its predecessor had (0 before the first bind).
final class PortBook: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: [Int: UInt16] = [:]
    func port(of slot: Int) -> UInt16 { lock.withLock { ports[slot] ?? 0 } }
    func remember(_ slot: Int, _ port: UInt16) { lock.withLock { ports[slot] = port } }
}
