#if canImport(Glibc)
import Glibc
#endif

/// How a peer folds a received copy of item rows into its own table. Pluggable: robust and private
/// variants implement the same protocol.
public protocol MergeRule: Sendable {
    var name: String { get }
    /// Folds `incoming`, which has already passed `local.accepts(incoming)`, into `local`. `localRound` is the
    /// receiver's model clock (`PeerLearner.clock`), to be compared with `incoming.round` for staleness. The
    /// caller advances its clock after the merge (`PeerLearner.merge(_:using:)`). Call `merge(_:into:localRound:)`
    /// for a payload that has not been checked: the check is a pass over the whole payload, so a peer makes it
    /// once per received copy rather than once per layer.
    func mergeAccepted(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64)
    /// `mergeAccepted` where the receiver's row weight counts at least `priorWeight` when the rule computes how far a
    /// received row moves it (tail protection, `MergeDefences.protectTail`): a row the receiver holds (almost) no
    /// weight for is no longer replaced outright by whatever arrives with weight. The merged weight is the rule's as
    /// usual. Rules without per-row weights ignore it (the default).
    func mergeAccepted(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64, priorWeight: Float)
    /// True when the rule must see each local epoch (`absorbLocalEpoch`): the caller then records the rows the
    /// epoch changes (`EpochJournal`).
    var absorbsLocalEpochs: Bool { get }
    /// Called once per local epoch, after training, with the rows the epoch changed as they were before it: the
    /// rule may turn the epoch's moves into whatever its merge needs (e.g. push-sum votes, `PushSumVoteMerge`).
    func absorbLocalEpoch(_ epoch: EpochJournal, into table: inout ItemTable, positivesSorted: [Int32])
    /// The rule for the rounds of a peer whose rounds come `periods` (> 0) times less often than the swarm's (a
    /// straggler's): a rule that weighs each round's contribution (push-sum votes) gives such a round `periods`
    /// times the weight, so that every peer's data counts alike per unit of time. Others return themselves.
    func spanning(periods: Double) -> any MergeRule
    /// The largest row weight an honest peer running this rule can hold, when stragglers are at most `maxSlowdown`
    /// times slower, or nil when the rule has no such bound (`MergeDefences.boundWeights` then does nothing).
    func honestWeightBound(maxSlowdown: Double) -> Float?
    /// The most weight one honest round can add to a row (a straggler's vote k·c), or nil when the rule has no such bound.
    func honestVoteBound(maxSlowdown: Double) -> Float?
}

extension MergeRule {
    /// Folds `incoming` into `local` (`mergeAccepted`) if `local.accepts(incoming)`; a payload of another shape
    /// or with any non-finite number is ignored whole.
    public func merge(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64) {
        guard local.accepts(incoming) else { return }
        mergeAccepted(incoming, into: &local, localRound: localRound)
    }

    /// By default a rule keeps the epoch's moves and step counts as they are.
    public var absorbsLocalEpochs: Bool { false }
    public func absorbLocalEpoch(_ epoch: EpochJournal, into table: inout ItemTable, positivesSorted: [Int32]) {}
    public func spanning(periods: Double) -> any MergeRule { self }
    public func mergeAccepted(_ incoming: ModelPayload, into local: inout ItemTable, localRound: UInt64, priorWeight: Float) {
        mergeAccepted(incoming, into: &local, localRound: localRound)
    }
    public func honestWeightBound(maxSlowdown: Double) -> Float? { nil }
    public func honestVoteBound(maxSlowdown: Double) -> Float? { nil }

    /// `absorbLocalEpoch` for a caller that kept a whole copy of the table from before the epoch.
    public func absorbLocalEpoch(before: ItemTable, into table: inout ItemTable, positivesSorted: [Int32]) {
        absorbLocalEpoch(EpochJournal(before: before, after: table), into: &table, positivesSorted: positivesSorted)
    }
}

/// The staleness discount shared by merge rules.
///
/// ## Why
/// In asynchronous SGD a gradient computed on parameters that are `lag` versions old pulls the model back
/// towards where it was; "Staleness-aware async-SGD" (Zhang, Gupta, Lian, Liu, IJCAI 2016) divides its step
/// by the lag, and FedAsync (Xie, Koyejo, Gupta, "Asynchronous federated optimization", 2019) mixes a
/// stale client model in with a weight α·s(t − τ) that decreases with the staleness t − τ. Gossip learning
/// has the same problem under churn: a peer that was offline for many rounds returns with a copy that is
/// many model versions behind, and plain averaging by training weight lets that copy drag its partners
/// back (its weights did not decay while it was away, since decay happens per *local* epoch).
///
/// ## What
/// Model clocks are Lamport clocks (`PeerLearner.clock`). When copies with clocks c_l (receiver) and c_r
/// (sender) meet, the *staler* copy's row weights are multiplied by `decay^lag`, lag = |c_l − c_r|, and the
/// fresher copy's weights are kept: an old copy from a returning peer barely moves a fresh receiver, and the
/// returning peer, merging a fresh copy, adopts it almost fully (its own weights are the discounted ones).
/// Both sides of a push-pull exchange see the same pair of clocks, so they compute the same discounted pair
/// and end with the same row (push-sum's "both sides agree" is kept; mass is lost only from the stale copy,
/// which is the point). It is the exponential form of FedAsync's s(t − τ); `decay` = 1 disables it, and at
/// lag 0 both factors are exactly 1 (the merge is bit-for-bit the undiscounted one).
/// `WeightedAverageMerge.halfLife` applies the same discount to the incoming side only, with
/// decay = 2^(−1/halfLife).
public enum Staleness {
    /// The factors (local, remote) to multiply the receiver's and the sender's row weights by, for clocks
    /// `local` and `remote` and a per-version `decay` in (0, 1]. One of them is always exactly 1.
    @inlinable
    public static func factors(local: UInt64, remote: UInt64, decay: Float) -> (local: Float, remote: Float) {
        guard decay < 1, local != remote else { return (1, 1) }
        let lag = local > remote ? local - remote : remote - local
        let s = Float(pow(Double(decay), Double(lag)))
        return local > remote ? (1, s) : (s, 1)
    }
}

extension ItemTable {
    /// Floats per row on the wire: the embedding, then the bias.
    public var wireDimension: Int { dimension + 1 }

    /// The rows whose training weight is at least `minWeight`, as a payload (all rows with `minWeight: 0`).
    public func payload(round: UInt64, minWeight: Float = 0) -> ModelPayload {
        let d = dimension
        let rows = trainedSteps.reduce(0) { $0 + ($1 >= minWeight ? 1 : 0) }
        // Filled through raw buffers (one copy of each row): this runs twice per exchange, and appending array
        // slices row by row spent most of its time on reference counting.
        var ids = [UInt32](repeating: 0, count: rows), ws = [Float](repeating: 0, count: rows)
        let vals = [Float](unsafeUninitializedCapacity: rows * (d + 1)) { V, count in
            factors.withUnsafeBufferPointer { F in
                var r = 0
                for i in 0..<itemCount where trainedSteps[i] >= minWeight {
                    ids[r] = UInt32(i); ws[r] = trainedSteps[i]
                    let dst = V.baseAddress! + r * (d + 1)
                    dst.initialize(from: F.baseAddress! + i * d, count: d)
                    (dst + d).initialize(to: bias[i])
                    r += 1
                }
                count = r * (d + 1)
            }
        }
        var p = ModelPayload(itemCount: UInt32(itemCount), dimension: UInt16(d + 1), round: round, items: ids, weights: ws, values: vals)
        _ = ModelChecks.verify(&p)   // now, while the rows are in cache: the encoder and the receiver's merge then skip it
        return p
    }

    /// True when the payload has this table's shape (same catalogue, same row width) and only finite numbers.
    public func accepts(_ p: ModelPayload) -> Bool {
        Int(p.itemCount) == itemCount && Int(p.dimension) == wireDimension
            && p.items.count == p.weights.count && p.values.count == p.items.count * wireDimension
            && (p.elementsVerified || ModelChecks.elementsLookValid(p)   // one vectorized pass; the exact scan only when it says no
                || (p.items.allSatisfy { Int($0) < itemCount } && p.weights.allSatisfy { $0.isFinite && $0 >= 0 }
                    && p.values.allSatisfy(\.isFinite)))
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

    public func mergeAccepted(_ p: ModelPayload, into t: inout ItemTable, localRound: UInt64) {
        mergeAccepted(p, into: &t, localRound: localRound, priorWeight: 0)
    }

    public func mergeAccepted(_ p: ModelPayload, into t: inout ItemTable, localRound: UInt64, priorWeight: Float) {
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
                    let a = wr / (max(wl, priorWeight) + wr)
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
