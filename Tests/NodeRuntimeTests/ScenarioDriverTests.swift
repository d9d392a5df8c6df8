import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SwarmSpec
import Testing
@testable import NodeRuntime
import PeerCore

/// A churn profile applied to real peers in one process: kills, restarts from checkpoints, a straggler.
@Suite(.serialized) struct ScenarioDriverTests {
    @Test func aProfileKillsRestartsAndSlowsRealPeers() throws {
        let log = SyntheticData.planted(users: 12, items: 48, groups: 3, perUser: 10, seed: 4)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 9)
        let root = NSTemporaryDirectory() + "gossiprec-scenario-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let profile = """
        stragglers peers 7 slowdown 5x
        at 2500ms kill peers 2,5
        at 3500ms restart peers 2,5
        at 0s loss 5%
        """
        let scenario = try Scenario.parse(text: profile, file: "test.profile")
        let timeline = scenario.timeline(peers: 12, duration: .seconds(10), seed: 1)
        #expect(timeline.contains { $0.action == .kill && $0.peers == [2, 5] })

        let lines = Lines()
        let ports = PortBook()
        let (cfg, gs, ms) = fastTestSettings(period: .milliseconds(40))
        let host = try NodeHost(slotCount: 12, online: Array(0..<12), log: try LineWriter(path: nil)) { slot, seeds in
            var learner = PeerLearner(shard: split.shards[slot], config: cfg, tableSeed: 99, peerSeed: UInt64(slot) + 1)
            let c = CheckpointSettings(directory: root + "/peer-\(slot)", identity: "t \(slot)", period: .milliseconds(150))
            let restored = PeerCheckpointing.restore(&learner, settings: c)
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
        let notes = Lines()
        let driver = try ScenarioDriver(host: host, timeline: timeline, first: 0) { notes.add($0) }
        host.start()
        driver.start()
        let t0 = Date()
        // Every peer has checkpointed well before the kill at 2.5 s (period 150 ms).
        let early = pollSnapshots(host, timeout: 2) { snaps in snaps.allSatisfy { $0.stats.checkpointsSaved >= 2 } }
        #expect(early.allSatisfy { $0.stats.checkpointsSaved >= 2 }, "checkpoints before the kill: \(early.map(\.stats.checkpointsSaved))")
        Thread.sleep(forTimeInterval: max(0, 3.0 - Date().timeIntervalSince(t0)))
        #expect(host.peer(inSlot: 2) == nil && host.peer(inSlot: 5) == nil, "killed at 2.5 s")
        Thread.sleep(forTimeInterval: max(0, 3.7 - Date().timeIntervalSince(t0)))   // restarted at 3.5 s
        let snaps = pollSnapshots(host, timeout: 15) { snaps in
            snaps.count == 12 && snaps.filter { [2, 5].contains($0.peer.raw) }.allSatisfy { $0.counters.exchangesCompleted >= 3 }
        }
        driver.cancel()
        host.stop()
        let counts = driver.countsSnapshot
        #expect(counts.kills == 2 && counts.restarts == 2 && counts.stragglers == 1, "\(counts)")
        #expect(snaps.count == 12, "all peers online again")
        // Restarted peers resumed from their checkpoints and took part again.
        #expect(lines.all.filter { $0.hasPrefix("restored 2 ") || $0.hasPrefix("restored 5 ") }.count == 2, "\(lines.all.filter { $0.hasPrefix("restored") || $0.hasPrefix("fresh") })")
        for s in snaps where [2, 5].contains(s.peer.raw) {
            #expect(s.counters.exchangesCompleted >= 3, "peer \(s.peer) after restart")
        }
        // The straggler's rounds came about 5 times less often than the healthy peers'.
        let healthy = snaps.filter { ![2, 5, 7].contains($0.peer.raw) }.map { Double($0.round) }.sorted()
        let straggler = try #require(snaps.first { $0.peer.raw == 7 })
        #expect(Double(straggler.round) < 0.5 * healthy[healthy.count / 2], "straggler round \(straggler.round), healthy median \(healthy[healthy.count / 2])")
        // The datagram loss was injected.
        #expect(snaps.map { $0.stats.dropped["fault_injected", default: 0] }.reduce(0, +) > 0)
        #expect(notes.all.contains { $0.hasPrefix("kill 2 peers") })
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
        let scenario = try Scenario.parse(text: "at 1500ms partition 0-3 | 4-7\nat 5s heal", file: "p.profile")
        let timeline = scenario.timeline(peers: 8, duration: .seconds(20), seed: 1)
        let ports = PortBook()
        let (cfg, gs, fast) = fastTestSettings(period: .milliseconds(40))
        var ms = fast
        ms.rejoinInterval = .seconds(1)   // after the heal, the far side is re-learned through the seed
        let membership = ms
        let host = try NodeHost(slotCount: 8, online: Array(0..<8), log: try LineWriter(path: nil)) { slot, seeds in
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
        driver.start()
        let t0 = Date()
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
        func sleep(until t: TimeInterval) { Thread.sleep(forTimeInterval: max(0, t - Date().timeIntervalSince(t0))) }
        sleep(until: 1.4)
        let before = completions()
        #expect(before.cross > 0, "exchanges crossed before the partition: \(before)")
        sleep(until: 2.0)   // exchanges open at 1.5 s have ended (they run to completion)
        let cut = completions()
        sleep(until: 4.8)
        let during = completions()
        #expect(during.cross == cut.cross, "an exchange crossed the partition: \(cut) -> \(during)")
        #expect(during.same > cut.same + 20, "each side kept exchanging: \(cut) -> \(during)")
        let dropped = host.snapshots().map { $0.stats.dropped["partitioned", default: 0] }
        #expect(dropped.allSatisfy { $0 > 0 }, "every peer had traffic held back: \(dropped)")
        #expect(notes.all.contains { $0.hasPrefix("partition into 2 groups of 4, 4") })
        // After the heal (5 s) the sides find each other again and exchange.
        var after = during
        while Date().timeIntervalSince(t0) < 20 && after.cross < during.cross + 10 {
            Thread.sleep(forTimeInterval: 0.2)
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
