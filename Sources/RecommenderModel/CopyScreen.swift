#if canImport(Glibc)
import Glibc
#endif

/// The defences a peer applies to every received copy before its merge rule folds it in: the one place where
/// the numbers a partner claims (row weights, the model clock, row values) are bounded by what an honest peer
/// could have sent (issue 17). Each defence has a switch (all on by default) so that measurements can turn it
/// off; `CopyScreen` applies them, `PeerLearner.merge(_:using:trust:screen:)` calls it.
///
/// ## The threat
/// A key holder (a stolen device, a Sybil with many accounts) runs modified code: its copies pass the wire's
/// checks (shape, finite numbers, authentication) and say whatever it likes. Push-sum (`PushSumVoteMerge`) believes
/// the weight a sender claims, the staleness discount believes its clock, and the merge computes `src - dst` on its
/// values; about 1% of peers claiming weight 1e30 on every row took a 943-peer swarm down to random ranking.
///
/// ## What none of these defences covers
/// - A liar that stays inside every bound: weights at most the honest bound, a clock at most `maxClockLead`
///   ahead, rows within the clipping radius of the receiver's own. Each such copy moves a row by at most the
///   radius (about the honest disagreement), so a persistent minority can still bias rows by a few radii, most
///   on rows honest peers disagree about anyway.
/// - Sending more often than honest peers (the harness's attackers gossip at the honest rate), or many Sybils:
///   the damage grows with the share of merges an attacker takes part in; the per-partner reputation in PeerCore
///   (`PartnerReputation`) quarantines partners whose copies keep being clipped, not ones that stay just inside.
/// - Data poisoning: a malicious peer's own ratings, trained honestly, are indistinguishable from a user's.
/// - `WeightedAverageMerge`: its weights are step counts that never decay, so no weight bound is known for it
///   (`MergeRule.honestWeightBound` is nil); clipping, value and clock bounds still apply.
public struct MergeDefences: Sendable, Hashable {
    /// **Claimed-weight bound.** Every claimed row weight is cut to `MergeRule.honestWeightBound(maxSlowdown:)`:
    /// for push-sum, k·c/(1 − γ) (derived there). Honest peers never exceed it (it is an invariant of the rule's
    /// arithmetic), so it never triggers for churn, late joiners or returning peers; a straggler slower than
    /// `maxSlowdown` holds more and is cut to it. A liar can still claim the bound on every row: 100 with the
    /// defaults, more than most honest rows hold (about 10·n_i/N for n_i voters per round), which is what the
    /// tail cap and clipping are for.
    public var boundWeights = true
    /// **Clock-lead bound.** A copy stamped more than `maxClockLead` versions ahead of the receiver's model clock is
    /// read as if it were exactly that far ahead: the staleness discount then multiplies the receiver's own weights by
    /// at least stalenessDecay^maxClockLead (0.98^32 = 0.52 by default) instead of zeroing them, and the receiver's
    /// clock advances by at most `maxClockLead` per merge instead of saturating. Copies behind the receiver are not
    /// touched (a stale clock only discounts the sender's own weights). Honest: clocks of peers in one swarm differ by a
    /// few versions; a late joiner or a returning peer, whose clock is far *behind*, still adopts fresh copies (its
    /// weights are discounted by ≥ 48% per merge) and catches up by `maxClockLead` versions per merge. A liar can still
    /// lead by `maxClockLead` on every copy: it halves the receiver's weights per merge and drives clocks forward
    /// faster than time (harmless by itself; between honest peers it adds lags of at most `maxClockLead`).
    public var boundClockLead = true
    /// **Value bound.** A row whose Euclidean norm exceeds max(`valueScale` × the largest row norm of the receiver's
    /// own copy, `valueFloor`) is dropped from the copy (not merged at all). Norms are summed in Double, so a row of
    /// 3e38s is measured, not overflowed. Honest rows grow slowly (a local step and a merge move a row by a fraction of
    /// its norm), and a late joiner's initial table is covered by the floor. A liar can still send rows up to the
    /// bound; clipping then limits how far they move the receiver.
    public var boundValues = true
    /// **Self-centred clipping** (He, Karimireddy and Jaggi, "Byzantine-robust decentralized learning via
    /// ClippedGossip", 2022): each received row is first moved towards the receiver's own row so that its distance is
    /// at most the row's radius τ_i (x_i + CLIP(x_j − x_i, τ_i) instead of x_j), and its claimed weight is scaled by the
    /// same factor (a row far from the receiver's brings proportionally less push-sum mass). The radius adapts per row:
    /// τ_i = `clipFactor` × r_i, r_i an exponential average (weight `clipAdaptation`) of the distances seen for row i,
    /// each counted at most at τ_i, starting at `clipPrior` × the norm of the receiver's row. So one far copy raises
    /// r_i by at most a factor 1 + β(κ − 1) (1.6 by default) and a near honest one pulls it back: with a share p of
    /// merges from copies that are always far, r_i settles near the honest distance while p·ln 1.6 < (1 − p)·|ln(1 − β)|,
    /// about p < 0.32. Honest: copies in one swarm sit within a local step or two of each other; a receiver that is far
    /// from everyone (a late joiner on the initial table, a returning peer, a receiver poisoned earlier) sees every copy
    /// clipped, so its radii grow by 1.6 per merge and it catches up in a few merges. A stale copy (a returning peer's)
    /// is clipped, which is what its staleness calls for anyway. A liar within τ_i of the receiver is not clipped.
    public var clipRows = true
    /// **Tail protection.** A row's claimed weight is cut to `tailFactor` × max(w_l, w̄), w_l the receiver's weight on
    /// that row and w̄ the median weight of its rows: on a cold row (a tail item few honest peers train, where the
    /// receiver holds little) a copy may claim no more than on a typical row, so an attacker cannot take a cold row's
    /// mass by claiming a weight thousands of times the honest one (the claimed-weight bound alone lets it claim 100
    /// where honest copies hold 0.01). It never triggers while the receiver holds no weight at all (w̄ = 0: a fresh
    /// peer adopts whatever it receives). Honest: push-sum weights in a swarm stay within a few votes of each other; a
    /// straggler's vote of k·c on a row it just trained (about γw + 10 with the defaults) is below `tailFactor`·w̄ as long
    /// as w̄ ≥ 2 (with negatives voting, every row of ML-100K holds about 2.5); honest voters of a tail row still move
    /// its value almost fully (the capped weight is still far above w_l), only their mass is capped. A liar still
    /// claims `tailFactor`·w̄ on every cold row and moves it by the clipping radius.
    public var protectTail = true

    /// k: the largest straggler slowdown an honest peer may have (the claimed-weight bound grows with it).
    public var maxSlowdown: Double = 10
    /// Versions a copy's clock may lead the receiver's.
    public var maxClockLead: UInt64 = 32
    /// A row may be at most this many times longer than the receiver's longest row (or `valueFloor`).
    public var valueScale: Float = 8
    /// Rows up to this norm always pass the value bound (covers a fresh peer's initial table).
    public var valueFloor: Float = 16
    /// κ: the clipping radius in typical distances.
    public var clipFactor: Float = 4
    /// β: the weight of each new distance in a row's typical distance.
    public var clipAdaptation: Float = 0.2
    /// A row's typical distance before any copy was seen, as a share of the receiver's row norm.
    public var clipPrior: Float = 0.5
    /// ρ_t: claimed weights at most this many times max(w_l, w̄).
    public var tailFactor: Float = 6

    public init() {}

    /// Every defence on, with the default parameters.
    public static let on = MergeDefences()
    /// Every defence off (the merge rule sees copies as received; for measurements).
    public static let off: MergeDefences = {
        var d = MergeDefences()
        d.boundWeights = false; d.boundClockLead = false; d.boundValues = false; d.clipRows = false; d.protectTail = false
        return d
    }()

    /// True when at least one defence is on.
    public var anyOn: Bool { boundWeights || boundClockLead || boundValues || clipRows || protectTail }

    /// The switches' names, as `--defences` spells them, in order.
    public static let names = ["weights", "clock", "values", "clip", "tail"]

    /// The switches that are on, by name (`names`).
    public var enabled: [String] {
        zip(Self.names, [boundWeights, boundClockLead, boundValues, clipRows, protectTail]).filter(\.1).map(\.0)
    }

    /// Turns the switch `name` (one of `names`) on or off; false for an unknown name.
    public mutating func set(_ name: String, _ on: Bool) -> Bool {
        switch name {
        case "weights": boundWeights = on
        case "clock": boundClockLead = on
        case "values": boundValues = on
        case "clip": clipRows = on
        case "tail": protectTail = on
        default: return false
        }
        return true
    }

    /// A message naming the first bad parameter, or nil.
    public func validate() -> String? {
        if !(maxSlowdown >= 1 && maxSlowdown.isFinite) { return "defences: max slowdown must be >= 1" }
        if maxClockLead < 1 { return "defences: max clock lead must be >= 1" }
        if !(valueScale >= 1 && valueScale.isFinite) { return "defences: value scale must be >= 1" }
        if !(valueFloor > 0 && valueFloor.isFinite) { return "defences: value floor must be > 0" }
        if !(clipFactor > 1 && clipFactor.isFinite) { return "defences: clip factor must be > 1" }
        if !(clipAdaptation > 0 && clipAdaptation < 1) { return "defences: clip adaptation must be in (0, 1)" }
        if !(clipPrior > 0 && clipPrior.isFinite) { return "defences: clip prior must be > 0" }
        if !(tailFactor >= 1 && tailFactor.isFinite) { return "defences: tail factor must be >= 1" }
        return nil
    }
}

/// Applies `MergeDefences` to received copies, and keeps the per-row state self-centred clipping adapts (the typical
/// distance of each row). One per peer, owned by its gossip instance; not checkpointed (a restarted peer starts from
/// the prior again, as a fresh one does).
public struct CopyScreen: Sendable {
    public var defences: MergeDefences
    /// r_i per row: the typical distance of received copies' row i from this peer's (0: none seen yet).
    public private(set) var typicalDistance: [Float] = []

    public init(defences: MergeDefences = .on) {
        precondition(defences.validate() == nil, defences.validate() ?? "")
        self.defences = defences
    }

    /// What screening did to one copy: the evidence `PartnerReputation` judges a partner by.
    public struct Verdict: Sendable, Hashable {
        /// Rows in the copy as received.
        public var rows = 0
        /// Rows with a claimed weight that passed the value bound (what clipping judged).
        public var rowsJudged = 0
        /// Rows dropped by the value bound.
        public var rowsRejected = 0
        /// Rows moved towards the receiver's by clipping.
        public var rowsClipped = 0
        /// Rows whose claimed weight exceeded the honest bound (`MergeDefences.boundWeights`).
        public var weightsOverBound = 0
        /// Rows whose claimed weight was cut by the tail cap.
        public var weightsTailCapped = 0
        /// The copy's clock led the receiver's by more than `maxClockLead` (and was read as that lead).
        public var leadCapped = false
        /// The copy's clock was more than `maxClockLead` behind the receiver's (a stale copy: a returning peer's).
        public var stale = false
        /// Mean over rows of distance / radius, before clipping (how far the copy sits, in radii; 0 without clipping).
        public var meanDistanceInRadii: Float = 0

        public init() {}

        /// Rows that failed a bound on their values (rejected or clipped), as a share of the copy's rows.
        public var failedShare: Double {
            rowsJudged + rowsRejected == 0 ? 0 : Double(rowsRejected + rowsClipped) / Double(rowsJudged + rowsRejected)
        }
        /// True when the copy claimed something no honest peer can hold (a weight over the bound, a row over the value bound).
        public var impossible: Bool { weightsOverBound > 0 || rowsRejected > 0 }
    }

    /// Screens `p` (which `table.accepts`) in place against the receiver's `table` and model `clock`, for merge rule
    /// `rule`. Rows are dropped, moved and reweighted as `defences` say; the payload keeps its shape.
    public mutating func screen(_ p: inout ModelPayload, against table: ItemTable, clock: UInt64, rule: any MergeRule) -> Verdict {
        var v = Verdict()
        v.rows = p.items.count
        let D = defences
        // Clock.
        if p.round > clock, p.round - clock > D.maxClockLead {
            if D.boundClockLead { p.round = clock + D.maxClockLead }
            v.leadCapped = true
        } else if clock > p.round, clock - p.round > D.maxClockLead {
            v.stale = true
        }
        guard D.boundWeights || D.boundValues || D.clipRows || D.protectTail, !p.items.isEmpty else { return v }
        let d = table.dimension, w = table.wireDimension, n = p.items.count
        if D.clipRows, typicalDistance.count != table.itemCount {
            typicalDistance = [Float](repeating: 0, count: table.itemCount)
        }
        // Pass 1: the receiver's norms on the copy's rows, and the copy's rows' norms and distances (in Double: a row
        // of 3e38s must not overflow).
        var ownNorm = [Float](repeating: 0, count: n), norm = [Double](repeating: 0, count: n), dist = [Double](repeating: 0, count: n)
        var longest: Float = 0
        table.factors.withUnsafeBufferPointer { F in
            p.values.withUnsafeBufferPointer { V in
                for r in 0..<n {
                    let i = Int(p.items[r])
                    let dst = F.baseAddress! + i * d, src = V.baseAddress! + r * w
                    var a = 0.0, b = 0.0, c = 0.0
                    for k in 0..<d {
                        let x = Double(src[k]), y = Double(dst[k])
                        a += x * x; b += y * y; c += (x - y) * (x - y)
                    }
                    let x = Double(src[d]), y = Double(table.bias[i])
                    a += x * x; b += y * y; c += (x - y) * (x - y)
                    norm[r] = a.squareRoot(); dist[r] = c.squareRoot()
                    ownNorm[r] = Float(b.squareRoot())
                    longest = max(longest, ownNorm[r])
                }
            }
        }
        // Weights: the honest bound, and the tail cap around the receiver's median weight.
        let bound: Float? = D.boundWeights ? rule.honestWeightBound(maxSlowdown: D.maxSlowdown) : nil
        var median: Float = 0
        if D.protectTail {
            var ws = table.trainedSteps.filter { $0 > 0 }
            if !ws.isEmpty {
                let mid = ws.count / 2
                ws.withUnsafeMutableBufferPointer { $0.sort() }
                median = ws[mid]
            }
        }
        let valueBound = Double(max(D.valueScale * longest, D.valueFloor))
        var keep = [Bool](repeating: true, count: n)
        var distanceInRadii: Double = 0
        for r in 0..<n {
            let i = Int(p.items[r])
            if D.boundValues, norm[r] > valueBound {
                keep[r] = false
                v.rowsRejected += 1
                continue
            }
            var wr = p.weights[r]
            if let bound, wr > bound { wr = bound; v.weightsOverBound += 1 }
            if median > 0 {
                let cap = D.tailFactor * max(table.trainedSteps[i], median)
                if wr > cap { wr = cap; v.weightsTailCapped += 1 }
            }
            if D.clipRows, p.weights[r] > 0 {   // a row without weight moves nothing (and a fresh peer's copy is all such)
                var ri = typicalDistance[i]
                if ri <= 0 { ri = D.clipPrior * max(ownNorm[r], 1e-3) }
                let tau = D.clipFactor * ri
                let di = dist[r]
                distanceInRadii += di / Double(tau)
                v.rowsJudged += 1
                if di > Double(tau) {
                    // In Double: src − dst of two large rows may not fit a Float.
                    let s = Double(tau) / di
                    let row = r * w, own = i * d
                    for k in 0..<d {
                        let y = Double(table.factors[own + k])
                        p.values[row + k] = Float(y + s * (Double(p.values[row + k]) - y))
                    }
                    let y = Double(table.bias[i])
                    p.values[row + d] = Float(y + s * (Double(p.values[row + d]) - y))
                    wr *= Float(s)
                    v.rowsClipped += 1
                }
                // A stale copy (a returning peer's) is clipped but does not teach the radius what distances are normal.
                if !v.stale { typicalDistance[i] = (1 - D.clipAdaptation) * ri + D.clipAdaptation * Float(min(di, Double(tau))) }
            }
            if wr != p.weights[r] { p.weights[r] = wr < PushSumVoteMerge.weightFloor ? 0 : wr }
        }
        v.meanDistanceInRadii = D.clipRows ? Float(distanceInRadii / Double(max(1, v.rowsJudged))) : 0
        if v.rowsRejected > 0 {
            var items: [UInt32] = [], weights: [Float] = [], values: [Float] = []
            items.reserveCapacity(n - v.rowsRejected); weights.reserveCapacity(n - v.rowsRejected)
            values.reserveCapacity((n - v.rowsRejected) * w)
            for r in 0..<n where keep[r] {
                items.append(p.items[r]); weights.append(p.weights[r]); values.append(contentsOf: p.values[r * w..<(r + 1) * w])
            }
            p.items = items; p.weights = weights; p.values = values
        }
        return v
    }
}
