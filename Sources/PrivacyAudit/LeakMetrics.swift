/// How well a scoring of the catalogue names one victim's training items.
public enum LeakMetrics {
    /// Ranks 0..<n of `scores` (ties share their mean rank), normalized to [0, 1].
    public static func ranks(_ scores: [Double]) -> [Double] {
        let n = scores.count
        guard n > 1 else { return [Double](repeating: 0.5, count: n) }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var out = [Double](repeating: 0, count: n)
        var a = 0
        while a < n {
            var b = a
            while b + 1 < n && scores[order[b + 1]] == scores[order[a]] { b += 1 }
            let r = Double(a + b) / 2 / Double(n - 1)
            for k in a...b { out[order[k]] = r }
            a = b + 1
        }
        return out
    }

    /// ROC AUC of `scores` at telling the items of `truth` from the others, over the items `among` (all when nil):
    /// the probability that a random true item scores above a random other one, ties counting one half
    /// (Mann-Whitney). Nil when either class is empty.
    public static func auc(_ scores: [Double], truth: Set<Int>, among: [Int]? = nil) -> Double? {
        let items = among ?? Array(scores.indices)
        let pos = items.filter { truth.contains($0) }.count, neg = items.count - pos
        guard pos > 0, neg > 0 else { return nil }
        let sub = items.map { scores[$0] }
        let order = sub.indices.sorted { sub[$0] < sub[$1] }
        var rankSum = 0.0, a = 0
        while a < order.count {
            var b = a
            while b + 1 < order.count && sub[order[b + 1]] == sub[order[a]] { b += 1 }
            let r = Double(a + b) / 2 + 1
            for k in a...b where truth.contains(items[order[k]]) { rankSum += r }
            a = b + 1
        }
        return (rankSum - Double(pos) * Double(pos + 1) / 2) / (Double(pos) * Double(neg))
    }

    /// The share of the |truth| highest-scoring items that are true (ties broken by item index, lowest first, so a
    /// constant score guesses the first items).
    public static func precisionAtTruth(_ scores: [Double], truth: Set<Int>) -> Double {
        guard !truth.isEmpty else { return 0 }
        let top = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(truth.count)
        return Double(top.filter { truth.contains($0) }.count) / Double(truth.count)
    }

    /// AUC at telling a trained item from an untrained item *of the same popularity*: the AUC within each popularity
    /// bucket (`bucket[i]`), averaged with weights (true items × other items of the bucket), i.e. the probability that a
    /// random true item outscores a random untrained item of its bucket. Nil when no bucket holds both classes.
    public static func samePopularityAUC(_ scores: [Double], truth: Set<Int>, bucket: [Int]) -> Double? {
        var byBucket: [Int: [Int]] = [:]
        for i in scores.indices { byBucket[bucket[i], default: []].append(i) }
        var total = 0.0, weight = 0.0
        for key in byBucket.keys.sorted() {
            let items = byBucket[key]!
            let pos = items.filter { truth.contains($0) }.count, neg = items.count - pos
            guard pos > 0, neg > 0, let a = auc(scores, truth: truth, among: items) else { continue }
            let w = Double(pos) * Double(neg)
            total += a * w; weight += w
        }
        return weight > 0 ? total / weight : nil
    }

    /// Popularity buckets: items sorted by `popularity`, cut into `buckets` groups of (nearly) equal size; items of equal
    /// popularity always share a bucket.
    public static func popularityBuckets(_ popularity: [Int], buckets: Int) -> [Int] {
        let n = popularity.count
        guard n > 0, buckets > 1 else { return [Int](repeating: 0, count: n) }
        let order = popularity.indices.sorted { popularity[$0] < popularity[$1] || (popularity[$0] == popularity[$1] && $0 < $1) }
        var out = [Int](repeating: 0, count: n)
        var b = 0
        for (k, i) in order.enumerated() {
            let want = k * buckets / n
            if want > b, popularity[i] != popularity[order[k - 1]] { b = want }
            out[i] = b
        }
        return out
    }
}

/// One victim's figures at one observation budget.
public struct VictimLeak: Sendable {
    public var victim: Int
    public var copies: Int
    /// Per scoring: AUC, precision at |I_u| and same-popularity AUC.
    public var auc: [Scoring: Double] = [:]
    public var precision: [Scoring: Double] = [:]
    public var samePopularityAUC: [Scoring: Double] = [:]
    /// The popularity-only baseline for this victim.
    public var popularityAUC: Double = 0.5
    public var popularityPrecision: Double = 0

    /// Scores `trace` against the victim's training items.
    public init(victim: Int, trace: VictimTrace, truth: Set<Int>, popularity: [Double], buckets: [Int]) {
        self.victim = victim
        copies = trace.copies
        for s in Scoring.allCases {
            let sc = trace.scores(s)
            auc[s] = LeakMetrics.auc(sc, truth: truth) ?? 0.5
            precision[s] = LeakMetrics.precisionAtTruth(sc, truth: truth)
            samePopularityAUC[s] = LeakMetrics.samePopularityAUC(sc, truth: truth, bucket: buckets) ?? 0.5
        }
        popularityAUC = LeakMetrics.auc(popularity, truth: truth) ?? 0.5
        popularityPrecision = LeakMetrics.precisionAtTruth(popularity, truth: truth)
    }
}

/// Figures averaged over victims at one budget.
public struct LeakSummary: Sendable {
    public var budget: Int
    public var victims: Int
    public var auc: [Scoring: Double] = [:]
    public var precision: [Scoring: Double] = [:]
    public var samePopularityAUC: [Scoring: Double] = [:]
    public var popularityAUC = 0.0
    public var popularityPrecision = 0.0

    public init(budget: Int, leaks: [VictimLeak]) {
        self.budget = budget
        victims = leaks.count
        let n = Double(max(1, leaks.count))
        for s in Scoring.allCases {
            auc[s] = leaks.reduce(0) { $0 + $1.auc[s]! } / n
            precision[s] = leaks.reduce(0) { $0 + $1.precision[s]! } / n
            samePopularityAUC[s] = leaks.reduce(0) { $0 + $1.samePopularityAUC[s]! } / n
        }
        popularityAUC = leaks.reduce(0) { $0 + $1.popularityAUC } / n
        popularityPrecision = leaks.reduce(0) { $0 + $1.popularityPrecision } / n
    }

    /// The strongest scoring's figure for each metric (the attacker's best; each metric may come from another scoring).
    public var bestAUC: Double { auc.values.max() ?? 0.5 }
    public var bestPrecision: Double { precision.values.max() ?? 0 }
    public var bestSamePopularityAUC: Double { samePopularityAUC.values.max() ?? 0.5 }
}
