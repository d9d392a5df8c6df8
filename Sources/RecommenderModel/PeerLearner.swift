/// Everything one peer knows and learns: its own data (a `UserShard`), its private user vector, and its
/// copy of the shared item table. This is the pure learning half of a peer; the protocol decides when to
/// train, whom to gossip with and what to send, and calls these methods.
public struct PeerLearner: Sendable {
    public let shard: UserShard
    public var config: TrainingConfig
    public var user: UserVector
    public var items: ItemTable
    public var rng: SplitMix64
    /// Local training epochs completed (the peer's own round counter).
    public internal(set) var round: UInt64 = 0
    /// The model clock, a Lamport clock over model versions (Lamport, "Time, clocks, and the ordering of
    /// events in a distributed system", CACM 1978): +1 per local epoch, and after every merge the maximum of
    /// its own value and the clock of the copy merged in (`merge(_:using:)`). It travels as
    /// `ModelPayload.round`. A peer that was offline keeps its old clock, so its copy arrives far behind the
    /// swarm's and merge rules can discount it (`Staleness`); merging one fresh copy brings it up to date.
    /// Arithmetic saturates: a forged huge clock cannot trap a peer.
    public internal(set) var clock: UInt64 = 0
    public let positivesSorted: [Int32]

    /// All peers of a swarm start from the same item table (`tableSeed`), so their embeddings share one
    /// latent basis and averaging copies is meaningful; the user vector comes from the peer's own seed.
    public init(shard: UserShard, config: TrainingConfig, tableSeed: UInt64, peerSeed: UInt64) {
        self.init(shard: shard, config: config, items: Self.initialItems(itemCount: shard.itemCount, config: config, tableSeed: tableSeed),
                  peerSeed: peerSeed)
    }

    /// The item table every peer of a swarm with this `tableSeed` starts from (what the other initializer builds).
    public static func initialItems(itemCount: Int, config: TrainingConfig, tableSeed: UInt64) -> ItemTable {
        var tableRNG = SplitMix64(seed: tableSeed)
        return ItemTable(itemCount: itemCount, dimension: config.dimension, initStd: config.initStd,
                         adagrad: config.optimizer == .adagrad, rng: &tableRNG)
    }

    /// A peer starting from `items` (`initialItems`, built once and shared by a simulator's peers: the arrays are
    /// copied on a peer's first write, not drawn again). `items` must match the shard's catalogue and `config`.
    public init(shard: UserShard, config: TrainingConfig, items: ItemTable, peerSeed: UInt64) {
        precondition(items.itemCount == shard.itemCount && items.dimension == config.dimension,
                     "PeerLearner: an initial table of \(items.itemCount) x \(items.dimension) for \(shard.itemCount) items, dimension \(config.dimension)")
        self.shard = shard
        self.config = config
        self.items = items
        rng = SplitMix64(seed: peerSeed)
        user = UserVector(dimension: config.dimension, initStd: config.initStd, adagrad: config.optimizer == .adagrad, rng: &rng)
        positivesSorted = shard.trainItemsSorted
    }

    /// One local epoch over the peer's own training positives. Returns the mean loss per positive.
    @discardableResult
    public mutating func trainLocal(learnItems: Bool = true) -> Double {
        trainLocal(learnItems: learnItems, journal: nil)
    }

    /// One local epoch; `journal`, when given, receives the item rows it changes as they were before.
    mutating func trainLocal(learnItems: Bool, journal: UnsafeMutablePointer<EpochJournal>?) -> Double {
        round += 1
        clock = clock == .max ? .max : clock + 1
        guard !positivesSorted.isEmpty else { return 0 }
        let total = LocalTrainer.trainUser(user: &user, items: &items, positivesSorted: positivesSorted,
                                           config: config, rng: &rng, learnItems: learnItems, journal: journal)
        return total / Double(positivesSorted.count)
    }

    /// One local epoch whose item moves are then handed to `rule.absorbLocalEpoch` (for rules such as
    /// `PushSumVoteMerge` that turn local steps into votes); the same as `trainLocal` for other rules.
    @discardableResult
    public mutating func trainLocal(absorbingWith rule: any MergeRule, learnItems: Bool = true) -> Double {
        guard rule.absorbsLocalEpochs, learnItems else { return trainLocal(learnItems: learnItems) }
        var journal = EpochJournal(for: items)
        return trainEpoch(absorbingWith: rule, learnItems: true, journal: &journal)
    }

    @discardableResult
    private mutating func trainEpoch(absorbingWith rule: any MergeRule, learnItems: Bool, journal: inout EpochJournal) -> Double {
        let loss = withUnsafeMutablePointer(to: &journal) { trainLocal(learnItems: learnItems, journal: $0) }
        if rule.absorbsLocalEpochs, learnItems {
            rule.absorbLocalEpoch(journal, into: &items, positivesSorted: positivesSorted)
        }
        return loss
    }

    /// A gossip round's training: `epochs` local epochs (each absorbed by `rule`), then a check that the user
    /// vector and every item row they touched are finite. If not, the item table and user vector go back to
    /// where they were before the first epoch (the round and clock counters stay advanced) and this returns
    /// false: no training input can leave a non-finite number in the model.
    public mutating func trainRound(epochs: Int, absorbingWith rule: any MergeRule) -> Bool {
        let savedUser = user, savedSteps = items.trainedSteps
        var journals: [EpochJournal] = []
        for _ in 0..<epochs {
            var journal = EpochJournal(for: items)
            trainEpoch(absorbingWith: rule, learnItems: true, journal: &journal)
            journals.append(journal)
        }
        if ModelChecks.allFinite(user.values) && journals.allSatisfy({ $0.touchedRowsAreFinite(in: items) }) { return true }
        for journal in journals.reversed() { journal.restore(into: &items) }   // latest epoch first: ends pre-round
        items.trainedSteps = savedSteps   // the decay of untouched rows too
        user = savedUser
        return false
    }

    /// Folds a received copy into this peer's table with `rule` (the receiver's clock is the `localRound`
    /// the rule sees), then advances the model clock to the copy's clock if that is ahead. Returns false,
    /// changing nothing, when the table does not accept the payload (wrong shape or a non-finite number).
    @discardableResult
    /// `trust` (0...1] multiplies the incoming rows' weights first: how much this peer trusts the
    /// sender (the client graph's similarity weighting, after DFedRec); 1 merges as the rule says.
    /// `priorWeight` > 0: the receiver's row weights count at least that much in how far a row moves (tail protection,
    /// `MergeRule.mergeAccepted(_:into:localRound:priorWeight:)`).
    public mutating func merge(_ payload: ModelPayload, using rule: any MergeRule, trust: Float = 1, priorWeight: Float = 0) -> Bool {
        guard items.accepts(payload) else { return false }
        if trust < 1, trust > 0 {
            var scaled = payload
            for i in scaled.weights.indices { scaled.weights[i] *= trust }
            rule.mergeAccepted(scaled, into: &items, localRound: clock, priorWeight: priorWeight)
        } else {
            rule.mergeAccepted(payload, into: &items, localRound: clock, priorWeight: priorWeight)
        }
        clock = max(clock, payload.round)
        return true
    }

    /// `merge(_:using:trust:)` after `screen` has applied its defences (`MergeDefences`) to the payload: the rule
    /// then merges the screened copy, and the clock advances to the screened copy's clock (at most
    /// `MergeDefences.maxClockLead` ahead). Returns nil, changing nothing, when the table does not accept the payload;
    /// else what the screen found (the evidence `PartnerReputation` judges the sender by).
    public mutating func merge(_ payload: ModelPayload, using rule: any MergeRule, trust: Float = 1,
                               screen: inout CopyScreen) -> CopyScreen.Verdict? {
        guard items.accepts(payload) else { return nil }
        var screened = payload
        let verdict = screen.screen(&screened, against: items, clock: clock, rule: rule)
        if !verdict.outlier { merge(screened, using: rule, trust: trust, priorWeight: screen.priorWeight) }
        return verdict
    }

    /// This peer's copy of the rows with training weight at least `minWeight`, stamped with its model clock.
    public func payload(minWeight: Float = 0) -> ModelPayload { items.payload(round: clock, minWeight: minWeight) }

    /// The given rows of this peer's copy (see `ItemTable.payload(round:rows:)`), stamped with its model clock.
    public func payload(rows: [Int]) -> ModelPayload { items.payload(round: clock, rows: rows) }

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
