import Foundation
import Testing
import DataFiles
@testable import RecommenderModel

/// The validation files of a split (issue 19): NCF-format `.validation.rating` / `.validation.negative`, the v2 user
/// files, and splits made before them.
@Suite struct ValidationFilesTests {

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    /// 30 users with 2 to 7 interactions (some have no validation item), 60 items.
    func split(validation: Bool) throws -> LeaveOneOutSplit {
        var text = ""
        var rng = SplitMix64(seed: 3)
        for u in 0..<30 {
            var items = Array(0..<60)
            items.shuffle(using: &rng)
            for (k, i) in items.prefix(2 + u % 6).enumerated() { text += "\(u) \(i) \(1 + rng.next(below: 5)) \(100 + 10 * k)\n" }
        }
        return try LeaveOneOutSplit.make(from: parseText(text, file: "r.txt"), negatives: 8, seed: 4, validation: validation)
    }

    @Test func everyInteractionIsInExactlyOneFileAndTheSplitReadsBack() throws {
        let s = try split(validation: true)
        #expect(s.validationUsers.count == 25 && s.testableUsers.count == 30)
        try withTemporaryDirectory { dir in
            try s.writeNCF(prefix: dir + "/v")
            let train = try read(dir + "/v.train.rating").split(separator: "\n")
            let validation = try read(dir + "/v.validation.rating").split(separator: "\n")
            let test = try read(dir + "/v.test.rating").split(separator: "\n")
            #expect(validation.count == 25)
            #expect(train.count + validation.count + test.count == s.shards.reduce(0) { $0 + $1.train.count } + 30)
            let pairs = (train + validation + test).map { $0.split(separator: "\t").prefix(2).joined(separator: " ") }
            #expect(Set(pairs).count == pairs.count, "an interaction is in two files")
            let negLines = try read(dir + "/v.validation.negative").split(separator: "\n")
            for (line, sh) in zip(negLines, s.shards.filter { $0.validation != nil }) {
                let f = line.split(separator: "\t")
                #expect(f[0] == "(\(sh.user),\(sh.validation!.item))")
                #expect(f.dropFirst().map { Int32($0)! } == sh.validationNegatives)
            }
            let back = try LeaveOneOutSplit.readNCF(prefix: dir + "/v")
            #expect(back.shards == s.shards)
        }
    }

    @Test func userDirectoryWithValidationRoundTrips() throws {
        let s = try split(validation: true)
        try withTemporaryDirectory { dir in
            try s.writeUserDirectory(dir + "/u")
            #expect(try LeaveOneOutSplit.readUserDirectory(dir + "/u").shards == s.shards)
        }
    }

    @Test func aSplitMadeWithoutValidationStillLoadsAndSaysWhatIsMissing() throws {
        let old = try split(validation: false)
        let new = try split(validation: true)
        try withTemporaryDirectory { dir in
            // A prefix that had validation files loses them when a split without validation is written over it.
            try new.writeNCF(prefix: dir + "/s")
            try old.writeNCF(prefix: dir + "/s")
            try old.writeUserDirectory(dir + "/s.users")
            let names = try FileManager.default.contentsOfDirectory(atPath: dir)
            #expect(!names.contains { $0.contains("validation") })
            let back = try LeaveOneOutSplit.readNCF(prefix: dir + "/s")
            #expect(!back.hasValidation && back.shards == old.shards)
            // Its test side is that of the new split: same test items, negatives and test-mode training set.
            #expect(back.shards == new.shards.map { var x = $0; x.validation = nil; x.validationNegatives = []; return x })
            #expect(throws: DataError.missingValidation(file: dir + "/s", user: "1")) {
                try back.evaluating(on: .validation, source: dir + "/s")
            }
            let users = try LeaveOneOutSplit.readUserDirectory(dir + "/s.users")
            #expect(throws: DataError.self) { try users.evaluating(on: .validation, source: dir + "/s.users") }
        }
    }

    @Test func oneValidationFileWithoutTheOtherIsAnErrorNamingIt() throws {
        let s = try split(validation: true)
        try withTemporaryDirectory { dir in
            try s.writeNCF(prefix: dir + "/h")
            try FileManager.default.removeItem(atPath: dir + "/h.validation.negative")
            do {
                _ = try LeaveOneOutSplit.readNCF(prefix: dir + "/h")
                Issue.record("read a split with .validation.rating and no .validation.negative")
            } catch let e as DataError {
                #expect(e.description.contains(dir + "/h.validation.negative"), "\(e)")
            }
        }
    }
}
