#if canImport(Glibc)
import Glibc
#endif

/// How a peer folds a received copy of item rows into its own table. Pluggable: robust and private
/// variants implement the same protocol.
public protocol MergeRule: Sendable {
    var name: String { get }
    /// Folds `incoming` into `local`. `localRound` is the receiver's own round, for staleness.
    func merge(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64)
    /// True when the rule must see each local epoch (`absorbLocalEpoch`): the caller then keeps a copy of the
    /// table from before the epoch.
    var absorbsLocalEpochs: Bool { get }
    /// Called once per local round, after training, with the table from before the epoch: the rule may turn
    /// the epoch's moves into whatever its merge needs (e.g. push-sum votes, `PushSumVoteMerge`).
    func absorbLocalEpoch(before: ItemTable, into table: inout ItemTable, positivesSorted: [Int32])
}

extension MergeRule {
    /// By default a rule keeps the epoch's moves and step counts as they are.
    public var absorbsLocalEpochs: Bool { false }
    public func absorbLocalEpoch(before: ItemTable, into table: inout ItemTable, positivesSorted: [Int32]) {}
}

extension ItemTable {
    /// Floats per row on the wire: the embedding, then the bias.
    public var wireDimension: Int { dimension + 1 }

    /// The rows whose training weight is at least `minWeight`, as a payload (all rows with `minWeight: 0`).
    public func payload(round: UInt64, minWeight: Float = 0) -> ModelPayload {
        var ids: [UInt32] = [], ws: [Float] = [], vals: [Float] = []
        let d = dimension
        ids.reserveCapacity(itemCount); ws.reserveCapacity(itemCount); vals.reserveCapacity(itemCount * (d + 1))
        for i in 0..<itemCount where trainedSteps[i] >= minWeight {
            ids.append(UInt32(i)); ws.append(trainedSteps[i])
            vals.append(contentsOf: factors[i * d..<(i + 1) * d]); vals.append(bias[i])
        }
        return ModelPayload(itemCount: UInt32(itemCount), dimension: UInt16(d + 1), round: round, items: ids, weights: ws, values: vals)
    }

    /// True when the payload has this table's shape (same catalogue, same row width) and only finite numbers.
    public func accepts(_ p: ModelPayload) -> Bool {
        Int(p.itemCount) == itemCount && Int(p.dimension) == wireDimension
            && p.items.count == p.weights.count && p.values.count == p.items.count * wireDimension
            && p.items.allSatisfy { Int($0) < itemCount }
            && p.weights.allSatisfy { $0.isFinite && $0 >= 0 } && p.values.allSatisfy(\.isFinite)
    }
}

/// Per-row weighted averaging by training information, with staleness discount (the merge of gossip
/// learning, Ormándi, Hegedűs and Jelasity, "Gossip learning with linear models on fully distributed
/// data", CCPE 2013, made per row as in the age counters of Hegedűs, Danner and Jelasity 2019).
///
/// For each received row i with weight w_r (the number of gradient steps that copy embodies) and local
/// weight w_l, the row becomes (w_l v_l + s w_r v_r) / (w_l + s w_r), where s = 2^(-age/halfLife) discounts
/// a copy that is `age` rounds older than the receiver. Rows the sender never trained (w_r = 0) leave the
/// local row alone, and a row the receiver never trained is replaced outright: what each side has actually
/// trained decides. The merged weight is `combine`d (max by default: averaging two copies does not add
/// independent information, and summing would double-count on repeated exchanges and overflow).
public struct WeightedAverageMerge: MergeRule {
    public enum Combine: String, Sendable { case max, mean, sum }
    public var halfLife: Double
    public var combine: Combine
    public var name: String { "weighted(\(combine.rawValue),halfLife=\(halfLife))" }

    public init(halfLife: Double = .infinity, combine: Combine = .max) {
        self.halfLife = halfLife; self.combine = combine
    }

    public func merge(_ p: ModelPayload, into t: inout ItemTable, localRound: UInt64) {
        guard t.accepts(p) else { return }
        let age = localRound > p.round ? Double(localRound - p.round) : 0
        let s = Float(halfLife.isFinite ? pow(2, -age / halfLife) : 1)
        let d = t.dimension, w = t.wireDimension
        t.factors.withUnsafeMutableBufferPointer { F in
            p.values.withUnsafeBufferPointer { V in
                for (r, item) in p.items.enumerated() {
                    let i = Int(item)
                    let wr = p.weights[r] * s
                    if wr <= 0 { continue }
                    let wl = t.trainedSteps[i]
                    let a = wr / (wl + wr)
                    let dst = F.baseAddress! + i * d, src = V.baseAddress! + r * w
                    for k in 0..<d { dst[k] += a * (src[k] - dst[k]) }
                    t.bias[i] += a * (src[d] - t.bias[i])
                    switch combine {
                    case .max: t.trainedSteps[i] = max(wl, wr)
                    case .mean: t.trainedSteps[i] = (wl + wr) / 2
                    case .sum: t.trainedSteps[i] = wl + wr
                    }
                }
            }
        }
    }
}
