/// A learner's resumable state, as a plain value: the item table (with its push-sum weights / step counts
/// and Adagrad accumulators), the user vector, the round counter, the model clock and where the peer's
/// private training stream is, so that a restored learner trains on exactly as the saved one would have.
///
/// This is the model's part of a checkpoint; the byte format and the files are PeerStore's. The data shard
/// is not part of it: a resuming peer rebuilds its `PeerLearner` from the same shard and config, then calls
/// `restore(from:)`. Merge rules keep no state outside the table (`PushSumVoteMerge` stores its push-sum
/// weights in `ItemTable.trainedSteps`), so nothing else is needed.
public struct LearnerState: Sendable, Equatable {
    /// `PeerLearner.round`: local epochs done.
    public var round: UInt64
    /// `PeerLearner.clock`: the model clock.
    public var clock: UInt64
    /// `PeerLearner.rng.state`: where the peer's private training stream is.
    public var rngState: UInt64
    public var user: UserVector
    public var items: ItemTable

    public init(round: UInt64, clock: UInt64, rngState: UInt64, user: UserVector, items: ItemTable) {
        self.round = round; self.clock = clock; self.rngState = rngState; self.user = user; self.items = items
    }

    /// True when the state carries Adagrad accumulators.
    public var adagrad: Bool { !items.factorsG2.isEmpty }
}

/// Why a saved `LearnerState` does not fit a learner: another catalogue, dimension or optimizer.
public struct LearnerShapeMismatch: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
}

extension PeerLearner {
    /// This learner's resumable state.
    public var state: LearnerState {
        LearnerState(round: round, clock: clock, rngState: rng.state, user: user, items: items)
    }

    /// Replaces this learner's trainable state by `saved` (table, user vector, round, clock, RNG), after
    /// checking that it has this learner's shape: same catalogue, same dimension, same optimizer. Rebuild the
    /// learner from the same shard and config first; afterwards it trains exactly as the saved one would have.
    public mutating func restore(from saved: LearnerState) throws(LearnerShapeMismatch) {
        let ada = config.optimizer == .adagrad
        guard saved.items.itemCount == items.itemCount, saved.items.dimension == items.dimension, saved.adagrad == ada,
              saved.user.values.count == user.values.count else {
            throw LearnerShapeMismatch(description: "saved state has \(saved.items.itemCount) items × \(saved.items.dimension)"
                                       + "\(saved.adagrad ? " with Adagrad" : ""), "
                                       + "this peer \(items.itemCount) × \(items.dimension)\(ada ? " with Adagrad" : "")")
        }
        items = saved.items
        user = saved.user
        round = saved.round
        clock = saved.clock
        rng = SplitMix64(seed: saved.rngState)
    }
}

extension ItemTable {
    /// A table from saved arrays (a decoder's; the caller checks the lengths: `factors` and `factorsG2` hold
    /// itemCount × dimension values, the others itemCount, the accumulators none without Adagrad).
    public init(restoring itemCount: Int, dimension: Int, factors: [Float], bias: [Float], factorsG2: [Float],
                biasG2: [Float], trainedSteps: [Float]) {
        self.itemCount = itemCount; self.dimension = dimension; self.factors = factors; self.bias = bias
        self.factorsG2 = factorsG2; self.biasG2 = biasG2; self.trainedSteps = trainedSteps
    }
}

extension UserVector {
    /// A user vector from saved arrays (`g2` empty without Adagrad).
    public init(values: [Float], g2: [Float]) { self.values = values; self.g2 = g2 }
}
