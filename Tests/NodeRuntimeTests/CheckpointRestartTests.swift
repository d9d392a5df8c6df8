import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import Testing
@testable import NodeRuntime

/// Crash and restart inside one process: a third of the peers stop without a leave message or final checkpoint
/// (as after SIGKILL), and come back from their last periodic checkpoint files on the same ports, with no seed
/// address. What only real files and sockets show: a torn newest file falls back to the previous one, the port is
/// bound again, and the peers the files kept are reachable. (That a restarted peer resumes and rejoins through the
/// members it kept is a decision, tested in the simulator: ScenarioDecisionTests.)
@Suite(.serialized) struct CheckpointRestartTests {
    @Test func crashedPeersResumeFromTheirCheckpointsAndRejoinWithoutASeed() throws {
        let log = SyntheticData.planted(users: 9, items: 60, groups: 3, perUser: 12, seed: 8)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 2)
        let root = NSTemporaryDirectory() + "gossiprec-ckpt-\(UInt32.random(in: 0...UInt32.max))"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let settings = { (u: Int) in CheckpointSettings(directory: root + "/peer-\(u)", identity: "test user \(u)", period: .milliseconds(100)) }
        let lines = Lines()
        let config = fastTestSettings(period: .milliseconds(40)).config
        let learner = { (u: Int) in PeerLearner(shard: split.shards[u], config: config, tableSeed: 99, peerSeed: UInt64(u) + 1) }
        let nodes = try makeSwarm(split: split, count: 9, period: .milliseconds(40), lines: lines) { pc in
            pc.checkpoint = settings(Int(pc.id.raw))
        }
        var host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        // Until every peer has trained (a starting peer waits up to three rounds for a first merge, longer under load)
        // and then checkpointed twice more, so that both checkpoint.bin and checkpoint.prev hold a trained model.
        let trained = pollSnapshots(host, timeout: 20, interval: 0.1) { snaps in snaps.count == 9 && snaps.allSatisfy { $0.round >= 1 } }
        let savedWhenTrained = Dictionary(uniqueKeysWithValues: trained.map { ($0.peer, $0.stats.checkpointsSaved) })
        _ = pollSnapshots(host, timeout: 20, interval: 0.1) { snaps in
            snaps.allSatisfy { $0.stats.checkpointsSaved >= (savedWhenTrained[$0.peer] ?? 0) + 2 }
        }
        let crashed = [1, 4, 7]
        let done = DispatchGroup()
        for u in crashed { done.enter(); nodes[u].stop(graceful: false) { done.leave() } }
        #expect(done.wait(timeout: .now() + 5) == .success)
        let roundsAtCrash = host.snapshots().filter { crashed.contains(Int($0.peer.raw)) }.map(\.round)
        // One peer's newest checkpoint is torn: it must be detected, reported and not loaded.
        let torn = root + "/peer-4/checkpoint.bin"
        let bytes = try #require(FileManager.default.contents(atPath: torn))
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: torn))

        var restarted: [PeerNode] = []
        for u in crashed {
            var l = learner(u)
            let restored = PeerCheckpointing.restore(&l, settings: settings(u))
            #expect(restored.source == (u == 4 ? .previous : .current), "peer \(u): \(restored.summary)")
            #expect(restored.round > 0, "peer \(u) resumes trained, not from scratch")
            #expect(!restored.seeds.isEmpty, "peer \(u) knows whom to rejoin through")
            if u == 4 {
                #expect(restored.rejected.count == 1 && restored.rejected[0].path == torn, "\(restored.rejected)")
            } else {
                #expect(restored.rejected.isEmpty)
            }
            let old = nodes[u]
            var pc = old.config
            pc.seeds = restored.seeds   // no seed address: only the peers it knew
            pc.listen = .loopbackIPv4(port: old.address.port)
            // The old port is in the ephemeral range: while it was free, another test's short outgoing connection may
            // have taken it as its local port. Retry for up to 3 s, as the node's ScenarioDriver retries a launch.
            var node: PeerNode?
            for attempt in 0..<30 {
                do {
                    node = try PeerNode(config: pc, learner: l, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                        sink: { lines.add($0) })
                    break
                } catch where attempt < 29 {
                    Thread.sleep(forTimeInterval: 0.1)
                }
            }
            restarted.append(try #require(node))
        }
        let survivors = nodes.enumerated().filter { !crashed.contains($0.offset) }.map(\.element)
        host = NodeHost(peers: survivors + restarted, log: try LineWriter(path: nil))
        for p in restarted { p.start() }
        let back = Set(crashed.map { PeerID(UInt64($0)) })
        let snaps = pollSnapshots(host, timeout: 20, interval: 0.1) { snaps in
            snaps.filter { back.contains($0.peer) }.allSatisfy { $0.livePeers >= 6 && $0.counters.exchangesCompleted >= 1 }
        }
        host.stop()
        let again = snaps.filter { back.contains($0.peer) }
        #expect(again.count == crashed.count)
        for s in again {
            #expect(s.livePeers >= 6, "peer \(s.peer) rejoined and sees \(s.livePeers) live peers")
            #expect(s.counters.exchangesCompleted >= 1, "peer \(s.peer) completed \(s.counters.exchangesCompleted) exchanges after restart")
        }
        // Resumed, not restarted from round 0: each continues from at least its checkpointed round.
        #expect(again.map(\.round).min() ?? 0 >= (roundsAtCrash.min() ?? 0) / 2)
    }
}
