import DataFiles
import Foundation
import PeerStore
import Testing
@testable import GossipRecCLI
import RecommenderModel

/// `gossiprec recommend`: the ranking (unseen items only, best score first) and the command on a saved checkpoint.
@Suite struct RecommendCommandTests {
    /// A 1-dimensional table: item i scores user 1.0 x factor[i] + bias[i].
    func state(factors: [Float], bias: [Float]) -> LearnerState {
        let items = ItemTable(restoring: factors.count, dimension: 1, factors: factors, bias: bias, factorsG2: [], biasG2: [],
                              trainedSteps: [Float](repeating: 0, count: factors.count))
        return LearnerState(round: 3, clock: 3, rngState: 1, user: UserVector(values: [1], g2: []), items: items)
    }

    @Test func topItemsAreTheBestScoredItemsTheUserHasNotRated() {
        let s = state(factors: [0.1, 0.9, 0.5, 0.7, 0.3], bias: [0, 0, 0, 0, 0.5])
        let top = RecommendCommand.topItems(s, seen: [1], k: 3)   // item 1 is the best but already rated
        #expect(top.map(\.item) == [4, 3, 2])   // 0.8, 0.7, 0.5
        #expect(abs(top[0].score - 0.8) < 1e-6)
        #expect(RecommendCommand.topItems(s, seen: [0, 1, 2, 3, 4], k: 3).isEmpty)
        // Ties go to the lower index, so the output is deterministic.
        #expect(RecommendCommand.topItems(state(factors: [1, 1, 1], bias: [0, 0, 0]), seen: [], k: 2).map(\.item) == [0, 1])
    }

    @Test func aSavedPeerGetsItsTopTenAndMistakesAreNamed() throws {
        let dir = NSTemporaryDirectory() + "/gossiprec-recommend-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let log = SyntheticData.planted(users: 12, items: 30, groups: 3, perUser: 8, seed: 4)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 10, seed: 1)
        try split.writeUserDirectory(dir + "/users")
        var config = TrainingConfig()
        config.dimension = 4
        var learner = PeerLearner(shard: split.shards[2], config: config, tableSeed: 5, peerSeed: 6)
        for _ in 0..<5 { _ = learner.trainLocal() }
        try CheckpointStore(directory: dir + "/ck/peer-2", identity: nil)
            .save(PeerCheckpoint(identity: "t", savedAt: Date().timeIntervalSince1970, incarnation: 1, learner: learner.state,
                                 knownPeers: [], mergeRule: "pushsum"))
        try "0\tZero\n1\tOne\n".write(toFile: dir + "/titles.tsv", atomically: true, encoding: .utf8)
        let base = ["recommend", "--checkpoint-dir", dir + "/ck", "--users-dir", dir + "/users"]
        #expect(GossipRecCLI.main(base + ["--user", "2", "--titles", dir + "/titles.tsv"]) == 0)
        #expect(GossipRecCLI.main(base + ["--user", "2", "--json", "--top", "3"]) == 0)
        #expect(GossipRecCLI.main(base + ["--user", "3"]) != 0)   // no checkpoint for that peer
        #expect(GossipRecCLI.main(["recommend", "--checkpoint-dir", dir + "/ck", "--users-dir", dir + "/nowhere", "--user", "2"]) != 0)
        #expect(GossipRecCLI.main(["recommend", "--checkpoint-dir", dir + "/ck", "--user", "2"]) == 2)   // --users-dir missing
    }
}
