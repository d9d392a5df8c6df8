#if canImport(Glibc)
import Glibc
#endif
import RecommenderModel

/// The membership-inference attack of issue 18, as pure code: what an honest-but-curious peer (or a colluding group
/// pooling what its members receive) can infer about a sender's training items from the copies of the item table the
/// sender gossips to it.
///
/// Under `PushSumVoteMerge` a local round decays every row weight by γ and adds a vote c to every row it trained; the
/// user's positives are trained every round, sampled negatives only now and then. So the rows a sender's user
/// interacted with carry more weight in its copies than in the swarm's average copy, their weight jumps up between two
/// consecutive copies, and they move. `VictimTrace` folds the copies one victim sent (in arrival order, any subset of
/// rows per copy) into per-item statistics, without keeping the copies, and scores every item by each `Scoring`.
public enum Scoring: String, CaseIterable, Sendable {
    /// Mean received weight of the row.
    case raw
    /// Mean of log((w + ε) / (w_ref + ε)), w_ref the observer's own weight for the row when the copy arrived: the
    /// sender's weight relative to the swarm's average weight for the item (the observer's copy is a swarm average).
    case relative
    /// Mean weight change of the row between two consecutive copies from the sender (a trained row gains c per round).
    case jump
    /// Mean L2 distance a row moved between two consecutive copies from the sender (trained rows take gradient steps).
    case movement
    /// Minus `movement`: rows that move less than the others (what decoy rows moved too far would betray).
    case stillness
    /// Intersection over rounds: the share of copies in which the row was among the |I_u| rows of highest relative
    /// weight (the user's positives are voted every round, sampled negatives change from round to round).
    case intersection
    /// The mean of the normalized ranks of relative, jump, intersection and movement.
    case combined
}

/// Per-item statistics of the copies one victim sent (see `Scoring`), folded in one copy at a time.
public struct VictimTrace: Sendable {
    public let itemCount: Int
    /// |I_u|: the number of rows the intersection scoring keeps per copy (the attacker is assumed to know it).
    public let topK: Int
    public private(set) var copies = 0
    var seen: [Int32], pairs: [Int32], top: [Int32]
    var sumRaw: [Double], sumRel: [Double], sumJump: [Double], sumMove: [Double]
    var lastWeight: [Float], lastValues: [Float], lastClock: [UInt64]
    var dimension = 0
    static let epsilon: Float = 0.01

    public init(itemCount: Int, topK: Int) {
        self.itemCount = itemCount
        self.topK = max(1, topK)
        seen = .init(repeating: 0, count: itemCount); pairs = seen; top = seen
        sumRaw = .init(repeating: 0, count: itemCount); sumRel = sumRaw; sumJump = sumRaw; sumMove = sumRaw
        lastWeight = .init(repeating: .nan, count: itemCount)
        lastValues = []
        lastClock = .init(repeating: 0, count: itemCount)
    }

    /// Folds in one copy from the victim. `reference`, when given, holds the observer's own row weights (all
    /// `itemCount` of them) when the copy arrived; without it the relative score compares with the weight 1.
    public mutating func add(_ p: ModelPayload, reference: [Float]?) {
        guard Int(p.itemCount) == itemCount, !p.items.isEmpty else { return }
        let d = Int(p.dimension)
        if dimension != d {
            dimension = d
            lastValues = .init(repeating: 0, count: itemCount * d)
            for i in 0..<itemCount { lastWeight[i] = .nan }
        }
        copies += 1
        var rel = [Float](repeating: 0, count: p.items.count)
        for (r, item) in p.items.enumerated() {
            let i = Int(item), w = p.weights[r]
            let ref = reference.map { $0[i] } ?? 1
            rel[r] = logf((w + Self.epsilon) / (ref + Self.epsilon))
            seen[i] += 1
            sumRaw[i] += Double(w)
            sumRel[i] += Double(rel[r])
            if !lastWeight[i].isNaN {
                pairs[i] += 1
                sumJump[i] += Double(w - lastWeight[i])
                var m: Float = 0
                for k in 0..<d { let x = p.values[r * d + k] - lastValues[i * d + k]; m += x * x }
                sumMove[i] += Double(m.squareRoot())
            }
            lastWeight[i] = w
            for k in 0..<d { lastValues[i * d + k] = p.values[r * d + k] }
            lastClock[i] = p.round
        }
        // The copy's topK rows by relative weight.
        let order = rel.indices.sorted { rel[$0] > rel[$1] || (rel[$0] == rel[$1] && $0 < $1) }
        for r in order.prefix(topK) { top[Int(p.items[r])] += 1 }
    }

    /// One score per item (higher: more likely trained). An item never seen (or, for jump and movement, never seen
    /// twice) gets the mean score of the items that were, which says nothing either way.
    public func scores(_ s: Scoring) -> [Double] {
        func mean(_ sum: [Double], _ n: [Int32]) -> [Double] {
            var out = [Double](repeating: .nan, count: itemCount)
            var total = 0.0, count = 0
            for i in 0..<itemCount where n[i] > 0 { out[i] = sum[i] / Double(n[i]); total += out[i]; count += 1 }
            let fill = count > 0 ? total / Double(count) : 0
            for i in 0..<itemCount where out[i].isNaN { out[i] = fill }
            return out
        }
        switch s {
        case .raw: return mean(sumRaw, seen)
        case .relative: return mean(sumRel, seen)
        case .jump: return mean(sumJump, pairs)
        case .movement: return mean(sumMove, pairs)
        case .stillness: return mean(sumMove, pairs).map { -$0 }
        case .intersection: return mean(top.map(Double.init), seen)
        case .combined:
            var out = [Double](repeating: 0, count: itemCount)
            for part in [Scoring.relative, .jump, .intersection, .movement] {
                let r = LeakMetrics.ranks(scores(part))
                for i in 0..<itemCount { out[i] += r[i] }
            }
            return out
        }
    }
}
