/// Per-row push-sum with decaying votes: a merge rule under which the shared item table follows the
/// *mean step of the peers that trained a row* instead of the mean over all copies of the swarm.
///
/// ## Why
/// Weighted averaging (`WeightedAverageMerge`) conserves the mean of the copies, so a step one peer takes on
/// item row i reaches the swarm's consensus divided by N (every copy takes part in the average), whereas
/// centralized SGD sums the steps of the users who trained the row. Raising the learning rate to make up
/// for it also scales the peer's own local step and diverges.
///
/// ## What
/// Each peer holds, per row i, a push-sum pair (s_i, w_i) (Kempe, Dobra and Gehrke, "Gossip-based
/// computation of aggregate information", FOCS 2003) stored as the row value v_i = s_i / w_i (the table's
/// `factors` and `bias`, what training reads) and the weight w_i (`ItemTable.trainedSteps`, what
/// `ItemTable.payload` puts on the wire as the row's weight, so `ModelPayload` is unchanged).
/// - **Vote** (`absorbLocalEpoch`): once per local round, every weight decays by `decay` (γ), and a row the
///   epoch trained, moving from v_i to v_i + δ_i, casts a vote of weight c at its trained value:
///   s_i ← γ s_i + c (v_i + δ_i), w_i ← γ w_i + c. The row's local value becomes v_i + c δ_i / (γ w_i + c).
///   c is `positiveVote` for rows among the peer's positives, `negatives` decides the rows it only sampled as
///   negatives. A peer whose rounds come k times less often (a straggler) votes with k c (`spanning(periods:)`).
/// - **Merge** (`merge`): a push-pull exchange averages the two pairs, s ← (s_l + s_r)/2, w ← (w_l + w_r)/2,
///   i.e. v ← (w_l v_l + w_r v_r)/(w_l + w_r) and w ← (w_l + w_r)/2. When both sides merge the other's
///   pre-exchange copy, Σ s and Σ w over the swarm are unchanged (mass conservation), so the ratio Σ s / Σ w
///   that all copies converge to is exactly the weighted mean of all the votes ever cast, each discounted by
///   γ per round since it was cast.
///
/// At steady state the swarm's total weight on row i is n_i c / (1 − γ) for n_i voters per round, so one round
/// of votes moves the consensus by (1 − γ) × (mean δ over the voters of row i): the dilution is by the number
/// of peers that trained the row, not by N, and no peer inflates its own step (a voter's own copy moves by at
/// most δ, the plain local step). Rows nobody trains keep their value; their weight only decays (γ < 1 makes
/// the swarm forget stale votes and any mass lost to dropped messages, so it also self-heals under
/// asynchronous gossip: a decay per *local* round is all it needs, no round barrier).
///
/// Staleness (`stalenessDecay`, see `Staleness`): before averaging, the weights of the staler of the two
/// copies are multiplied by `stalenessDecay^lag`, lag being the difference of the model clocks
/// (`ModelPayload.round` against the receiver's `localRound`). Weights decay only per *local* round, so
/// without it a peer returning after a long absence carries full, un-decayed weights on an old model and
/// pulls everyone it meets halfway back; with it the returning copy counts for little and the returning
/// peer itself adopts the fresh copy.
///
/// Requirements on the protocol: both sides of an exchange must merge the *same rows* (a push-pull where the
/// responder answers the rows it was sent, or the whole table), each using the other's pre-merge copy;
/// otherwise mass is created or lost (bounded, and forgotten at rate γ). `minSendWeight` > 0 breaks this.
public struct PushSumVoteMerge: MergeRule {
    /// What a row the peer only sampled as a negative does with its epoch's move.
    public enum NegativeMode: Sendable, Equatable {
        /// Casts a vote of this weight (0: the move is discarded).
        case vote(Float)
        /// Keeps the trained value without voting (w unchanged but decayed): the negative step then reaches
        /// the consensus diluted by N, as under plain averaging.
        case local
    }

    /// γ in (0, 1]: the factor every weight decays by per local round (1: votes are never forgotten).
    public var decay: Float
    /// Vote weight c of a row among the peer's training positives.
    public var positiveVote: Float
    public var negatives: NegativeMode
    /// Per-version discount in (0, 1] of the staler copy's weights in a merge (`Staleness`; 1: none).
    /// The default, 0.98, is mild on purpose: in a swarm without churn copies are at most a few versions
    /// apart and lose at most a few percent of their weight, while a copy 100 versions behind keeps 13%.
    /// Measured without churn (`gossiprec simulate`, ML-100K NCF split, 100 rounds, seeds 1 / 2), final
    /// HR@10: 1 → 0.5080 / 0.5313, 0.98 → 0.5111 / 0.5334, 0.95 → 0.5027 / 0.5292, 0.9 → 0.4931 / 0.5186.
    public var stalenessDecay: Float
    public static let defaultStalenessDecay: Float = 0.98
    /// Weights below this become 0 (no denormals; a zero-weight row is replaced by the first copy with weight).
    public static let weightFloor: Float = 1e-30

    public var name: String {
        let neg: String
        switch negatives {
        case .vote(let c): neg = "\(c)"
        case .local: neg = "local"
        }
        let stale = stalenessDecay == 1 ? "" : ",stale=\(stalenessDecay)"
        return "pushsum(decay=\(decay),pos=\(positiveVote),neg=\(neg)\(stale))"
    }

    public init(decay: Float = 0.9, positiveVote: Float = 1, negatives: NegativeMode = .vote(1),
                stalenessDecay: Float = PushSumVoteMerge.defaultStalenessDecay) {
        precondition(stalenessDecay > 0 && stalenessDecay <= 1, "PushSumVoteMerge: stalenessDecay \(stalenessDecay) must be in (0, 1]")
        precondition(decay > 0 && decay <= 1, "PushSumVoteMerge: decay \(decay) must be in (0, 1]")
        precondition(positiveVote > 0 && positiveVote.isFinite, "PushSumVoteMerge: positiveVote \(positiveVote) must be positive")
        if case .vote(let c) = negatives {
            precondition(c >= 0 && c.isFinite, "PushSumVoteMerge: negative vote \(c) must be >= 0")
        }
        self.decay = decay; self.positiveVote = positiveVote; self.negatives = negatives
        self.stalenessDecay = stalenessDecay
    }

    public var absorbsLocalEpochs: Bool { true }

    /// Votes `periods` times heavier. Votes decay by γ per round of the swarm, so the consensus holds the votes of the
    /// last 1 / (1 - γ) rounds or so; a peer that votes `periods` times less often would otherwise be represented
    /// `periods` times less in it, forever, not just later.
    public func spanning(periods: Double) -> any MergeRule {
        guard periods > 0, periods != 1, periods.isFinite else { return self }
        var r = self
        let k = Float(periods)
        r.positiveVote = positiveVote * k
        if case .vote(let c) = negatives { r.negatives = .vote(c * k) }
        return r
    }

    /// k·c/(1 − γ), c the larger vote weight, k = `maxSlowdown`; nil when γ = 1 (votes never decay: no bound).
    ///
    /// Derivation from this rule's arithmetic. Suppose every weight any honest peer holds is at most B. A local epoch
    /// sets w ← γ w + c' for a row it voted on (c' ≤ k c: a straggler's rule is `spanning(periods: k)`) and w ← γ w for
    /// the others; a merge sets w ← (s_l w_l + s_r w_r) / 2 with staleness factors s ≤ 1 (and client-graph trust ≤ 1
    /// scales w_r first); the weight floor only lowers. So the new weight is at most max(γ B + k c, B), which is B
    /// when B ≥ k c / (1 − γ); fresh tables hold 0. By induction no honest weight ever exceeds k c / (1 − γ), whatever
    /// the churn, the order of events or the number of local epochs per round (each epoch decays before it votes).
    /// With the defaults (γ = 0.9, c = 1, k = 10) the bound is 100; a peer that trains a row every round and never
    /// merges reaches c / (1 − γ) = 10, and in a mixing swarm copies hold about 10 n_i / N for n_i voters per round.
    /// The bound returned is 0.1% above, for Float rounding.
    public func honestWeightBound(maxSlowdown: Double) -> Float? {
        guard decay < 1 else { return nil }
        var c = positiveVote
        if case .vote(let x) = negatives { c = max(c, x) }
        return Float(max(1, maxSlowdown)) * c / (1 - decay) * 1.001   // + 0.1%: Float rounding in the votes and averages
    }

    /// k·c, c the larger vote weight: what one round of a straggler at most `maxSlowdown` adds to a row's weight
    /// (`spanning(periods:)`), 0.1% above for Float rounding.
    public func honestVoteBound(maxSlowdown: Double) -> Float? {
        var c = positiveVote
        if case .vote(let x) = negatives { c = max(c, x) }
        return Float(max(1, maxSlowdown)) * c * 1.001
    }

    /// Mass-conserving push-pull average of every received row (see the type's docs). Before averaging, the weights of the staler of
    /// the two copies (receiver's clock `localRound` against the sender's `p.round`) are multiplied by
    /// `stalenessDecay^lag` (`Staleness`); at lag 0 or with `stalenessDecay` = 1 nothing is discounted.
    public func mergeAccepted(_ p: ModelPayload, into t: inout ItemTable, localRound: UInt64) {
        mergeAccepted(p, into: &t, localRound: localRound, priorWeight: 0)
    }

    /// The merge with the receiver's weight counted at least `priorWeight` in the step share a = w_r / (max(w_l, prior) + w_r)
    /// (`MergeRule.mergeAccepted(_:into:localRound:priorWeight:)`); with prior 0 it is the merge above, bit for bit.
    public func mergeAccepted(_ p: ModelPayload, into t: inout ItemTable, localRound: UInt64, priorWeight: Float) {
        let d = t.dimension, w = t.wireDimension
        let (sl, sr) = Staleness.factors(local: localRound, remote: p.round, decay: stalenessDecay)
        // Raw pointers throughout: this loop runs twice per exchange over every row of the table.
        t.factors.withUnsafeMutableBufferPointer { F in
            t.bias.withUnsafeMutableBufferPointer { B in
                t.trainedSteps.withUnsafeMutableBufferPointer { S in
                    p.values.withUnsafeBufferPointer { V in
                        p.weights.withUnsafeBufferPointer { W in
                            p.items.withUnsafeBufferPointer { I in
                                for r in 0..<I.count {
                                    let i = Int(I[r])
                                    let wr = W[r] * sr, wl = S[i] * sl
                                    let total = max(wl, priorWeight) + wr
                                    if total > 0 {
                                        let a = wr / total
                                        if a > 0 {
                                            let dst = F.baseAddress! + i * d, src = V.baseAddress! + r * w
                                            for k in 0..<d { dst[k] += a * (src[k] - dst[k]) }
                                            B[i] += a * (src[d] - B[i])
                                        }
                                    }
                                    let nw = 0.5 * wl + 0.5 * wr
                                    S[i] = nw < Self.weightFloor ? 0 : nw
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Turns one local epoch into votes. `epoch` holds the rows the epoch trained as they were before it; `table`
    /// is the table after it (training has moved those rows and added its step counts to `trainedSteps`, which
    /// this replaces by push-sum weights). Every weight decays; a trained row whose new value is not finite is
    /// restored and does not vote.
    public func absorbLocalEpoch(_ epoch: EpochJournal, into table: inout ItemTable, positivesSorted: [Int32]) {
        precondition(epoch.itemCount == table.itemCount && epoch.dimension == table.dimension,
                     "absorbLocalEpoch: journal of another table shape")
        let d = table.dimension, g = decay
        // Untouched rows only decay (touched rows are recomputed below from their pre-epoch weights).
        for i in 0..<table.itemCount {
            let wb = g * table.trainedSteps[i]
            table.trainedSteps[i] = wb < Self.weightFloor ? 0 : wb
        }
        table.factors.withUnsafeMutableBufferPointer { F in
            epoch.factors.withUnsafeBufferPointer { J in
                positivesSorted.withUnsafeBufferPointer { P in
                    for (k, row) in epoch.rows.enumerated() {
                        let i = Int(row)
                        let wb = g * epoch.steps[k]
                        let dst = F.baseAddress! + i * d, src = J.baseAddress! + k * d
                        var finite = table.bias[i].isFinite
                        for t in 0..<d where !dst[t].isFinite { finite = false }
                        if !finite {
                            for t in 0..<d { dst[t] = src[t] }
                            table.bias[i] = epoch.bias[k]
                            table.trainedSteps[i] = wb < Self.weightFloor ? 0 : wb
                            continue
                        }
                        let c: Float
                        if LocalTrainer.contains(P, Int32(i)) {
                            c = positiveVote
                        } else {
                            switch negatives {
                            case .vote(let x): c = x
                            case .local:
                                table.trainedSteps[i] = wb < Self.weightFloor ? 0 : wb
                                continue
                            }
                        }
                        let nw = wb + c
                        // v ← v_before + c δ / (γ w + c); a = 1 when the row had no weight yet.
                        let a: Float = nw > 0 ? c / nw : 0
                        for t in 0..<d { dst[t] = src[t] + a * (dst[t] - src[t]) }
                        table.bias[i] = epoch.bias[k] + a * (table.bias[i] - epoch.bias[k])
                        table.trainedSteps[i] = nw < Self.weightFloor ? 0 : nw
                    }
                }
            }
        }
    }
}

extension ItemTable {
    /// The given rows (indices in increasing order, each < `itemCount`) as a payload, with their weights.
    /// Both sides of a push-pull exchange should send the same rows (see `PushSumVoteMerge`).
    public func payload(round: UInt64, rows: [Int]) -> ModelPayload {
        let d = dimension
        var ids: [UInt32] = [], ws: [Float] = [], vals: [Float] = []
        ids.reserveCapacity(rows.count); ws.reserveCapacity(rows.count); vals.reserveCapacity(rows.count * (d + 1))
        for i in rows {
            precondition(i >= 0 && i < itemCount, "payload(rows:): row \(i) outside 0..<\(itemCount)")
            ids.append(UInt32(i)); ws.append(trainedSteps[i])
            vals.append(contentsOf: factors[i * d..<(i + 1) * d]); vals.append(bias[i])
        }
        var p = ModelPayload(itemCount: UInt32(itemCount), dimension: UInt16(d + 1), round: round, items: ids, weights: ws, values: vals)
        _ = ModelChecks.verify(&p)
        return p
    }
}
