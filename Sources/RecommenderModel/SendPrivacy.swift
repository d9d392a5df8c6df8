#if canImport(Glibc)
import Glibc
#endif

/// What a peer does to its own copy of the item table so that the copies it sends say less about which items its user
/// interacted with (issue 18; the attack is `PrivacyAudit`). Every knob changes only the sender's own table after a
/// local round (a–c) or which rows an exchange carries (d), so the receiving side, the merge rules and the wire format
/// are unchanged, and push-sum mass is conserved (a decoy vote is a vote; a row left out of an exchange is left out
/// on both sides).
///
/// - (a) `spreadVotes`: after a local round, each row the round did not train casts the same vote a trained row casts
///   (weight γ^e w + c(1 + γ + … + γ^(e-1))), with a plausible move (`decoyMove`). At 1 every row's weight gets the
///   same update every round, so weights no longer single out trained rows (the push-sum consensus then dilutes a
///   row's step over all N peers instead of its n_i voters, as plain averaging does).
/// - (b) `pseudoItems`: a persistent set of `pseudoItems` × |I_u| decoy rows, drawn once per start among the rows the
///   user did not interact with, with probability proportional to the row's swarm weight (a popularity proxy, so
///   decoys are as popular as real items), voted every round with a plausible move (FedGNN's pseudo-interacted items:
///   Wu et al., "A federated graph neural network framework for privacy-preserving personalization", 2022).
/// - (c) `clipNorm` and `noiseMultiplier`: each round's change of every voted row (trained or decoy) is clipped to L2
///   norm `clipNorm` and Gaussian noise of standard deviation `noiseMultiplier × clipNorm` is added to each of its
///   coordinates (local differential privacy on the update). With `spreadVotes` = 1 every row is noised. Item-level
///   guarantee for one round: whether the user trained item i changes row i's clipped update by at most C in L2, so
///   the Gaussian mechanism gives (ε, δ) with ε = √(2 ln(1.25/δ)) / σ (`epsilonPerRound`, meaningful for ε ≤ 1); over T
///   rounds, zero-concentrated DP composes to ρ = T / (2σ²), ε = ρ + 2√(ρ ln(1/δ)) (`epsilon(rounds:delta:)`; Bun and
///   Steinke, TCC 2016). The weight channel is outside this guarantee unless `spreadVotes` = 1.
/// - (d) `shareFraction` < 1: a push carries each row with this probability; a responder answers (and merges) only
///   the rows it was sent, and when a push carries more than its own share (a curious pusher asking for the whole
///   table), only a random `shareFraction` of those. No single exchange shows a whole round.
public struct PrivacySettings: Hashable, Sendable {
    /// (a) The share of the rows a round did not train that cast the same vote as a trained row (0: off; 1: all).
    public var spreadVotes: Double = 0
    /// (b) Persistent pseudo-item decoy rows per real training item (0: off).
    public var pseudoItems: Double = 0
    /// The move of a decoy or spread row: in a uniformly random direction, as long as the move of a random row the round
    /// trained among the user's positives, times this (0: a decoy stays put and votes for its current value).
    public var decoyMove: Float = 1
    /// (c) L2 bound of a voted row's change per round (values and bias; 0: no clipping, no noise).
    public var clipNorm: Float = 0
    /// (c) Gaussian noise per coordinate, in units of `clipNorm`.
    public var noiseMultiplier: Float = 0
    /// (d) The share of rows one exchange carries (1: every row).
    public var shareFraction: Double = 1

    public init() {}
    public static let off = PrivacySettings()

    /// True when any knob that changes the table after a local round is on (a–c).
    public var changesRounds: Bool { spreadVotes > 0 || pseudoItems > 0 || clipNorm > 0 }

    /// A message naming the first bad field, or nil.
    public func validate() -> String? {
        if !(0...1).contains(spreadVotes) { return "spread votes must be in 0...1" }
        if !(0...100).contains(pseudoItems) { return "pseudo items must be in 0...100 per real item" }
        if !(decoyMove >= 0 && decoyMove <= 100) { return "decoy move must be in 0...100" }
        if !(clipNorm >= 0 && clipNorm.isFinite) { return "clip norm must be >= 0" }
        if !(noiseMultiplier >= 0 && noiseMultiplier.isFinite) { return "noise multiplier must be >= 0" }
        if noiseMultiplier > 0 && clipNorm == 0 { return "noise needs a clip norm" }
        if !(shareFraction > 0 && shareFraction <= 1) { return "share fraction must be in (0, 1]" }
        return nil
    }

    /// ε of one round's release of one row under the Gaussian mechanism (nil: no noise, no guarantee).
    public func epsilonPerRound(delta: Double = 1e-5) -> Double? {
        guard clipNorm > 0, noiseMultiplier > 0 else { return nil }
        return (2 * log(1.25 / delta)).squareRoot() / Double(noiseMultiplier)
    }

    /// ε after `rounds` rounds (zCDP composition), for one row.
    public func epsilon(rounds: Int, delta: Double = 1e-5) -> Double? {
        guard clipNorm > 0, noiseMultiplier > 0 else { return nil }
        let s = Double(noiseMultiplier)
        let rho = Double(rounds) / (2 * s * s)
        return rho + 2 * (rho * log(1 / delta)).squareRoot()
    }

    /// Each row with probability `shareFraction`, in increasing order (all rows at 1).
    public func sampleRows(count: Int, from candidates: [Int]? = nil, rng: inout SplitMix64) -> [Int] {
        let all = candidates ?? Array(0..<count)
        guard shareFraction < 1 else { return all }
        return all.filter { _ in rng.nextUnitDouble() < shareFraction }
    }
}

/// The per-start state of the sending defences: their generator (apart from training's and the protocol's, so a peer
/// with every knob off draws exactly what it drew before) and the pseudo items.
public struct SendPrivacyState: Sendable {
    public var rng: SplitMix64
    /// The pseudo-item rows, drawn at the first round that has swarm weights to draw them by.
    public private(set) var pseudoItems: [Int32]? = nil

    public init(seed: UInt64) { rng = SplitMix64(seed: seed ^ 0x9B1F_AC7E_0DD5_5EED) }

    /// The row values and weights of `table` as they were before a round (what `afterRound` compares with).
    public struct Before: Sendable {
        let factors: [Float], bias: [Float], weights: [Float]
        public init(_ t: ItemTable) { factors = t.factors; bias = t.bias; weights = t.trainedSteps }
    }

    /// Applies (a)–(c) of `settings` to `table` after a local round of `epochs` epochs that started from `before`.
    /// `vote` = (γ, c) of a push-sum rule (nil for other rules: decoys then move without voting).
    public mutating func afterRound(_ settings: PrivacySettings, before: Before, table: inout ItemTable, positivesSorted: [Int32],
                                    epochs: Int, vote: (decay: Float, weight: Float)?) {
        guard settings.changesRounds else { return }
        let n = table.itemCount, d = table.dimension
        // Rows the round trained: their values moved.
        var trained = [Bool](repeating: false, count: n)
        var moves: [Float] = []   // the L2 moves of the trained positives (what a decoy imitates)
        for i in 0..<n {
            var moved = table.bias[i] != before.bias[i]
            var s = (table.bias[i] - before.bias[i]) * (table.bias[i] - before.bias[i])
            for k in 0..<d {
                let x = table.factors[i * d + k] - before.factors[i * d + k]
                if x != 0 { moved = true }
                s += x * x
            }
            if moved {
                trained[i] = true
                if positivesSorted.withUnsafeBufferPointer({ LocalTrainer.contains($0, Int32(i)) }) { moves.append(s.squareRoot()) }
            }
        }
        // Decoy rows: pseudo items, then spread votes.
        var decoy = [Bool](repeating: false, count: n)
        if settings.pseudoItems > 0 {
            if pseudoItems == nil, table.trainedSteps.contains(where: { $0 > 0 }) {
                pseudoItems = drawPseudoItems(count: Int((settings.pseudoItems * Double(positivesSorted.count)).rounded()),
                                              weights: table.trainedSteps, positivesSorted: positivesSorted)
            }
            for i in pseudoItems ?? [] where !trained[Int(i)] { decoy[Int(i)] = true }
        }
        if settings.spreadVotes > 0 {
            for i in 0..<n where !trained[i] && !decoy[i] && (settings.spreadVotes >= 1 || rng.nextUnitDouble() < settings.spreadVotes) {
                decoy[i] = true
            }
        }
        var g: Float = 1, c: Float = 0
        if let v = vote {
            for _ in 0..<max(1, epochs) { c = v.decay * c + v.weight; g *= v.decay }
        }
        for i in 0..<n where decoy[i] {
            // A move in a random direction, as long as a random trained positive's move (times `decoyMove`).
            if settings.decoyMove > 0, !moves.isEmpty {
                let noise = Gaussian.fill(count: d + 1, std: 1, rng: &rng)
                let norm = noise.reduce(0) { $0 + $1 * $1 }.squareRoot()
                let length = moves[rng.next(below: moves.count)] * settings.decoyMove
                if norm > 0 {
                    for k in 0..<d { table.factors[i * d + k] += noise[k] * length / norm }
                    table.bias[i] += noise[d] * length / norm
                }
            }
            if vote != nil {
                let w = g * before.weights[i] + c
                table.trainedSteps[i] = w < PushSumVoteMerge.weightFloor ? 0 : w
            }
        }
        // (c) Clip and noise every voted row's change.
        guard settings.clipNorm > 0 else { return }
        let C = settings.clipNorm, std = settings.noiseMultiplier * C
        for i in 0..<n where trained[i] || decoy[i] {
            var s: Float = (table.bias[i] - before.bias[i]) * (table.bias[i] - before.bias[i])
            for k in 0..<d { let x = table.factors[i * d + k] - before.factors[i * d + k]; s += x * x }
            let norm = s.squareRoot()
            let scale: Float = norm > C ? C / norm : 1
            let noise = std > 0 ? Gaussian.fill(count: d + 1, std: std, rng: &rng) : [Float](repeating: 0, count: d + 1)
            for k in 0..<d {
                let b = before.factors[i * d + k]
                table.factors[i * d + k] = b + scale * (table.factors[i * d + k] - b) + noise[k]
            }
            table.bias[i] = before.bias[i] + scale * (table.bias[i] - before.bias[i]) + noise[d]
        }
    }

    /// `count` rows outside the positives, drawn without replacement with probability proportional to their weight
    /// plus 5% of the mean weight (Efraimidis and Spirakis' keys u^(1/w)).
    mutating func drawPseudoItems(count: Int, weights: [Float], positivesSorted: [Int32]) -> [Int32] {
        let mean = weights.reduce(0, +) / Float(max(1, weights.count))
        var keyed: [(Double, Int32)] = []
        positivesSorted.withUnsafeBufferPointer { P in
            for i in 0..<weights.count where !LocalTrainer.contains(P, Int32(i)) {
                let w = Double(weights[i] + 0.05 * mean + 1e-12)
                keyed.append((log(max(rng.nextUnitDouble(), 1e-300)) / w, Int32(i)))
            }
        }
        return keyed.sorted { $0.0 > $1.0 }.prefix(count).map(\.1).sorted()
    }
}
