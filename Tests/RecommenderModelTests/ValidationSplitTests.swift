import Foundation
import Testing
@testable import RecommenderModel

/// The validation item (issue 19): each user's second-latest interaction, held out with its own negatives when
/// settings are tuned, and trained on when the test item is scored.
@Suite struct ValidationSplitTests {

    @Test func validationItemIsTheSecondLatestWithTiesBrokenByTheLargerItemIndex() throws {
        // User 0: items 4 and 2 share timestamp 20 under the latest (item 7 at 30): item 4 (larger index) is the
        // validation item although item 2 comes later in the log.
        let log = makeLog(users: 1, items: 20, [(0, 1, 10), (0, 4, 20), (0, 2, 20), (0, 7, 30)])
        let s = try LeaveOneOutSplit.make(from: log, negatives: 5, seed: 1, validation: true).shards[0]
        #expect(s.test?.item == 7)
        #expect(s.validation?.item == 4)
        #expect(s.validation?.timestamp == 20)
        // In memory the validation item is the last training interaction; a validation evaluation takes it out.
        #expect(s.train.map(\.item) == [1, 2, 4])
        #expect(s.trainWithoutValidation.map(\.item) == [1, 2])
        #expect(s.evaluating(on: .validation).train.map(\.item) == [1, 2])
    }

    @Test func validationNeverEqualsTheTestItemAndItsNegativesAreUntouched() throws {
        let log = randomLog(users: 40, items: 60, perUser: 9, seed: 3)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 5, validation: true)
        #expect(split.validationUsers.count == 40)
        for s in split.shards {
            let history = log.interactions.filter { $0.user == s.user }.sorted { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }
            let touched = Set(history.map(\.item))
            let v = try #require(s.validation), t = try #require(s.test)
            #expect(v == history[history.count - 2], "user \(s.user): validation is not the second-latest")
            #expect(t == history[history.count - 1])
            #expect(v.item != t.item)
            #expect(s.validationNegatives.count == 20)
            #expect(Set(s.validationNegatives).count == 20, "user \(s.user) has repeated validation negatives")
            #expect(Set(s.validationNegatives).isDisjoint(with: touched), "user \(s.user) has a touched validation negative")
            #expect(!s.validationNegatives.contains(t.item))
            let seen = s.evaluating(on: .validation)
            #expect(!seen.train.contains { $0.item == v.item || $0.item == t.item })
            #expect(seen.train.count == history.count - 2)
            #expect(seen.test == v && seen.negatives == s.validationNegatives)
        }
    }

    @Test func theTestSideIsExactlyThatOfASplitWithoutValidation() throws {
        let log = randomLog(users: 25, items: 70, perUser: 10, seed: 8)
        let plain = try LeaveOneOutSplit.make(from: log, negatives: 30, seed: 2)
        let withValidation = try LeaveOneOutSplit.make(from: log, negatives: 30, seed: 2, validation: true)
        #expect(!plain.hasValidation && withValidation.hasValidation)
        #expect(withValidation.shards.map(\.test) == plain.shards.map(\.test))
        #expect(withValidation.shards.map(\.negatives) == plain.shards.map(\.negatives))
        // What a test evaluation trains on does not move either.
        let test = try withValidation.evaluating(on: .test, source: "x")
        #expect(test.shards.map(\.train) == plain.shards.map(\.train))
    }

    @Test func sameSeedSameValidationDifferentSeedDifferentNegatives() throws {
        let log = randomLog(users: 20, items: 80, perUser: 8, seed: 6)
        let a = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 11, validation: true)
        let b = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 11, validation: true)
        let c = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 12, validation: true)
        #expect(a.shards == b.shards)
        #expect(a.shards.map(\.validation) == c.shards.map(\.validation))
        #expect(a.shards.map(\.validationNegatives) != c.shards.map(\.validationNegatives))
        // Drawn apart from the test negatives.
        #expect(a.shards.filter { $0.validationNegatives == $0.negatives }.isEmpty)
        var shuffled = log
        var rng = SplitMix64(seed: 4)
        shuffled.interactions.shuffle(using: &rng)
        #expect(try LeaveOneOutSplit.make(from: shuffled, negatives: 20, seed: 11, validation: true).shards == a.shards)
    }

    @Test func usersWithTwoInteractionsHaveNoValidationItemAndKeepTheEarlierOne() throws {
        let log = makeLog(users: 3, items: 30, [(0, 1, 1), (0, 2, 2), (0, 3, 3), (1, 4, 1), (1, 5, 2), (2, 6, 1)])
        let split = try LeaveOneOutSplit.make(from: log, negatives: 4, seed: 1, validation: true)
        #expect(split.testableUsers == [0, 1])
        #expect(split.validationUsers == [0])
        let u1 = split.shards[1]
        #expect(u1.validation == nil && u1.validationNegatives.isEmpty && !u1.lacksValidation)
        #expect(u1.train.map(\.item) == [4])
        // A validation evaluation does not rank user 1 and trains on what it has.
        let seen = u1.evaluating(on: .validation)
        #expect(seen.test == nil && seen.train.map(\.item) == [4])
        #expect(seen.testRank { _ in 0 } == nil)
    }

    @Test func evaluatingOnValidationRanksTheValidationItem() throws {
        let log = randomLog(users: 10, items: 200, perUser: 6, seed: 2)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 50, seed: 3, validation: true)
        let onValidation = try split.evaluating(on: .validation, source: "x")
        for (s, v) in zip(split.shards, onValidation.shards) {
            // A scorer that loves the validation item and hates the test item: rank 0 on validation, worst on test.
            let val = Int(s.validation!.item), test = Int(s.test!.item)
            let score: (Int) -> Float = { $0 == val ? 10 : $0 == test ? -10 : 0 }
            #expect(v.testRank(score: score) == 0)
            #expect(s.testRank(score: score) == 50)
        }
        // ItemPopularity and the centralized trainer go through the same shards.
        #expect(ItemPopularity(itemCount: 200, train: onValidation.trainInteractions).evaluate(onValidation).count == 10)
        var c = TrainingConfig(); c.dimension = 4
        let central = CentralTrainer(split: onValidation, config: c, seed: 1)
        #expect(central.positiveCount == 10 * 4)
        #expect(CentralTrainer(split: split, config: c, seed: 1).positiveCount == 10 * 5)
        // A peer learns without the validation item and ranks it.
        let peer = PeerLearner(shard: onValidation.shards[0], config: c, tableSeed: 1, peerSeed: 2)
        #expect(!peer.positivesSorted.contains(split.shards[0].validation!.item))
        let direct = peer.user.values.withUnsafeBufferPointer { u in
            onValidation.shards[0].testRank { peer.items.score(user: u.baseAddress!, item: $0) }
        }
        #expect(peer.testRank() != nil && peer.testRank() == direct)
    }

    @Test func validationOfASplitWithoutOneIsAnErrorNamingTheSourceAndTheFix() throws {
        let log = randomLog(users: 5, items: 40, perUser: 5, seed: 1)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 10, seed: 1)
        #expect(split.shards.allSatisfy { $0.lacksValidation })
        #expect(try split.evaluating(on: .test, source: "old").shards == split.shards)
        do {
            _ = try split.evaluating(on: .validation, source: "runs/old")
            Issue.record("a split without validation items was evaluated on validation")
        } catch let e as DataError {
            #expect(e == .missingValidation(file: "runs/old", user: "0"))
            #expect(e.description.contains("runs/old") && e.description.contains("gossiprec split"))
        }
    }

    @Test func userFileWritesTheValidationItemApartAndReadsItBack() throws {
        let log = makeLog(users: 1, items: 12, [(0, 1, 1), (0, 2, 2), (0, 3, 3), (0, 5, 4)])
        let s = try LeaveOneOutSplit.make(from: log, negatives: 3, seed: 9, validation: true).shards[0]
        let text = s.fileText
        #expect(text.hasPrefix("# gossiprec user shard v2\n"))
        #expect(text.contains("train 1 1 1\ntrain 2 1 2\ntest 5 1 4\n"))
        #expect(!text.contains("train 3 "))
        #expect(text.contains("validation 3 1 3\nvalidation-negatives " + s.validationNegatives.map(String.init).joined(separator: " ") + "\n"))
        #expect(try UserShard.parse(bytes: Array(text.utf8), file: "u") == s)
        // A shard without a validation item is still written as v1.
        let plain = try LeaveOneOutSplit.make(from: log, negatives: 3, seed: 9).shards[0]
        #expect(plain.fileText.hasPrefix("# gossiprec user shard v1\n") && !plain.fileText.contains("validation"))
    }

    @Test func userFileWithAnInconsistentValidationItemIsAnErrorNamingTheFile() {
        let head = "user 0 raw a\nitems 10\ntrain 1 1 1\ntrain 2 1 5\ntest 4 1 9\nnegatives 6 7\n"
        for (body, why) in [("validation 3 1 3\nvalidation-negatives 8\n", "not later"),
                            ("validation 2 1 6\nvalidation-negatives 8\n", "also a training item"),
                            ("validation 3 1 6\n", "without a 'validation-negatives'"),
                            ("validation-negatives 8\n", "without a 'validation'")] {
            do {
                _ = try UserShard.parse(bytes: Array((head + body).utf8), file: "dir/user-0.txt")
                Issue.record("parsed a user file with \(body)")
            } catch let e as DataError {
                #expect(e.description.contains("dir/user-0.txt"), "\(e)")
                #expect(e.description.contains(why), "\(e)")
            } catch { Issue.record("got \(error)") }
        }
    }
}
