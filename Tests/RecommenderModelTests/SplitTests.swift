import Foundation
import Testing
@testable import RecommenderModel

/// The NCF leave-one-out split: which item is held out, how negatives are drawn, and when it refuses.
@Suite struct SplitTests {

    @Test func heldOutItemIsTheLatestWithTiesBrokenByTheLargerItemIndex() throws {
        // User "1": item 3 and item 2 share the latest timestamp; item 3 (larger index) is held out even though
        // item 2 comes later in the file. User "2": strictly latest item 1 wins over larger indices.
        let text = "1\t1\t5\t10\n1\t3\t4\t20\n1\t2\t3\t20\n2\t4\t1\t5\n2\t1\t2\t9\n2\t3\t2\t7\n"
        let log = try parseText(text, file: "u.data")
        let split = try LeaveOneOutSplit.make(from: log, negatives: 1, seed: 1)
        let u1 = split.shards[Int(dense(log.users, "1"))]
        #expect(u1.test?.item == dense(log.items, "3"))
        #expect(u1.test?.timestamp == 20)
        #expect(u1.test?.rating == 4)
        #expect(u1.train.map(\.item) == [dense(log.items, "1"), dense(log.items, "2")])
        let u2 = split.shards[Int(dense(log.users, "2"))]
        #expect(u2.test?.item == dense(log.items, "1"))
        // Training interactions are sorted by (timestamp, item).
        #expect(u2.train.map(\.timestamp) == [5, 7])
        #expect(u2.train.map(\.item) == [dense(log.items, "4"), dense(log.items, "3")])
        // User "2" touched items 4, 1, 3: the only untouched item is "2".
        #expect(u2.negatives == [dense(log.items, "2")])
    }

    @Test func negativesAreUntouchedDistinctInRangeAndExactlyN() throws {
        let log = randomLog(users: 30, items: 50, perUser: 12, seed: 11)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 25, seed: 4)
        #expect(split.shards.count == 30)
        #expect(split.testableUsers.count == 30)
        for s in split.shards {
            let touched = Set(log.interactions.filter { $0.user == s.user }.map(\.item))
            #expect(touched.count == 12)
            #expect(s.negatives.count == 25)
            #expect(Set(s.negatives).count == 25, "user \(s.user) has repeated negatives")
            #expect(s.negatives.allSatisfy { $0 >= 0 && $0 < 50 })
            #expect(Set(s.negatives).isDisjoint(with: touched), "user \(s.user) has a touched negative")
            // Train plus test is exactly what the user touched.
            #expect(Set(s.train.map(\.item) + [s.test!.item]) == touched)
            #expect(s.train.count == 11)
            #expect(s.itemCount == 50)
            #expect(s.train.allSatisfy { $0.user == s.user })
        }
        #expect(split.trainInteractions.count == 30 * 11)
    }

    @Test func negativesAreSpreadOverTheUntouchedItems() throws {
        // Over many users, every untouched item should be drawn at least once (a sampler stuck on a sub-range
        // or a fixed stride would leave items out).
        let log = randomLog(users: 200, items: 40, perUser: 5, seed: 2)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 10, seed: 9)
        var drawn = Set<Int32>()
        for s in split.shards { drawn.formUnion(s.negatives) }
        #expect(drawn.count == 40)
    }

    @Test func sameSeedSameSplitDifferentSeedDifferentNegatives() throws {
        let log = randomLog(users: 20, items: 60, perUser: 8, seed: 5)
        let a = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 77)
        let b = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 77)
        let c = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 78)
        #expect(a.shards == b.shards)
        #expect(a.shards.map(\.negatives) != c.shards.map(\.negatives))
        // The seed changes only the negatives, never which item is held out.
        #expect(a.shards.map(\.test) == c.shards.map(\.test))
        #expect(a.shards.map(\.train) == c.shards.map(\.train))
        // Different users get different negative draws even under one seed.
        #expect(Set(a.shards.map { $0.negatives }).count > 15)
    }

    @Test func negativesDoNotDependOnTheOrderOfTheLog() throws {
        let log = randomLog(users: 15, items: 40, perUser: 6, seed: 8)
        var shuffled = log
        var rng = SplitMix64(seed: 99)
        shuffled.interactions.shuffle(using: &rng)
        #expect(try LeaveOneOutSplit.make(from: log, negatives: 10, seed: 3).shards
                == LeaveOneOutSplit.make(from: shuffled, negatives: 10, seed: 3).shards)
    }

    @Test func usersWithOneInteractionKeepItForTraining() throws {
        let log = makeLog(users: 3, items: 10, [(0, 1, 5), (1, 2, 1), (1, 3, 2), (2, 4, 9)])
        let split = try LeaveOneOutSplit.make(from: log, negatives: 5, seed: 1)
        #expect(split.shards[0].test == nil)
        #expect(split.shards[0].negatives.isEmpty)
        #expect(split.shards[0].train.map(\.item) == [1])
        #expect(split.shards[2].test == nil && split.shards[2].train.count == 1)
        #expect(split.shards[1].test?.item == 3)
        #expect(split.testableUsers == [1])
        // Evaluation skips users without a test item.
        #expect(split.shards[0].testRank { _ in 0 } == nil)
    }

    @Test func exactlyEnoughUntouchedItemsGivesAllOfThem() throws {
        // User 0 touched 4 of 6 items: with N = 2 the negatives are exactly the 2 untouched items.
        let log = makeLog(users: 1, items: 6, [(0, 0, 1), (0, 2, 2), (0, 3, 3), (0, 5, 4)])
        let split = try LeaveOneOutSplit.make(from: log, negatives: 2, seed: 12)
        #expect(Set(split.shards[0].negatives) == [1, 4])
        #expect(split.shards[0].negatives.count == 2)
    }

    @Test func tooFewUntouchedItemsIsAnErrorNamingTheUser() {
        let log = InteractionLog(
            interactions: [0, 2, 3, 5].map { Interaction(user: 0, item: $0, rating: 1, timestamp: Int64($0)) },
            users: IDMap(raw: ["alice"]), items: IDMap(raw: (0..<6).map { "i\($0)" }))
        do {
            _ = try LeaveOneOutSplit.make(from: log, negatives: 3, seed: 1, file: "small.data")
            Issue.record("split succeeded with 2 untouched items for 3 negatives")
        } catch let e as DataError {
            guard case .nothingToSplit(let f, let reason) = e else { Issue.record("got \(e)"); return }
            #expect(f == "small.data")
            #expect(reason.contains("alice"))
            #expect(e.description.contains("small.data"))
        } catch { Issue.record("got \(error)") }
    }

    @Test func nobodyWithTwoInteractionsIsAnError() {
        let log = makeLog(users: 3, items: 10, [(0, 1, 5), (1, 2, 1), (2, 4, 9)])
        #expect(throws: DataError.self) { try LeaveOneOutSplit.make(from: log, negatives: 1, file: "one.data") }
        do { _ = try LeaveOneOutSplit.make(from: log, negatives: 1, file: "one.data") } catch let e as DataError {
            guard case .nothingToSplit(let f, _) = e else { Issue.record("got \(e)"); return }
            #expect(f == "one.data")
        } catch { Issue.record("got \(error)") }
    }

    @Test func splitOfAParsedFileUsesParsedIds() throws {
        let log = try parseText("b x 5 1\nb y 4 2\na y 1 3\na z 2 4\n", file: "names.txt")
        let split = try LeaveOneOutSplit.make(from: log, negatives: 1, seed: 2)
        #expect(split.users.raw == ["a", "b"])
        #expect(split.items.raw == ["x", "y", "z"])
        #expect(split.shards.map(\.rawUser) == ["a", "b"])
        // "a" touched y, z: test z, the only negative x. "b" touched x, y: test y, negative z.
        #expect(split.shards[0].test?.item == 2 && split.shards[0].negatives == [0])
        #expect(split.shards[1].test?.item == 1 && split.shards[1].negatives == [2])
    }
}
