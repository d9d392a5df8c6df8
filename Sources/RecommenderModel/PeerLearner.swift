/// Everything one peer knows and learns: its own data (a `UserShard`), its private user vector, and its
/// copy of the shared item table. This is the pure learning half of a peer; the protocol decides when to
/// train, whom to gossip with and what to send, and calls these methods.
public struct PeerLearner: Sendable {
    public let shard: UserShard
    public var config: TrainingConfig
    public var user: UserVector
    public var items: ItemTable
    public var rng: SplitMix64
    /// Local training epochs completed (the peer's own round counter, sent along with its model).
    public private(set) var round: UInt64 = 0
    public let positivesSorted: [Int32]

    /// All peers of a swarm start from the same item table (`tableSeed`), so their embeddings share one
    /// latent basis and averaging copies is meaningful; the user vector comes from the peer's own seed.
    public init(shard: UserShard, config: TrainingConfig, tableSeed: UInt64, peerSeed: UInt64) {
        self.shard = shard
        self.config = config
        var tableRNG = SplitMix64(seed: tableSeed)
        items = ItemTable(itemCount: shard.itemCount, dimension: config.dimension, initStd: config.initStd,
                          adagrad: config.optimizer == .adagrad, rng: &tableRNG)
        rng = SplitMix64(seed: peerSeed)
        user = UserVector(dimension: config.dimension, initStd: config.initStd, adagrad: config.optimizer == .adagrad, rng: &rng)
        positivesSorted = shard.trainItemsSorted
    }

    /// One local epoch over the peer's own training positives. Returns the mean loss per positive.
    @discardableResult
    public mutating func trainLocal(learnItems: Bool = true) -> Double {
        round += 1
        guard !positivesSorted.isEmpty else { return 0 }
        let total = LocalTrainer.trainUser(user: &user, items: &items, positivesSorted: positivesSorted,
                                           config: config, rng: &rng, learnItems: learnItems)
        return total / Double(positivesSorted.count)
    }

    /// One local epoch whose item moves are then handed to `rule.absorbLocalEpoch` (for rules such as
    /// `PushSumVoteMerge` that turn local steps into votes); the same as `trainLocal` for other rules.
    @discardableResult
    public mutating func trainLocal(absorbingWith rule: any MergeRule, learnItems: Bool = true) -> Double {
        guard rule.absorbsLocalEpochs, learnItems else { return trainLocal(learnItems: learnItems) }
        let before = items
        let loss = trainLocal(learnItems: true)
        rule.absorbLocalEpoch(before: before, into: &items, positivesSorted: positivesSorted)
        return loss
    }

    /// Rank of the held-out item among its negatives under the current model (nil without a test item).
    public func testRank() -> Int? {
        user.values.withUnsafeBufferPointer { u in shard.testRank { items.score(user: u.baseAddress!, item: $0) } }
    }

    /// Top-`k` recommendations: items not in the training set, best first.
    public func recommend(k: Int) -> [(item: Int, score: Float)] {
        let seen = Set(positivesSorted)
        var scored: [(Int, Float)] = []
        user.values.withUnsafeBufferPointer { u in
            for i in 0..<items.itemCount where !seen.contains(Int32(i)) {
                scored.append((i, items.score(user: u.baseAddress!, item: i)))
            }
        }
        return Array(scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k)).map { (item: $0.0, score: $0.1) }
    }
}
