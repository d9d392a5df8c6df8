#if canImport(Glibc)
import Glibc
#endif

/// Ranking quality on the leave-one-out protocol: one held-out positive ranked against sampled negatives.
///
/// The rank of the positive is the number of negatives scoring strictly higher, plus the number scoring
/// exactly the same: a tie counts against the model, so a constant scorer gets the worst rank rather than
/// the best (ties must not flatter). A non-finite positive score also gets the worst rank.
/// HR@K = 1 if rank < K; NDCG@K = 1 / log2(rank + 2) if rank < K, else 0.
public enum RankingMetrics {
    public static func rank(positive: Float, negatives: some Sequence<Float>) -> Int {
        var r = 0, n = 0
        for s in negatives {
            n += 1
            if !(s < positive) { r += 1 }   // higher, equal, or NaN: not beaten
        }
        return positive.isFinite ? r : n
    }

    public static func hit(rank: Int, k: Int) -> Double { rank < k ? 1 : 0 }

    public static func ndcg(rank: Int, k: Int) -> Double { rank < k ? 1 / log2(Double(rank) + 2) : 0 }
}

/// Running means of HR@K and NDCG@K.
public struct RankingSummary: Sendable, Equatable {
    public var k: Int
    public var count = 0
    public var hitSum = 0.0
    public var ndcgSum = 0.0
    public init(k: Int = 10) { self.k = k }
    public mutating func add(rank: Int) {
        count += 1
        hitSum += RankingMetrics.hit(rank: rank, k: k)
        ndcgSum += RankingMetrics.ndcg(rank: rank, k: k)
    }
    public var hitRate: Double { count == 0 ? 0 : hitSum / Double(count) }
    public var ndcg: Double { count == 0 ? 0 : ndcgSum / Double(count) }
}

extension UserShard {
    /// Rank of this user's test item under a scoring function (nil when the user has no test item).
    public func testRank(score: (Int) -> Float) -> Int? {
        guard let t = test else { return nil }
        return RankingMetrics.rank(positive: score(Int(t.item)), negatives: negatives.map { score(Int($0)) })
    }
}

/// The most-popular-items baseline: every user gets items ranked by their number of training interactions.
public struct ItemPopularity: Sendable {
    public var counts: [Float]
    public init(itemCount: Int, train: some Sequence<Interaction>) {
        var c = [Float](repeating: 0, count: itemCount)
        for x in train { c[Int(x.item)] += 1 }
        counts = c
    }
    public func evaluate(_ split: LeaveOneOutSplit, k: Int = 10) -> RankingSummary {
        var s = RankingSummary(k: k)
        for shard in split.shards { if let r = shard.testRank(score: { counts[$0] }) { s.add(rank: r) } }
        return s
    }
}
