import Foundation
import Testing
@testable import RecommenderModel

/// Training must find planted structure that popularity cannot see.
///
/// 60 users in 4 taste groups; each group owns a block of 20 of the 80 items and each user touches 15 items
/// of its block. Every item is about equally popular (≈ 11 training interactions), so ItemPop ranks the held-out
/// item among its 30 negatives essentially at random: HR@10 ≈ 10/31 at best, and lower with ties counted
/// against it. Of a user's 65 untouched items only 5 are in its block, so about 30·5/65 ≈ 2.3 negatives share
/// the test item's group: a model that learned the groups ranks the test item in the top 10 almost always.
@Suite struct PlantedTrainingTests {
    static let negatives = 30

    static func split() throws -> LeaveOneOutSplit {
        try LeaveOneOutSplit.make(from: plantedLog(seed: 2024), negatives: negatives, seed: 3)
    }

    static var config: TrainingConfig {
        var c = TrainingConfig()
        c.dimension = 16
        c.loss = .bce
        c.negatives = 4
        c.learningRate = 0.1
        c.l2 = 0.01
        c.optimizer = .adagrad
        return c
    }

    @Test func itemPopularityIsNearChanceOnThePlantedData() throws {
        let split = try Self.split()
        #expect(split.testableUsers.count == 60)
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        #expect(pop.count == 60)
        #expect(pop.hitRate < 0.55)
    }

    @Test(arguments: [Loss.bce, .bpr])
    func centralTrainingBeatsItemPopularity(loss: Loss) throws {
        let split = try Self.split()
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        var cfg = Self.config
        cfg.loss = loss
        var trainer = CentralTrainer(split: split, config: cfg, seed: 7)
        let untrained = trainer.evaluate()
        #expect(trainer.positiveCount == 60 * 14)
        var losses: [Double] = []
        for _ in 0..<30 { losses.append(trainer.epoch()) }
        let trained = trainer.evaluate()
        #expect(trained.count == 60)
        #expect(losses.allSatisfy { $0.isFinite })
        #expect(losses.last! < 0.7 * losses.first!, "loss \(losses.first!) -> \(losses.last!)")
        #expect(trainer.items.isFinite)
        #expect(trainer.users.allSatisfy { $0.values.allSatisfy(\.isFinite) })
        #expect(trained.hitRate >= pop.hitRate + 0.3, "MF HR@10 \(trained.hitRate) vs ItemPop \(pop.hitRate)")
        #expect(trained.hitRate >= 0.8, "MF HR@10 \(trained.hitRate)")
        #expect(trained.ndcg > pop.ndcg + 0.2, "MF NDCG@10 \(trained.ndcg) vs ItemPop \(pop.ndcg)")
        #expect(trained.hitRate > untrained.hitRate + 0.3)
    }

    @Test(arguments: [Loss.bce, .bpr])
    func perUserLocalTrainingBeatsItemPopularity(loss: Loss) throws {
        let split = try Self.split()
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        var cfg = Self.config
        cfg.loss = loss
        var rng = SplitMix64(seed: 11)
        var items = ItemTable(itemCount: split.itemCount, dimension: cfg.dimension, initStd: cfg.initStd, adagrad: true, rng: &rng)
        var users = split.shards.map { _ in UserVector(dimension: cfg.dimension, initStd: cfg.initStd, adagrad: true, rng: &rng) }
        let positives = split.shards.map(\.trainItemsSorted)
        var order = Array(0..<split.userCount)
        var lastEpochLoss = 0.0, firstEpochLoss = 0.0
        for epoch in 0..<30 {
            order.shuffle(using: &rng)
            var total = 0.0
            for u in order {
                total += LocalTrainer.trainUser(user: &users[u], items: &items, positivesSorted: positives[u], config: cfg, rng: &rng)
            }
            if epoch == 0 { firstEpochLoss = total }
            lastEpochLoss = total
        }
        #expect(lastEpochLoss.isFinite && lastEpochLoss < 0.7 * firstEpochLoss)
        #expect(items.isFinite)
        #expect(users.allSatisfy { $0.values.allSatisfy(\.isFinite) && $0.g2.allSatisfy(\.isFinite) })
        var summary = RankingSummary(k: 10)
        for s in split.shards {
            let r = users[Int(s.user)].values.withUnsafeBufferPointer { up in
                s.testRank { items.score(user: up.baseAddress!, item: $0) }
            }
            if let r { summary.add(rank: r) }
        }
        #expect(summary.count == 60)
        #expect(summary.hitRate >= pop.hitRate + 0.3, "local HR@10 \(summary.hitRate) vs ItemPop \(pop.hitRate)")
        #expect(summary.hitRate >= 0.8, "local HR@10 \(summary.hitRate)")
    }

    @Test func frozenItemsOnlyMoveTheUserVector() throws {
        let split = try Self.split()
        var rng = SplitMix64(seed: 1)
        var items = ItemTable(itemCount: split.itemCount, dimension: 8, initStd: 0.1, adagrad: true, rng: &rng)
        var user = UserVector(dimension: 8, initStd: 0.1, adagrad: true, rng: &rng)
        var cfg = Self.config
        cfg.dimension = 8
        let before = items, userBefore = user
        LocalTrainer.trainUser(user: &user, items: &items, positivesSorted: split.shards[0].trainItemsSorted,
                               config: cfg, rng: &rng, learnItems: false)
        #expect(items == before)
        #expect(user.values != userBefore.values)
    }

    @Test func trainedStepsCountEveryTargetOfEveryStep() throws {
        let split = try Self.split()
        var rng = SplitMix64(seed: 4)
        var cfg = Self.config
        cfg.dimension = 8
        cfg.negatives = 3
        var items = ItemTable(itemCount: split.itemCount, dimension: 8, initStd: 0.1, adagrad: true, rng: &rng)
        var user = UserVector(dimension: 8, initStd: 0.1, adagrad: true, rng: &rng)
        let pos = split.shards[5].trainItemsSorted
        LocalTrainer.trainUser(user: &user, items: &items, positivesSorted: pos, config: cfg, rng: &rng)
        // BCE: each positive once plus 3 negatives per positive.
        #expect(items.trainedSteps.reduce(0, +) == Float(pos.count * (1 + 3)))
        for i in pos { #expect(items.trainedSteps[Int(i)] >= 1) }
    }
}
