import Testing
@testable import RecommenderModel

/// The trainer's journal of touched rows stands in for a whole copy of the table: same rows, same pre-epoch
/// values, and a round rolled back through it ends exactly where it started.
@Suite struct EpochJournalTests {
    static func learner(_ optimizer: OptimizerKind, loss: Loss = .bce, seed: UInt64 = 6) throws -> PeerLearner {
        let split = try LeaveOneOutSplit.make(from: plantedLog(seed: 99), negatives: 20, seed: 4)
        var c = TrainingConfig()
        c.dimension = 8; c.learningRate = 0.1; c.l2 = 0.01; c.optimizer = optimizer; c.loss = loss
        var l = PeerLearner(shard: split.shards[3], config: c, tableSeed: 5, peerSeed: seed)
        for _ in 0..<3 { l.trainLocal(absorbingWith: PushSumVoteMerge()) }   // weights and values off their start
        return l
    }

    @Test(arguments: [(OptimizerKind.sgd, Loss.bce), (.adagrad, .bce), (.sgd, .bpr), (.adagrad, .bpr)])
    func recordsExactlyTheRowsTheEpochChangedWithTheirOldValues(optimizer: OptimizerKind, loss: Loss) throws {
        var a = try Self.learner(optimizer, loss: loss)
        var b = a
        let before = a.items
        var journal = EpochJournal(for: a.items)
        _ = withUnsafeMutablePointer(to: &journal) { a.trainLocal(learnItems: true, journal: $0) }
        b.trainLocal()
        #expect(a.items == b.items && a.user == b.user, "recording changes nothing in the training itself")
        let diff = EpochJournal(before: before, after: a.items)
        #expect(!journal.rows.isEmpty)
        #expect(journal.rows.sorted() == diff.rows)
        // Restoring the journal gives back the table from before the epoch, Adagrad state and step counts included.
        var restored = a.items
        journal.restore(into: &restored)
        #expect(restored == before)
        // Rows outside the journal were not touched.
        for i in 0..<before.itemCount where !journal.contains(i) {
            #expect(a.items.trainedSteps[i] == before.trainedSteps[i] && a.items.bias[i] == before.bias[i])
        }
    }

    @Test func absorbingFromTheJournalEqualsAbsorbingFromAWholeCopy() throws {
        for rule in [PushSumVoteMerge(decay: 0.9), PushSumVoteMerge(decay: 0.7, negatives: .local)] as [PushSumVoteMerge] {
            var journaled = try Self.learner(.sgd)
            var copied = journaled
            journaled.trainLocal(absorbingWith: rule)
            let before = copied.items
            copied.trainLocal()
            rule.absorbLocalEpoch(before: before, into: &copied.items, positivesSorted: copied.positivesSorted)
            #expect(journaled.items == copied.items)
        }
    }

    @Test(arguments: [OptimizerKind.sgd, .adagrad])
    func aRoundWithNonFiniteResultsIsRolledBackOverAllItsEpochs(optimizer: OptimizerKind) throws {
        for rule in [PushSumVoteMerge(), WeightedAverageMerge(), FrozenItemsMerge()] as [any MergeRule] {
            var l = try Self.learner(optimizer)
            let healthy = l
            let kept = l.trainRound(epochs: 3, absorbingWith: rule)
            #expect(kept, "a normal round is kept")
            #expect(l.items != healthy.items || rule is FrozenItemsMerge)
            l = healthy
            l.config.learningRate = 1e30   // overflows within the first epoch
            let keptOverflow = l.trainRound(epochs: 3, absorbingWith: rule)
            #expect(!keptOverflow)
            #expect(l.items == healthy.items, "\(rule.name): table back to its state before the round")
            #expect(l.user == healthy.user)
            #expect(l.round == healthy.round + 3, "the round counter stays advanced")
        }
    }
}
