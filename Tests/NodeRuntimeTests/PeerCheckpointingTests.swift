import Foundation
import GossipProtocol
import PeerStore
import RecommenderModel
import Testing
@testable import NodeRuntime

/// `PeerCheckpointing.restore`: what a node resuming from its checkpoint directory gets back.
@Suite struct PeerCheckpointingTests {
    @Test func restoreReturnsTheSavedIncarnationRoundClockAndSeeds() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 6, items: 30, groups: 2, perUser: 8, seed: 3),
                                              negatives: 10, seed: 1)
        let config = fastTestSettings(period: .milliseconds(40)).config
        let learner = { (seed: UInt64) in PeerLearner(shard: split.shards[2], config: config, tableSeed: 5, peerSeed: seed) }
        var saved = learner(6)
        saved.trainLocal()
        saved.trainLocal()
        let root = NSTemporaryDirectory() + "gossiprec-restore-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let settings = CheckpointSettings(directory: root + "/peer-2", identity: "t 2")
        try CheckpointStore(directory: settings.directory, identity: settings.identity).save(
            PeerCheckpoint(learner: saved, identity: settings.identity, savedAt: 1, incarnation: 7,
                           knownPeers: [KnownPeer(id: 3, host: "127.0.0.1", port: 7003, incarnation: 1)]))

        var resumed = learner(99)
        let r = PeerCheckpointing.restore(&resumed, settings: settings)
        #expect(r.source == .current && r.rejected.isEmpty, "\(r.summary)")
        #expect(r.incarnation == 7 && r.round == 2 && r.clock == saved.clock)
        #expect(r.seeds == [PeerAddress(host: "127.0.0.1", port: 7003)!])
        #expect(resumed.state == saved.state)

        var fresh = learner(99)
        let none = PeerCheckpointing.restore(&fresh, settings: CheckpointSettings(directory: root + "/peer-3", identity: "t 3"))
        #expect(none.source == .none && none.incarnation == 0 && none.round == 0)
    }
}
