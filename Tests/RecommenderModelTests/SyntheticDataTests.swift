import Testing
@testable import RecommenderModel

/// The second data set (`SyntheticData.lowRank`): deterministic, shaped like real ratings, learnable.
@Suite struct SyntheticDataTests {
    static func small(seed: UInt64 = 3) -> SyntheticData.LowRankSettings {
        var s = SyntheticData.LowRankSettings()
        s.users = 200; s.items = 300; s.rank = 4; s.medianPerUser = 20; s.minPerUser = 8; s.seed = seed
        return s
    }

    @Test func theSameSeedWritesTheSameFileAndTheCSVParsesBack() throws {
        let a = SyntheticData.ratingsCSV(SyntheticData.lowRank(Self.small()))
        #expect(a == SyntheticData.ratingsCSV(SyntheticData.lowRank(Self.small())))
        #expect(a != SyntheticData.ratingsCSV(SyntheticData.lowRank(Self.small(seed: 4))))
        let log = try InteractionLog.parse(bytes: Array(a.utf8), file: "ratings.csv")
        #expect(log.userCount == 200)
        #expect(log.interactions.allSatisfy { (1...5).contains($0.rating) })
    }

    @Test func popularityAndActivityAreLongTailedAndEveryUserHasEnough() {
        let log = SyntheticData.lowRank(Self.small())
        var perItem = [Int](repeating: 0, count: 300), perUser = [Int](repeating: 0, count: 200)
        for x in log.interactions { perItem[Int(x.item)] += 1; perUser[Int(x.user)] += 1 }
        perItem.sort(by: >)
        let topTenth = perItem.prefix(30).reduce(0, +)   // uniform popularity would give 10%
        #expect(Double(topTenth) > 0.2 * Double(log.interactions.count), "top 10% of items: \(topTenth) of \(log.interactions.count)")
        #expect(perUser.min()! >= 8 && perUser.max()! <= 75)
        #expect(perUser.max()! > 2 * perUser.sorted()[100], "activity is not long-tailed: \(perUser.sorted())")
    }

    @Test func aFactorModelBeatsPopularityOnIt() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.lowRank(Self.small()), negatives: 50, seed: 1)
        var config = TrainingConfig()
        config.dimension = 8
        var trainer = CentralTrainer(split: split, config: config, seed: 2)
        for _ in 0..<30 { _ = trainer.epoch() }
        let mf = trainer.evaluate().hitRate
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split).hitRate
        #expect(mf > pop + 0.05, "MF HR@10 \(mf), ItemPop \(pop)")
    }

    @Test func settingsOutOfRangeAreNamed() {
        var s = Self.small()
        s.minPerUser = 200
        #expect(s.validate()?.hasPrefix("min-per-user") == true)
        s = Self.small(); s.items = 4
        #expect(s.validate()?.hasPrefix("items") == true)
    }
}
