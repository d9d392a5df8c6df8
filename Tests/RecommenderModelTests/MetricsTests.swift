import Foundation
import Testing
@testable import RecommenderModel

/// Ranking metrics on hand-computed cases.
@Suite struct MetricsTests {

    @Test func rankCountsStrictlyHigherNegativesPlusTies() {
        // Higher: 0.9, 0.7; tied: 0.5; lower: 0.1, 0.2.
        #expect(RankingMetrics.rank(positive: 0.5, negatives: [0.1, 0.9, 0.5, 0.2, 0.7]) == 3)
        #expect(RankingMetrics.rank(positive: 2, negatives: [1, 0, -5]) == 0)
        #expect(RankingMetrics.rank(positive: -1, negatives: [1, 0, -5]) == 2)
        #expect(RankingMetrics.rank(positive: 1, negatives: [Float]()) == 0)
    }

    @Test func aConstantScorerGetsTheWorstRank() {
        #expect(RankingMetrics.rank(positive: 0, negatives: [Float](repeating: 0, count: 99)) == 99)
        #expect(RankingMetrics.hit(rank: RankingMetrics.rank(positive: 3, negatives: [Float](repeating: 3, count: 99)), k: 10) == 0)
    }

    @Test func nonFiniteScores() {
        // A NaN positive is worst; a NaN negative is not beaten; -inf negatives are beaten.
        #expect(RankingMetrics.rank(positive: .nan, negatives: [0, 1, 2]) == 3)
        #expect(RankingMetrics.rank(positive: .nan, negatives: [-Float.infinity]) == 1)
        #expect(RankingMetrics.rank(positive: 1, negatives: [.nan, 0]) == 1)
        #expect(RankingMetrics.rank(positive: 1, negatives: [-Float.infinity, 0.5]) == 0)
        #expect(RankingMetrics.rank(positive: 1, negatives: [.infinity, 0.5]) == 1)
        // Documented: any non-finite positive gets the worst rank (an overflowed model must not score a hit).
        #expect(RankingMetrics.rank(positive: .infinity, negatives: [0, 1]) == 2)
    }

    @Test func hitRateAndNDCGAtK() {
        #expect(RankingMetrics.hit(rank: 0, k: 10) == 1)
        #expect(RankingMetrics.hit(rank: 9, k: 10) == 1)
        #expect(RankingMetrics.hit(rank: 10, k: 10) == 0)
        #expect(RankingMetrics.hit(rank: 0, k: 1) == 1)
        #expect(RankingMetrics.hit(rank: 1, k: 1) == 0)
        #expect(RankingMetrics.ndcg(rank: 0, k: 10) == 1)
        #expect(abs(RankingMetrics.ndcg(rank: 1, k: 10) - 0.630_929_753_571_457_4) < 1e-12)   // 1 / log2(3)
        #expect(abs(RankingMetrics.ndcg(rank: 2, k: 10) - 0.5) < 1e-12)                       // 1 / log2(4)
        #expect(abs(RankingMetrics.ndcg(rank: 6, k: 10) - 1.0 / 3.0) < 1e-12)                 // 1 / log2(8)
        #expect(RankingMetrics.ndcg(rank: 10, k: 10) == 0)
        #expect(RankingMetrics.ndcg(rank: 50, k: 10) == 0)
    }

    @Test func summaryAveragesOverUsers() {
        var s = RankingSummary(k: 10)
        #expect(s.hitRate == 0 && s.ndcg == 0 && s.count == 0)
        for r in [0, 1, 12, 2] { s.add(rank: r) }
        #expect(s.count == 4)
        #expect(s.hitRate == 0.75)
        #expect(abs(s.ndcg - (1 + 0.630_929_753_571_457_4 + 0 + 0.5) / 4) < 1e-12)
    }

    @Test func testRankScoresTheShardsTestItemAgainstItsNegatives() {
        let shard = UserShard(user: 0, rawUser: "u", itemCount: 6, train: [],
                              test: Interaction(user: 0, item: 4, rating: 1, timestamp: 0), negatives: [0, 1, 2, 5])
        // score(i) = i: negatives below 4 are beaten, 5 is higher.
        #expect(shard.testRank { Float($0) } == 1)
        #expect(shard.testRank { -Float($0) } == 3)   // 0, 1, 2 beat -4; -5 does not
        #expect(shard.testRank { _ in 7 } == 4)
    }

    /// ItemPop on a split built by hand.
    ///
    /// Training counts: item 0: 3 (users A, B, C), item 1: 2 (B, C), item 2: 1 (A), item 3: 0, item 4: 1 (D).
    /// - A: test 1 (count 2) vs negatives 3 (0), 4 (1): rank 0.
    /// - B: test 3 (count 0) vs negatives 2 (1), 4 (1): both higher, rank 2.
    /// - C: test 2 (count 1) vs negatives 3 (0), 4 (1): one tie, rank 1.
    /// - D: no test item.
    @Test func itemPopularityOnAHandBuiltSplit() {
        func x(_ u: Int32, _ i: Int32) -> Interaction { Interaction(user: u, item: i, rating: 1, timestamp: 0) }
        let shards = [
            UserShard(user: 0, rawUser: "A", itemCount: 5, train: [x(0, 0), x(0, 2)], test: x(0, 1), negatives: [3, 4]),
            UserShard(user: 1, rawUser: "B", itemCount: 5, train: [x(1, 0), x(1, 1)], test: x(1, 3), negatives: [2, 4]),
            UserShard(user: 2, rawUser: "C", itemCount: 5, train: [x(2, 0), x(2, 1)], test: x(2, 2), negatives: [3, 4]),
            UserShard(user: 3, rawUser: "D", itemCount: 5, train: [x(3, 4)], test: nil, negatives: []),
        ]
        let split = LeaveOneOutSplit(userCount: 4, itemCount: 5, users: IDMap(raw: ["A", "B", "C", "D"]),
                                     items: IDMap(raw: (0..<5).map(String.init)), shards: shards)
        let pop = ItemPopularity(itemCount: 5, train: split.trainInteractions)
        #expect(pop.counts == [3, 2, 1, 0, 1])
        let at10 = pop.evaluate(split, k: 10)
        #expect(at10.count == 3)
        #expect(at10.hitRate == 1)
        #expect(abs(at10.ndcg - (1 + 1 / log2(3.0) + 0.5) / 3) < 1e-12)
        #expect(abs(pop.evaluate(split, k: 1).hitRate - 1.0 / 3) < 1e-12)
        #expect(abs(pop.evaluate(split, k: 2).hitRate - 2.0 / 3) < 1e-12)
        // The test items themselves are not counted as popularity (only training interactions are).
        #expect(pop.counts[3] == 0)
    }
}
