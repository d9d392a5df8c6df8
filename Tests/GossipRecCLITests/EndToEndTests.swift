import DataFiles
import Foundation
import Testing
@testable import GossipRecCLI
import RecommenderModel

/// `GossipRecCLI.main` end to end on a tiny temporary data set: exit codes and the files written.
@Suite struct EndToEndTests {

    func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
        let dir = NSTemporaryDirectory() + "/gossiprec-clitests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        return try body(dir)
    }

    /// 8 users (raw ids 1..8), 16 items (raw ids 1..16), 5 interactions each, MovieLens u.data format.
    func writeTinyData(_ path: String) throws {
        var text = ""
        var rng = SplitMix64(seed: 5)
        for u in 1...8 {
            var others = Array(1...16).filter { $0 != u && $0 != u + 8 }
            others.shuffle(using: &rng)
            let items = [u, u + 8] + others.prefix(3)   // every item is touched by someone
            for (k, i) in items.enumerated() { text += "\(u)\t\(i)\t\(1 + (u + i) % 5)\t\(880_000_000 + 100 * u + k)\n" }
        }
        try text.write(toFile: path, atomically: true, encoding: .utf8)
    }

    @Test func usageHelpAndUnknownCommandExitCodes() {
        #expect(GossipRecCLI.main([]) == 2)
        #expect(GossipRecCLI.main(["--help"]) == 0)
        #expect(GossipRecCLI.main(["help"]) == 0)
        #expect(GossipRecCLI.main(["frobnicate"]) == 2)
        #expect(GossipRecCLI.main(["split", "--help"]) == 0)
        #expect(GossipRecCLI.main(["train", "-h"]) == 0)
        #expect(GossipRecCLI.usage.contains("split") && GossipRecCLI.usage.contains("train"))
    }

    @Test func optionErrorsExitWithTwo() {
        #expect(GossipRecCLI.main(["split", "--out", "x"]) == 2)                       // --data missing
        #expect(GossipRecCLI.main(["split", "--data", "x", "--out", "y", "--bogus"]) == 2)
        #expect(GossipRecCLI.main(["train", "--split", "p", "--epochs", "many"]) == 2)
        #expect(GossipRecCLI.main(["train", "--split"]) == 2)
    }

    @Test func anEmptySplitAndACheckpointDirThatIsAFileAreRefused() throws {
        try withTemporaryDirectory { dir in
            for suffix in [".train.rating", ".test.rating", ".test.negative"] {
                try "".write(toFile: dir + "/empty" + suffix, atomically: true, encoding: .utf8)
            }
            #expect(GossipRecCLI.main(["train", "--split", dir + "/empty", "--epochs", "1"]) == 1)
            try "x".write(toFile: dir + "/afile", atomically: true, encoding: .utf8)
            #expect(GossipRecCLI.main(["node", "--users-dir", dir, "--insecure", "--checkpoint-dir", dir + "/afile"]) == 2)
        }
    }

    @Test func dataErrorsExitWithOneAndWriteNothing() throws {
        try withTemporaryDirectory { dir in
            #expect(GossipRecCLI.main(["split", "--data", dir + "/missing.data", "--out", dir + "/out/ml"]) == 1)
            try "1\t2\t5\t100\n1\t3\toops\t101\n".write(toFile: dir + "/bad.data", atomically: true, encoding: .utf8)
            #expect(GossipRecCLI.main(["split", "--data", dir + "/bad.data", "--out", dir + "/out/ml"]) == 1)
            #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
            #expect(GossipRecCLI.main(["train", "--split", dir + "/nothing-here", "--epochs", "1"]) == 1)
            // Too few items for the requested negatives.
            try writeTinyData(dir + "/u.data")
            #expect(GossipRecCLI.main(["split", "--data", dir + "/u.data", "--out", dir + "/out/ml", "--negatives", "12"]) == 1)
            #expect(!FileManager.default.fileExists(atPath: dir + "/out"))
        }
    }

    @Test func splitThenTrainEndToEnd() throws {
        try withTemporaryDirectory { dir in
            let data = dir + "/u.data"
            try writeTinyData(data)
            let prefix = dir + "/splits/tiny"      // the parent directory does not exist yet
            #expect(GossipRecCLI.main(["split", "--data", data, "--out", prefix, "--negatives", "6", "--seed", "3"]) == 0)
            for suffix in [".train.rating", ".test.rating", ".test.negative", ".validation.rating", ".validation.negative", ".users.map", ".items.map"] {
                #expect(FileManager.default.fileExists(atPath: prefix + suffix), "missing \(suffix)")
            }
            // The files hold exactly the split the library makes from the same file, seed and count.
            let expected = try LeaveOneOutSplit.make(from: InteractionLog.load(path: data), negatives: 6, seed: 3, validation: true)
            #expect(expected.validationUsers.count == 8)
            let written = try LeaveOneOutSplit.readNCF(prefix: prefix)
            #expect(written.shards == expected.shards)
            #expect(written.items.raw == (1...16).map(String.init))
            #expect(written.shards.allSatisfy { $0.train.count == 4 && $0.test != nil && $0.negatives.count == 6 })
            // Users directory defaults to PREFIX.users with one file per user plus the catalogue.
            let names = try FileManager.default.contentsOfDirectory(atPath: prefix + ".users").sorted()
            #expect(names == ["catalog.tsv"] + (0..<8).map { "user-\($0).txt" }.sorted())
            #expect(try LeaveOneOutSplit.readUserDirectory(prefix + ".users").shards == expected.shards)
            // No leftover temporary files.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir + "/splits").allSatisfy { !$0.contains(".tmp-") })

            #expect(GossipRecCLI.main(["train", "--split", prefix, "--epochs", "2", "--dim", "4"]) == 0)
            #expect(GossipRecCLI.main(["train", "--split", prefix, "--epochs", "2", "--dim", "4", "--loss", "bpr",
                                       "--optimizer", "sgd", "--no-bias", "--eval-every", "0"]) == 0)
            #expect(GossipRecCLI.main(["train", "--split", prefix, "--epochs", "0"]) == 0)
            #expect(GossipRecCLI.main(["train", "--split", prefix, "--epochs", "2", "--dim", "4", "--evaluate", "validation"]) == 0)
            #expect(GossipRecCLI.main(["train", "--split", prefix, "--evaluate", "bogus"]) == 2)

            // --no-validation writes a split as before validation existed: same test side, no validation files,
            // and an evaluation on validation fails with a runtime error naming the split.
            let old = dir + "/splits/old"
            #expect(GossipRecCLI.main(["split", "--data", data, "--out", old, "--negatives", "6", "--seed", "3", "--no-validation"]) == 0)
            #expect(!FileManager.default.fileExists(atPath: old + ".validation.rating"))
            #expect(try LeaveOneOutSplit.readNCF(prefix: old).shards == expected.shards.map { var x = $0; x.validation = nil; x.validationNegatives = []; return x })
            #expect(GossipRecCLI.main(["train", "--split", old, "--epochs", "1", "--dim", "4"]) == 0)
            #expect(GossipRecCLI.main(["train", "--split", old, "--epochs", "1", "--dim", "4", "--evaluate", "validation"]) == 1)
        }
    }

    @Test func splitHonoursUsersDirMinRatingAndFormat() throws {
        try withTemporaryDirectory { dir in
            let data = dir + "/r.txt"
            // CSV content in a file whose name does not say so; ratings below 3 are dropped.
            try "userId,movieId,rating,timestamp\n1,1,5,1\n1,2,4,2\n1,3,1,3\n2,1,4,4\n2,3,5,5\n2,4,2,6\n3,4,3,7\n3,5,3,8\n"
                .write(toFile: data, atomically: true, encoding: .utf8)
            let prefix = dir + "/p"
            #expect(GossipRecCLI.main(["split", "--data", data, "--format", "csv", "--min-rating", "3", "--negatives", "1",
                                       "--out", prefix, "--users-dir", dir + "/shards"]) == 0)
            #expect(!FileManager.default.fileExists(atPath: prefix + ".users"))
            let back = try LeaveOneOutSplit.readUserDirectory(dir + "/shards")
            // Kept: (1,1) (1,2) (2,1) (2,3) (3,4) (3,5); items 1,2,3,4,5 all survive through someone.
            #expect(back.userCount == 3 && back.itemCount == 5)
            #expect(back.trainInteractions.count == 3)
            #expect(back.shards.map { $0.test?.item } == [1, 2, 4])
        }
    }
}
