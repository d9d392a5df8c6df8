#if canImport(Glibc)
import Glibc
#endif

/// The defences a peer applies to every received copy before its merge rule folds it in: the one place where
/// the numbers a partner claims (row weights, the model clock, row values) are bounded by what an honest peer
/// could have sent (issue 17). Each defence has a switch (all on by default) so that measurements can turn it
/// off; `CopyScreen` applies them, `PeerLearner.merge(_:using:trust:screen:)` calls it. The per-partner reputation
/// lives with the per-partner state, in PeerCore (`PartnerReputation`).
///
/// ## The threat
/// A key holder (a stolen device, a Sybil with many accounts) runs modified code: its copies pass the wire's
/// checks (shape, finite numbers, authentication) and say whatever it likes. Push-sum (`PushSumVoteMerge`) believes
/// the weight a sender claims, the staleness discount believes its clock, and the merge computes `src − dst` on its
/// values: about 1% of peers claiming weight 1e30 on every row took a 943-peer swarm down to random ranking.
///
/// ## What the stack does, measured
/// `gossiprec simulate --engine events`, ML-100K, 943 peers, 300 virtual s, seeds 1 and 2, benign peers' HR@10 pooled
/// over the last 100 s (`Scripts/attack-pairs.sh`): clean 0.5352 undefended, 0.5372 defended; 1% of peers inflating
/// their weights (`Attack.Kind.weightInflation`) 0.1086 undefended, 0.5373 defended; 5%: 0.1104 and 0.5316. What does the
/// work is the whole-copy cut of `clipRows`: the liars' rows sit 4 row norms from the receiver's, while early in a run
/// honest copies differ by about one row norm (SGD at rate 0.5 moves a row by a good part of its length per step), so
/// per-row clipping alone let them through (0.18 at 5%, 100 s). A first look at the other kinds (200 peers, 60 s, 5%):
/// clock forgery, huge values and L-D are held like weight inflation; L-S, O-D and O-S only in part, and promotion's
/// ER@10 falls from 0.94 to 0.25, not to its clean value.
/// Spattack's O-D, O-S and L-S stay inside the clipping radius and were not held by the rest of the stack (943 peers,
/// 5%, seed 1: 0.336, 0.410, 0.173 against 0.538 clean); the step cap (`capSteps`) holds them (O-D 0.488, L-S 0.526,
/// clean 0.531 with it; README, "Trust and safety", for the whole table and its commands).
///
/// ## What none of these defences covers
/// - A liar that stays inside every bound: weights at most the honest bound and a straggler's vote above the
///   receiver's, a clock at most `maxClockLead` ahead, most rows within the copy threshold of the receiver's. Each such
///   copy moves a row by at most the clipping radius (20 honest distances) with a weight a straggler could have, so a
///   persistent minority can still bias rows in the direction it likes, most on rows honest copies agree on least.
/// - Sending more often than honest peers (the harness's attackers gossip at the honest rate), or many Sybils: the
///   damage grows with the share of merges an attacker takes part in, and the running-median radii give way once
///   attackers make half of a row's merges.
/// - A liar that moves each row by less than the step cap (6 radii) per merge, or pads its copy with honest rows so
///   that fewer than half of them would overstep 3 radii: the step cap then only bounds each merge's damage.
/// - Data poisoning: a malicious peer's own ratings, trained honestly, are indistinguishable from a user's.
/// - A fresh or returning peer whose first partners are mostly liars (it doubts itself and accepts them, see
///   `clipRows`).
/// - `WeightedAverageMerge`: its weights are step counts that never decay, so no weight bound is known for it
///   (`MergeRule.honestWeightBound` is nil); clipping, value and clock bounds still apply.
public struct MergeDefences: Sendable, Hashable {
    /// **Claimed-weight bound.** Every claimed row weight is cut to `MergeRule.honestWeightBound(maxSlowdown:)`:
    /// for push-sum, k·c/(1 − γ) (derived there; 100 with the defaults). Honest peers never exceed it (it is an
    /// invariant of the rule's arithmetic), so it never triggers for churn, late joiners or returning peers; only a
    /// straggler slower than `maxSlowdown` holds more and is cut to it. A liar can still claim the bound on every row,
    /// far more than most honest rows hold (about 10·n_i/N for n_i voters per round): the tail cap is tighter.
    public var boundWeights = true
    /// **Clock-lead bound.** A copy stamped more than `maxClockLead` versions ahead of the receiver's model clock is
    /// read as if it were exactly that far ahead: the staleness discount then multiplies the receiver's own weights by
    /// at least stalenessDecay^maxClockLead (0.98^32 = 0.52 by default) instead of zeroing them, and the receiver's
    /// clock advances by at most `maxClockLead` per merge instead of saturating. Copies behind the receiver are not
    /// touched (a stale clock only discounts the sender's own weights). Honest: clocks of peers in one swarm differ by
    /// a few versions (no lead was capped in a clean 943-peer run); a late joiner or a returning peer, whose clock is
    /// far behind, still adopts fresh copies (its own weights count at most 52% per merge) and catches up by
    /// `maxClockLead` versions per merge. A liar can still lead by `maxClockLead` on every copy: it halves the
    /// receiver's weights per merge and drives clocks forward faster than time (between honest peers that adds lags of
    /// at most `maxClockLead`).
    public var boundClockLead = true
    /// **Value bound.** A row whose Euclidean norm exceeds max(`valueScale` × the largest row norm of the receiver's
    /// own copy, `valueFloor`) is dropped from the copy (not merged at all). Norms are summed in Double when a value
    /// exceeds 1e18, so a row of 3e38s is measured, not overflowed, and nothing inside the merge overflows. Honest rows
    /// grow slowly (a local step and a merge move a row by a fraction of its norm), and the floor covers small tables
    /// (a fresh peer's initial rows have norm about 0.6). A liar can still send rows up to the bound; clipping then
    /// limits how far they move the receiver.
    public var boundValues = true
    /// **Self-centred clipping** (He, Karimireddy and Jaggi, "Byzantine-robust decentralized learning via
    /// ClippedGossip", 2022), for sparse per-item copies, at two levels, around the receiver's own rows:
    /// - *the copy*: when more than half of a copy's weighted rows sit beyond max(`copyFactor` r_i, `copyRelative` ×
    ///   the receiver's row norm), the copy is an outlier and is not merged at all (ClippedGossip clips a neighbour's
    ///   whole model; a copy whose typical row is several honest distances and twice a row's length away is a whole
    ///   model that far). This is what stops the attacks measured: a liar's ×(−3) rows sit 4 row norms away;
    /// - *rows*: each received row is moved towards the receiver's so that its distance is at most τ_i
    ///   (x_i + CLIP(x_j − x_i, τ_i) instead of x_j), and its claimed weight is multiplied by (τ_i / d_i)^`clipWeightPower`
    ///   (a row far from the receiver's brings less push-sum mass).
    /// τ_i = `clipFactor` × r_i, r_i a running median of the distances seen for row i (a multiplicative quantile
    /// tracker: ×e^{η/2} after a copy farther than r_i, ×e^{−η/2} after a nearer one, η = `clipAdaptation`), starting
    /// at `clipPrior` × the norm of the receiver's row. ClippedGossip picks τ so that about as many neighbours are
    /// clipped as there are Byzantine ones; the running median is the one-partner-per-merge version: copies that are
    /// always far (a share p of a row's merges) only move r_i to the honest (1/2 − p)/(1 − p) quantile, so the radii
    /// hold while attackers make less than half of a row's merges (a mean or a root mean square would grow without
    /// bound from p ≈ 1/κ or 1/κ²). Dropped copies do not move the radii at all.
    /// Honest: the median distance of a row is its disagreement between copies nobody just trained; a copy whose
    /// sender just voted on the row sits one local step further, many radii once the swarm has converged. So κ is
    /// large: at κ = 6, 1.2% of honest rows were clipped, mostly fresh votes, and HR@10 after 300 s fell 5% (ML-100K,
    /// 943 peers); at κ = 20 nothing measurable is lost. Honest copies dropped whole are a few in a thousand (a heavy
    /// user's copy moves most rows by a vote; `copyRelative` keeps those once rows are long). A receiver that is far
    /// from everyone (a returning peer, a late joiner, a receiver poisoned earlier) would see every copy as an outlier:
    /// while more than half of its recent copies were (`outlierRate`), it doubts itself rather than its partners,
    /// merges them (clipped) and its radii grow by e^{η/2} per merge. A stale copy (a returning peer's) is clipped,
    /// which its staleness calls for anyway, and does not move the radii. Rows the receiver holds no weight for are
    /// clipped too: a fresh peer's rows are the swarm's shared initial table, the one reference an attacker cannot
    /// forge. A liar within the copy threshold on half its rows is not dropped, and its rows move the receiver by up to
    /// τ_i each (20 honest distances: on a cold row, about half a row's length); a peer that doubts itself accepts
    /// liars too.
    public var clipRows = true
    /// **Tail protection.** Two rules for cold rows (tail items few honest peers train, where the receiver holds
    /// little weight), so that an attacker cannot own a row just by claiming a big weight for it:
    /// - a claimed weight may exceed the receiver's own weight on that row by at most `tailVotes` votes (c each): one
    ///   straggler's vote at the defaults (10), so a claim on a row the receiver holds 0.01 for is cut from 100 (the
    ///   claimed-weight bound) to 10.01, and the attacker's mass on it to half that;
    /// - in the merge, the receiver's row counts at least `tailPrior` (a tenth of a vote): a row the receiver holds no
    ///   weight for is no longer replaced outright by whatever arrives with any weight (the rule's step share becomes
    ///   w_r / (max(w_l, prior) + w_r), `MergeRule.mergeAccepted(_:into:localRound:priorWeight:)`).
    /// Honest: in push-sum, a copy's weight exceeds the receiver's by at most the votes its sender cast since they last
    /// mixed, one straggler vote k·c on the rows it just trained (γw + k c ≤ w + k c); a fresh peer's weightless rows
    /// still take 90% or more of a copy with one vote's weight. A liar can still claim w_l + 10 on every row (a step
    /// share above 0.9 on a cold row) and move it by the clipping radius per merge.
    public var protectTail = true
    /// **Step cap** (for the attacks that stay inside the clipping radius: Spattack's O-D, O-S and L-S, issue 17).
    /// One copy may move a row by at most `stepCap` typical distances r_i in one merge. The merge moves the receiver's
    /// row by a·d (d the distance after clipping, a = w_r / (max(w_l, prior) + w_r) the step share); when that exceeds
    /// `stepCap` × r_i, the claimed weight is lowered until it does not (a = `stepCap` r_i / d). Only the weight changes:
    /// the row still points where the sender put it, and the mass it brings into push-sum shrinks with its step.
    /// Why it holds where clipping did not: clipping bounds the *distance* of a row (20 r_i), but the tail cap still lets
    /// a liar claim ten votes more than the receiver holds, a step share near 1 on most rows; a liar then moves a row by
    /// up to 20 r_i per merge and, through the weight it leaves behind (half its excess), the receiver's next copies
    /// carry the lie on with more weight than honest rows hold. With the step cap a copy moves a row by at most
    /// `stepCap` r_i and leaves at most the weight that step needs.
    /// Honest: a copy that nobody just trained sits about r_i away with a step share near 1/2 (a step of r_i/2); a fresh
    /// vote on a converged row sits further, and its step is cut to `stepCap` r_i (it still moves the row, only less far
    /// per merge, and reaches the receiver through later merges as well). Not applied while the receiver doubts itself
    /// (most recent copies were outliers: a late joiner or a returning peer catching up), and rows the receiver holds no
    /// weight for (a fresh peer's: it has nothing to defend there yet, and adopts the swarm's rows within the clipping
    /// radius) are left alone.
    /// *The copy*: when more than half of a copy's weighted rows would move by more than `stepCopyCap` r_i, the copy is an outlier
    /// and is not merged at all (`Verdict.stepOutlier`, sharing `clipRows`'s self-doubt: not while most recent copies
    /// were outliers). An honest copy holds every row, and moves by more than a few radii only the rows its sender just
    /// voted on; Spattack's copies move every row they hold (O-D: all rows; O-S and L-S: at most 100 rows, all lies).
    /// A malicious key holder can still move every row it sends by `stepCap` r_i per merge in the direction it likes, and
    /// in every merge it takes part in: a persistent bias of that size, where honest merges move rows the same amount in
    /// directions that mostly cancel; pad a copy with honest rows so that fewer than half of its rows overstep (then it
    /// is not dropped whole, and each lying row is still cut to `stepCap` r_i); move a fresh peer's weightless rows as far
    /// as the clipping radius; and the radii r_i grow if liars make half of a row's merges.
    public var capSteps = true

    /// k: the largest straggler slowdown an honest peer may have (the claimed-weight bound grows with it).
    public var maxSlowdown: Double = 10
    /// Versions a copy's clock may lead the receiver's.
    public var maxClockLead: UInt64 = 32
    /// A row may be at most this many times longer than the receiver's longest row (or `valueFloor`).
    public var valueScale: Float = 8
    /// Rows up to this norm always pass the value bound.
    public var valueFloor: Float = 16
    /// κ: the clipping radius in typical (median) distances.
    public var clipFactor: Float = 20
    /// η: the running median moves by a factor e^{±η/2} per copy.
    public var clipAdaptation: Float = 0.4
    /// A row's typical distance before any copy was seen, as a share of the receiver's row norm.
    public var clipPrior: Float = 0.5
    /// A copy whose median row sits beyond this many radii r_i, and beyond `copyRelative` times the receiver's row
    /// norm, is an outlier and is not merged.
    public var copyFactor: Float = 3
    public var copyRelative: Float = 2
    /// A clipped row's claimed weight is multiplied by (τ_i / d_i)^`clipWeightPower`.
    public var clipWeightPower: Float = 2
    /// The tail cap: a claimed weight may exceed the receiver's own by at most this many votes (c each).
    public var tailVotes: Float = 10
    /// The weight the receiver's row counts at least in the merge's step share.
    public var tailPrior: Float = 0.1
    /// μ: a copy may move a row by at most μ typical distances r_i per merge (`capSteps`).
    public var stepCap: Float = 6
    /// A copy more than half of whose weighted rows would move the receiver's by more than this many typical distances
    /// is not merged at all (`capSteps`; tighter than `stepCap`, because a whole copy of such rows is rarer than a row).
    public var stepCopyCap: Float = 3

    public init() {}

    /// Every defence on, with the default parameters.
    public static let on = MergeDefences()
    /// Every defence off (the merge rule sees copies as received; for measurements).
    public static let off: MergeDefences = {
        var d = MergeDefences()
        d.boundWeights = false; d.boundClockLead = false; d.boundValues = false; d.clipRows = false; d.protectTail = false; d.capSteps = false
        return d
    }()

    /// True when at least one defence is on.
    public var anyOn: Bool { boundWeights || boundClockLead || boundValues || clipRows || protectTail || capSteps }

    /// The switches' names, as `--defences` spells them, in order.
    public static let names = ["weights", "clock", "values", "clip", "tail", "step"]

    /// The switches that are on, by name (`names`).
    public var enabled: [String] {
        zip(Self.names, [boundWeights, boundClockLead, boundValues, clipRows, protectTail, capSteps]).filter(\.1).map(\.0)
    }

    /// Turns the switch `name` (one of `names`) on or off; false for an unknown name.
    public mutating func set(_ name: String, _ on: Bool) -> Bool {
        switch name {
        case "weights": boundWeights = on
        case "clock": boundClockLead = on
        case "values": boundValues = on
        case "clip": clipRows = on
        case "tail": protectTail = on
        case "step": capSteps = on
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
        if !(clipAdaptation > 0 && clipAdaptation <= 2) { return "defences: clip adaptation must be in (0, 2]" }
        if !(clipPrior > 0 && clipPrior.isFinite) { return "defences: clip prior must be > 0" }
        if !(tailPrior >= 0 && tailPrior.isFinite) { return "defences: tail prior must be >= 0" }
        if !(tailVotes >= 1 && tailVotes.isFinite) { return "defences: tail votes must be >= 1" }
        if !(copyFactor >= 1 && copyFactor.isFinite) { return "defences: copy factor must be >= 1" }
        if !(copyRelative >= 0 && copyRelative.isFinite) { return "defences: copy relative must be >= 0" }
        if !(clipWeightPower >= 0 && clipWeightPower.isFinite) { return "defences: clip weight power must be >= 0" }
        if !(stepCap > 0 && stepCap.isFinite) { return "defences: step cap must be > 0" }
        if !(stepCopyCap > 0 && stepCopyCap.isFinite) { return "defences: step copy cap must be > 0" }
        return nil
    }
}

/// Applies `MergeDefences` to received copies, and keeps the per-row state self-centred clipping adapts (the typical
/// distance of each row). One per peer, owned by its gossip instance; not checkpointed (a restarted peer starts from
/// the prior again, as a fresh one does).
public struct CopyScreen: Sendable {
    public var defences: MergeDefences
    /// Exponential average (weight 0.2) of outlier copies among recent ones: above 1/2 the receiver doubts itself, not
    /// its partners, and merges outliers too. A fresh screen starts undecided at 1/2: a peer that is far from the swarm
    /// (a late joiner on the initial table, a restarted peer) drops one outlier copy and merges the next.
    public private(set) var outlierRate: Float = 0.5
    /// r_i per row: the typical (running median) distance of received copies' row i from this peer's (0: none seen yet).
    public private(set) var typicalDistance: [Float] = []

    /// A copy with fewer weighted rows than this is never an outlier as a whole (its rows are still clipped).
    public static let minimumRowsForOutlier = 8

    /// The receiver's weight floor in the merge's step share (`MergeDefences.tailPrior` when tail protection is on).
    public var priorWeight: Float { defences.protectTail ? defences.tailPrior : 0 }

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
        /// Rows whose claimed weight was lowered by the step cap (`MergeDefences.capSteps`).
        public var rowsStepCapped = 0
        /// Rows whose claimed weight was cut by the tail cap.
        public var weightsTailCapped = 0
        /// The copy's clock led the receiver's by more than `maxClockLead` (and was read as that lead).
        public var leadCapped = false
        /// More than half of the copy's rows sat beyond the copy threshold (`MergeDefences.clipRows`): not merged at all.
        public var outlier = false
        /// An outlier only by the step cap: most of its rows would have moved the receiver's by more than the step cap
        /// (`MergeDefences.capSteps`), while most sat within the copy threshold's distance.
        public var stepOutlier = false
        /// The copy's clock was more than `maxClockLead` behind the receiver's (a stale copy: a returning peer's).
        public var stale = false
        /// Mean over rows of distance / radius, before clipping (how far the copy sits, in radii; 0 without clipping).
        public var meanDistanceInRadii: Float = 0

        public init() {}

        /// Rows that failed a bound on their values (rejected or clipped), as a share of the rows judged (0 for an
        /// outlier copy, which was not looked at row by row).
        public var failedShare: Double {
            rowsJudged + rowsRejected == 0 ? 0 : Double(rowsRejected + rowsClipped) / Double(rowsJudged + rowsRejected)
        }
        /// True when the copy claimed something no honest peer can hold (a weight over the bound, a row over the value bound).
        public var impossible: Bool { weightsOverBound > 0 || rowsRejected > 0 }
        /// True when the copy failed the screen as a whole: an outlier, an impossible claim, or more than `share` of its
        /// judged rows clipped or rejected (what `PartnerReputation` counts against the sender).
        public func failed(share: Double) -> Bool { outlier || impossible || failedShare > share }
    }

    /// Screens `p` (which `table.accepts`) in place against the receiver's `table` and model `clock`, for merge rule
    /// `rule`: its clock is capped, rows are dropped (value bound), moved towards the receiver's and reweighted
    /// (clipping, weight caps) as `defences` say; an outlier copy is emptied (`Verdict.outlier`: merge nothing).
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
        guard D.boundWeights || D.boundValues || D.clipRows || D.protectTail || D.capSteps, !p.items.isEmpty else { return v }
        let d = table.dimension, w = table.wireDimension, n = p.items.count
        if D.clipRows || D.capSteps, typicalDistance.count != table.itemCount {
            typicalDistance = [Float](repeating: 0, count: table.itemCount)
        }
        // Pass 1: the receiver's norms on the copy's rows, and the copy's rows' norms and distances from them.
        var ownNorm = [Float](repeating: 0, count: n), norm = [Double](repeating: 0, count: n), dist = [Double](repeating: 0, count: n)
        var longest: Float = 0
        table.factors.withUnsafeBufferPointer { F in
            table.bias.withUnsafeBufferPointer { B in
                p.values.withUnsafeBufferPointer { V in
                    p.items.withUnsafeBufferPointer { I in
                        for r in 0..<n {
                            let i = Int(I[r])
                            let (a, b, c) = Self.norms(V.baseAddress! + r * w, F.baseAddress! + i * d, B[i], d)
                            norm[r] = a; dist[r] = c
                            ownNorm[r] = Float(b)
                            longest = max(longest, ownNorm[r])
                        }
                    }
                }
            }
        }
        // Weights: the honest bound, and the tail cap (at most `tailVotes` votes above the receiver's own weight).
        let bound: Float? = D.boundWeights ? rule.honestWeightBound(maxSlowdown: D.maxSlowdown) : nil
        let allowance: Float? = D.protectTail ? rule.honestVoteBound(maxSlowdown: Double(D.tailVotes)) : nil
        let valueBound = Double(max(D.valueScale * longest, D.valueFloor))
        var keep = [Bool](repeating: true, count: n)
        var distanceInRadii: Double = 0
        var capSteps = D.capSteps
        let up = Float(exp(Double(D.clipAdaptation) / 2)), down = 1 / up
        if D.clipRows || D.capSteps {
            // The whole copy first: when more than half of its weighted rows sit beyond the copy threshold, or (step cap)
            // would move the receiver's row by more than the step cap, the copy is an outlier and is not merged at all
            // (unless most recent copies were: then the receiver is the odd one out).
            var beyond = 0, judged = 0, stepping = 0
            let stepRows = D.capSteps, clipping = D.clipRows
            let prior = priorWeight
            p.weights.withUnsafeBufferPointer { W in
                p.items.withUnsafeBufferPointer { I in
                    table.trainedSteps.withUnsafeBufferPointer { S in
                        typicalDistance.withUnsafeBufferPointer { T in
                            for r in 0..<n where W[r] > 0 && !(D.boundValues && norm[r] > valueBound) {
                                let i = Int(I[r])
                                let ri = Self.radius(typical: T[i], ownNorm: ownNorm[r], prior: D.clipPrior)
                                judged += 1
                                if clipping, dist[r] > Double(max(D.copyFactor * ri, D.copyRelative * ownNorm[r])) { beyond += 1 }
                                if stepRows {
                                    var wr = W[r]
                                    if let bound { wr = min(wr, bound) }
                                    if let allowance { wr = min(wr, S[i] + allowance) }
                                    let wl = max(S[i], prior)
                                    let di = clipping ? min(dist[r], Double(D.clipFactor * ri)) : dist[r]
                                    if S[i] > 0, Double(wr / (wl + wr)) * di > Double(D.stepCopyCap * ri) { stepping += 1 }
                                }
                            }
                        }
                    }
                }
            }
            let far = judged >= Self.minimumRowsForOutlier && 2 * beyond > judged
            let steps = judged >= Self.minimumRowsForOutlier && 2 * stepping > judged
            let outlier = far || steps
            let doubting = outlierRate > 0.5
            if doubting { capSteps = false }
            outlierRate = 0.8 * outlierRate + (outlier ? 0.2 : 0)
            if outlier, !doubting {
                v.outlier = true
                v.stepOutlier = steps && !far
                v.rowsJudged = judged
                p.items = []; p.weights = []; p.values = []
                return v
            }
        }
        for r in 0..<n {
            let i = Int(p.items[r])
            if D.boundValues, norm[r] > valueBound {
                keep[r] = false
                v.rowsRejected += 1
                continue
            }
            var wr = p.weights[r]
            if let bound, wr > bound { wr = bound; v.weightsOverBound += 1 }
            if let allowance {
                let cap = table.trainedSteps[i] + allowance
                if wr > cap { wr = cap; v.weightsTailCapped += 1 }
            }
            // A row the sender holds no weight for moves nothing (a fresh peer's copy is all such). A row the receiver
            // holds no weight for is still clipped around: a fresh peer's rows are the swarm's shared initial table, the
            // one reference an attacker cannot forge (at a swarm's start every peer is fresh, and a liar met before the
            // first honest copy would otherwise set every row it sends).
            if D.clipRows, p.weights[r] > 0 {
                let ri = Self.radius(typical: typicalDistance[i], ownNorm: ownNorm[r], prior: D.clipPrior)
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
                    wr *= Float(pow(s, Double(D.clipWeightPower)))
                    v.rowsClipped += 1
                }
                // r_i tracks the median distance. A stale copy (a returning peer's) is clipped but does not teach the
                // radius what distances are normal.
                if !v.stale { typicalDistance[i] = Self.nextRadius(ri, distance: di, up: up, down: down) }
                if capSteps { stepCap(&wr, distance: min(di, Double(tau)), radius: ri, own: table.trainedSteps[i], v: &v) }
            } else if capSteps, p.weights[r] > 0 {
                // Clipping off: the step is judged on the unclipped distance, and r_i still tracks the median.
                let ri = Self.radius(typical: typicalDistance[i], ownNorm: ownNorm[r], prior: D.clipPrior)
                stepCap(&wr, distance: dist[r], radius: ri, own: table.trainedSteps[i], v: &v)
                if !v.stale { typicalDistance[i] = Self.nextRadius(ri, distance: dist[r], up: up, down: down) }
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

    /// r_i of a row: its running median distance `typical`, or, before any copy taught it one, `prior` (`clipPrior`)
    /// times the receiver's row norm (at least 1e-3). The one rule behind the copy test, clipping and the step cap.
    @inline(__always)
    static func radius(typical: Float, ownNorm: Float, prior: Float) -> Float {
        typical > 0 ? typical : prior * max(ownNorm, 1e-3)
    }

    /// The next r_i after a copy at `distance`: up when the copy sat beyond r_i, down otherwise, so r_i tracks the median.
    @inline(__always)
    static func nextRadius(_ ri: Float, distance: Double, up: Float, down: Float) -> Float {
        distance > Double(ri) ? ri * up : ri * down
    }

    /// The step cap (`MergeDefences.capSteps`): lowers the claimed weight `wr` of a row at `distance` from the receiver's
    /// (after clipping) so that the merge moves the row by at most `stepCap` × `radius`; `own` is the receiver's weight.
    @inline(__always)
    func stepCap(_ wr: inout Float, distance: Double, radius: Float, own: Float, v: inout Verdict) {
        let wl = max(own, priorWeight)
        guard wr > 0, own > 0, distance > 0 else { return }
        let cap = Double(defences.stepCap * radius)
        let a = Double(wr) / Double(wl + wr)
        guard a * distance > cap else { return }
        let b = cap / distance   // < a < 1
        wr = Float(b * Double(wl) / (1 - b))
        v.rowsStepCapped += 1
    }

    /// (‖src‖, ‖dst‖, ‖src − dst‖) of a wire row `src` (`d` floats and a bias) and a table row `dst` with bias `bias`.
    /// In Float with four partial sums while every value of `src` is below 1e18 in magnitude (its square below 1e36:
    /// the sums cannot overflow); in Double otherwise (a row of 3e38s is measured, not overflowed). The magnitude test
    /// rides along the Float pass (a lane-wise compare of the squares): a separate scalar max loop was two thirds of the
    /// screen's time, because `max` on Floats is a dependent chain of compare-and-blend.
    @inline(__always)
    static func norms(_ src: UnsafePointer<Float>, _ dst: UnsafePointer<Float>, _ bias: Float, _ d: Int) -> (Double, Double, Double) {
        var a = SIMD4<Float>(), b = SIMD4<Float>(), c = SIMD4<Float>()
        var huge = SIMDMask<SIMD4<Int32>>(repeating: false)
        let limit = SIMD4<Float>(repeating: 1e36)
        let s = UnsafeRawPointer(src), t = UnsafeRawPointer(dst)
        var k = 0
        while k + 4 <= d {
            let x = s.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
            let y = t.loadUnaligned(fromByteOffset: 4 * k, as: SIMD4<Float>.self)
            let xx = x * x
            huge .|= xx .>= limit
            a += xx; b += y * y; c += (x - y) * (x - y)
            k += 4
        }
        var a1 = a.sum(), b1 = b.sum(), c1 = c.sum()
        var tooBig = any(huge)
        while k < d {
            let x = src[k], y = dst[k]
            a1 += x * x; b1 += y * y; c1 += (x - y) * (x - y)
            tooBig = tooBig || x * x >= 1e36
            k += 1
        }
        let x = src[d], y = bias
        a1 += x * x; b1 += y * y; c1 += (x - y) * (x - y)
        if !tooBig && x * x < 1e36 {
            return (Double(a1.squareRoot()), Double(b1.squareRoot()), Double(c1.squareRoot()))
        }
        var ad = 0.0, bd = 0.0, cd = 0.0
        for k in 0...d {
            let x = Double(src[k]), y = Double(k < d ? dst[k] : bias)
            ad += x * x; bd += y * y; cd += (x - y) * (x - y)
        }
        return (ad.squareRoot(), bd.squareRoot(), cd.squareRoot())
    }
}
