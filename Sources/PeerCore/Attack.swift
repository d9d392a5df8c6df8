import GossipProtocol
import RecommenderModel

/// **Test-only attack harness** (issue 17): `PeerSettings.attack` makes a `PeerInstance` malicious. Such a peer runs
/// the honest code (membership, partner choice, training, merging what it receives) and lies only in the copies it
/// sends, pushes and replies alike, and, for the free rider, in not training. Because it lives in the core, both
/// drivers run it: `gossiprec simulate --attack KIND --attack-fraction F` (malicious peers drawn with
/// `SeedScheme.attackers`) and, hidden, `gossiprec node --attack KIND`. Nothing in a normal run sets it.
///
/// The malicious peers of a swarm share `sharedSeed` (one noise table for the L kinds, as Spattack's colluding clients
/// do) and know what the code publishes: the merge rule's honest weight bound (`MergeRule.honestWeightBound`), which
/// the stealthier kinds claim on every row they send.
public struct Attack: Sendable, Hashable {
    public enum Kind: String, CaseIterable, Sendable {
        /// Every row claims push-sum weight 1e30, with the values of the attacker's own copy times −3 (the attack of
        /// issue 17: about 1% of peers took a whole swarm without defences).
        case weightInflation = "weight-inflation"
        /// The copy's model clock is UInt64.max (the staleness discount then zeroes the receiver's weights), values
        /// times −3, honest weights.
        case clockForgery = "clock-forgery"
        /// Every value is ±3e38 (alternating), honest weights: overflow to infinity inside an undefended merge.
        case hugeValues = "huge-values"
        /// Spattack L-D ("Byzantine attacks exploiting sparse per-item aggregation in federated recommendation"):
        /// random noise, shared by all malicious peers, on every row, at `strength` times the RMS of the attacker's own
        /// values, each row claiming the honest weight bound.
        case noiseDense = "l-d"
        /// Spattack L-S: the same noise on at most `maxRows` rows per copy (as many as a benign peer trains), drawn
        /// by popularity; the copy holds only those rows.
        case noiseSparse = "l-s"
        /// Spattack O-D: the copies the attacker receives (merged into its own copy) are its estimate of the benign
        /// model; it sends, for every row, the estimate from its previous round pushed `strength` times the benign move
        /// since then in the opposite direction (e_prev − λ (e − e_prev); before its first round the move is the whole
        /// move away from the initial table), claiming the honest weight bound.
        case oppositeDense = "o-d"
        /// Spattack O-S: O-D on at most `maxRows` popularity-sampled rows per copy.
        case oppositeSparse = "o-s"
        /// PipAttack-style promotion (Zhang et al., WSDM 2022) of item `target` (the least popular item): the target's
        /// row is set to `strength` times the mean of the rows of the 20 most popular items (popularity alignment) with
        /// their largest bias, claiming the honest weight bound; every other row is the attacker's honest copy
        /// (the distance constraint). Exposure: ER@10 over benign users.
        case promotion = "promote"
        /// Pulls and never trains: sends copies without rows and learns only from the replies.
        case freeRider = "free-rider"

        /// `strength` when the caller gives none.
        public var defaultStrength: Float {
            switch self {
            case .noiseDense, .noiseSparse: return 3
            case .oppositeDense, .oppositeSparse: return 10
            case .promotion: return 2
            default: return 1
            }
        }
    }

    public var kind: Kind
    /// The promoted item (`promotion`).
    public var target = 0
    /// Rows per copy of the sparse kinds (`noiseSparse`, `oppositeSparse`): a benign peer's largest training set.
    public var maxRows = 100
    /// Interactions per item in the training data (the attacker's side knowledge, as in PipAttack and Spattack): the
    /// sparse kinds draw rows in proportion to it, promotion takes the most popular items' rows. Empty: uniform draws,
    /// and the rows with the largest weights in the attacker's copy stand for the popular items.
    public var popularity: [Int] = []
    /// One seed for all malicious peers of a swarm (the shared noise).
    public var sharedSeed: UInt64 = 0
    public var strength: Float

    public init(kind: Kind, target: Int = 0, maxRows: Int = 100, popularity: [Int] = [], sharedSeed: UInt64 = 0, strength: Float? = nil) {
        self.kind = kind; self.target = target; self.maxRows = maxRows; self.popularity = popularity
        self.sharedSeed = sharedSeed; self.strength = strength ?? kind.defaultStrength
    }

    public func validate(catalogueSize: Int) -> String? {
        if kind == .promotion, !(0..<catalogueSize).contains(target) { return "attack: target \(target) outside the catalogue" }
        if maxRows < 1 { return "attack: max rows must be >= 1" }
        if !popularity.isEmpty, popularity.count != catalogueSize { return "attack: popularity of \(popularity.count) items for \(catalogueSize)" }
        if !(strength.isFinite && strength > 0) { return "attack: strength must be > 0" }
        return nil
    }
}

/// A malicious peer's state: its generator, the estimate from its previous round (O kinds), the shared noise (L kinds).
struct Attacker: Sendable {
    let attack: Attack
    var rng: SplitMix64
    /// The attacker's copy (factors then biases, `wireDimension` per row) at the start of its previous round.
    var previous: [Float]
    /// Noise per row (L kinds), drawn once from `sharedSeed`: the same for every malicious peer.
    var noise: [Float] = []

    init(attack: Attack, seed: UInt64, table: ItemTable) {
        self.attack = attack
        rng = SplitMix64(seed: seed)
        previous = Self.rows(of: table)
        if attack.kind == .noiseDense || attack.kind == .noiseSparse {
            var shared = SplitMix64(seed: attack.sharedSeed ^ 0x5A77_AC4E)
            noise = Gaussian.fill(count: table.itemCount * table.wireDimension, std: 1, rng: &shared)
        }
    }

    /// `table`'s rows, embedding then bias.
    static func rows(of table: ItemTable) -> [Float] {
        var out: [Float] = []
        out.reserveCapacity(table.itemCount * table.wireDimension)
        for i in 0..<table.itemCount {
            out.append(contentsOf: table.factors[i * table.dimension..<(i + 1) * table.dimension])
            out.append(table.bias[i])
        }
        return out
    }

    /// The attacker's round starts: its estimate of the benign model, for the next copies' "benign move".
    mutating func onRound(table: ItemTable) {
        if attack.kind == .oppositeDense || attack.kind == .oppositeSparse { previous = Self.rows(of: table) }
    }

    /// The copy sent instead of `honest` (the attacker's own copy as the honest code built it); `table` is the
    /// attacker's table, `claim` the weight the stealthy kinds claim (the rule's honest bound).
    mutating func forge(_ honest: ModelPayload, table: ItemTable, claim: Float) -> ModelPayload {
        var p = honest
        let w = Int(honest.dimension)
        switch attack.kind {
        case .weightInflation:
            p.weights = [Float](repeating: 1e30, count: p.items.count)
            p.values = p.values.map { $0 * -3 }
        case .clockForgery:
            p.round = .max
            p.values = p.values.map { $0 * -3 }
        case .hugeValues:
            p.values = (0..<p.values.count).map { k in k % 2 == 0 ? 3e38 : -3e38 }
        case .noiseDense, .noiseSparse:
            let rms = Self.rms(honest.values)
            let rows = attack.kind == .noiseDense ? Array(0..<table.itemCount) : sampleRows(count: table.itemCount)
            p = Self.payload(honest, rows: rows, claim: claim, width: w) { i, k in attack.strength * rms * noise[i * w + k] }
        case .oppositeDense, .oppositeSparse:
            let now = Self.rows(of: table)
            let rows = attack.kind == .oppositeDense ? Array(0..<table.itemCount) : sampleRows(count: table.itemCount)
            let lambda = attack.strength
            p = Self.payload(honest, rows: rows, claim: claim, width: w) { i, k in
                let e0 = previous[i * w + k]
                return e0 - lambda * (now[i * w + k] - e0)
            }
        case .promotion:
            let t = attack.target
            let popular = mostPopular(20, table: table)
            var row = [Float](repeating: 0, count: w)
            var bias = -Float.infinity
            for i in popular {
                for k in 0..<table.dimension { row[k] += table.factors[i * table.dimension + k] / Float(popular.count) }
                bias = max(bias, table.bias[i])
            }
            for k in 0..<table.dimension { row[k] *= attack.strength }
            row[table.dimension] = bias.isFinite ? bias : 0
            if let r = p.items.firstIndex(of: UInt32(t)) {
                for k in 0..<w { p.values[r * w + k] = row[k] }
                p.weights[r] = claim
            } else {
                var rows = p.items.map(Int.init)
                rows.append(t)
                rows.sort()
                p = Self.payload(honest, rows: rows, claim: nil, width: w) { i, k in
                    i == t ? row[k] : (k < table.dimension ? table.factors[i * table.dimension + k] : table.bias[i])
                }
                if let r = p.items.firstIndex(of: UInt32(t)) { p.weights[r] = claim }
            }
        case .freeRider:
            p.items = []; p.weights = []; p.values = []
        }
        return p
    }

    /// A payload of `rows` (increasing) with values `value(row, k)`; weights `claim`, or the honest copy's (0 for rows
    /// it lacks) when nil.
    static func payload(_ honest: ModelPayload, rows: [Int], claim: Float?, width w: Int, value: (Int, Int) -> Float) -> ModelPayload {
        var values: [Float] = []
        values.reserveCapacity(rows.count * w)
        for i in rows { for k in 0..<w { values.append(value(i, k)) } }
        let weights: [Float]
        if let claim {
            weights = [Float](repeating: claim, count: rows.count)
        } else {
            var byItem: [UInt32: Float] = [:]
            for (r, i) in honest.items.enumerated() { byItem[i] = honest.weights[r] }
            weights = rows.map { byItem[UInt32($0)] ?? 0 }
        }
        return ModelPayload(itemCount: honest.itemCount, dimension: honest.dimension, round: honest.round,
                            items: rows.map { UInt32($0) }, weights: weights, values: values)
    }

    static func rms(_ xs: [Float]) -> Float {
        guard !xs.isEmpty else { return 1 }
        let s = xs.reduce(0.0) { $0 + Double($1) * Double($1) }
        return Float((s / Double(xs.count)).squareRoot())
    }

    /// Up to `maxRows` distinct rows, drawn in proportion to popularity (uniformly without it), in increasing order.
    mutating func sampleRows(count n: Int) -> [Int] {
        let m = min(attack.maxRows, n)
        var chosen = Set<Int>()
        let weights = attack.popularity.count == n ? attack.popularity.map { Double($0) + 1 } : [Double](repeating: 1, count: n)
        let total = weights.reduce(0, +)
        var tries = 0
        while chosen.count < m, tries < 50 * m {
            tries += 1
            var x = rng.nextUnitDouble() * total
            var pick = n - 1
            for i in 0..<n {
                if x < weights[i] { pick = i; break }
                x -= weights[i]
            }
            chosen.insert(pick)
        }
        return chosen.sorted()
    }

    /// The `k` most popular items (by `popularity`, else by the attacker's own row weights), never the target.
    func mostPopular(_ k: Int, table: ItemTable) -> [Int] {
        let score: [Double] = attack.popularity.count == table.itemCount ? attack.popularity.map(Double.init) : table.trainedSteps.map(Double.init)
        return (0..<table.itemCount).filter { $0 != attack.target }.sorted { score[$0] > score[$1] || (score[$0] == score[$1] && $0 < $1) }
            .prefix(k).map { $0 }
    }
}
