import Foundation
import Testing
import DataFiles
@testable import RecommenderModel

/// NCF text files and the one-file-per-user directory: exact format, round trips, and located errors.
@Suite struct SplitFilesTests {

    /// A tiny data set whose split is fully determined (every testable user has exactly one untouched item).
    ///
    /// Items raw 1..4 (dense 0..3), users raw 1..3 (dense 0..2).
    /// - user 1: items 1@100, 2@200, 3@300 -> train (0,0),(0,1); test (0,2); untouched: item 4 (dense 3).
    /// - user 2: items 4@50, 2@60, 3@60 -> tie at 60, larger index wins: test (1,2); train (1,3),(1,1);
    ///   untouched: item 1 (dense 0).
    /// - user 3: item 1@10 only -> train only, no test.
    static let tinyData = """
        1\t1\t5\t100
        1\t3\t3\t300
        1\t2\t4\t200
        2\t4\t2\t50
        2\t3\t4\t60
        2\t2\t1\t60
        3\t1\t3.5\t10

        """

    func tinySplit() throws -> LeaveOneOutSplit {
        try LeaveOneOutSplit.make(from: parseText(Self.tinyData, file: "u.data"), negatives: 1, seed: 42)
    }

    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func ncfFilesHaveExactlyTheNCFTextFormat() throws {
        let split = try tinySplit()
        try withTemporaryDirectory { dir in
            let prefix = dir + "/tiny"
            try split.writeNCF(prefix: prefix)
            #expect(try read(prefix + ".train.rating") == "0\t0\t5\t100\n0\t1\t4\t200\n1\t3\t2\t50\n1\t1\t1\t60\n2\t0\t3.5\t10\n")
            #expect(try read(prefix + ".test.rating") == "0\t2\t3\t300\n1\t2\t4\t60\n")
            #expect(try read(prefix + ".test.negative") == "(0,2)\t3\n(1,2)\t0\n")
            #expect(try read(prefix + ".users.map") == "0\t1\n1\t2\n2\t3\n")
            #expect(try read(prefix + ".items.map") == "0\t1\n1\t2\n2\t3\n3\t4\n")
            // No temporary files are left behind by the atomic writes.
            let names = try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
            #expect(names == ["tiny.items.map", "tiny.test.negative", "tiny.test.rating", "tiny.train.rating", "tiny.users.map"])
        }
    }

    @Test func negativeLinesStartWithThePairThenTabSeparatedIds() throws {
        let split = try LeaveOneOutSplit.make(from: randomLog(users: 6, items: 30, perUser: 5, seed: 1), negatives: 7, seed: 3)
        try withTemporaryDirectory { dir in
            try split.writeNCF(prefix: dir + "/r")
            let lines = try read(dir + "/r.test.negative").split(separator: "\n", omittingEmptySubsequences: false)
            #expect(lines.last == "")
            #expect(lines.count == 7)
            for (u, line) in lines.dropLast().enumerated() {
                let f = line.split(separator: "\t", omittingEmptySubsequences: false)
                let s = split.shards[u]
                #expect(f.count == 8)
                #expect(f[0] == "(\(u),\(s.test!.item))")
                #expect(f.dropFirst().map { Int32($0)! } == s.negatives)
            }
        }
    }

    @Test func userFilesHaveTheDocumentedFormat() throws {
        let split = try tinySplit()
        try withTemporaryDirectory { dir in
            let users = dir + "/tiny.users"
            try split.writeUserDirectory(users)
            #expect(try read(users + "/user-1.txt") == """
                # gossiprec user shard v1
                user 1 raw 2
                items 4
                train 3 2 50
                train 1 1 60
                test 2 4 60
                negatives 0

                """)
            #expect(try read(users + "/user-2.txt") == "# gossiprec user shard v1\nuser 2 raw 3\nitems 4\ntrain 0 3.5 10\n")
            #expect(try read(users + "/catalog.tsv") == "0\t1\n1\t2\n2\t3\n3\t4\n")
            let names = try FileManager.default.contentsOfDirectory(atPath: users).sorted()
            #expect(names == ["catalog.tsv", "user-0.txt", "user-1.txt", "user-2.txt"])
        }
    }

    func expectSameSplit(_ a: LeaveOneOutSplit, _ b: LeaveOneOutSplit, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(a.userCount == b.userCount, sourceLocation: sourceLocation)
        #expect(a.itemCount == b.itemCount, sourceLocation: sourceLocation)
        #expect(a.users == b.users, sourceLocation: sourceLocation)
        #expect(a.items == b.items, sourceLocation: sourceLocation)
        #expect(a.shards.count == b.shards.count, sourceLocation: sourceLocation)
        for (x, y) in zip(a.shards, b.shards) { #expect(x == y, sourceLocation: sourceLocation) }
    }

    @Test func ncfFilesRoundTrip() throws {
        // Non-numeric raw ids, fractional ratings, and users without a test item.
        var text = ""
        var rng = SplitMix64(seed: 21)
        for u in 0..<25 {
            let n = u % 5 == 0 ? 1 : 3 + rng.next(below: 6)
            var items = Array(0..<40)
            items.shuffle(using: &rng)
            for (k, i) in items.prefix(n).enumerated() {
                text += "user\(u) film-\(i) \(Double(1 + rng.next(below: 9)) / 2) \(1_000_000 + 10 * k + rng.next(below: 5))\n"
            }
        }
        let split = try LeaveOneOutSplit.make(from: parseText(text, file: "names.txt"), negatives: 9, seed: 5)
        #expect(split.shards.contains { $0.test == nil })
        #expect(split.shards.contains { $0.train.contains { $0.rating != $0.rating.rounded() } })
        try withTemporaryDirectory { dir in
            try split.writeNCF(prefix: dir + "/names")
            expectSameSplit(try LeaveOneOutSplit.readNCF(prefix: dir + "/names"), split)
        }
    }

    @Test func ncfFilesWithoutMapsReadWithIndexIds() throws {
        let split = try tinySplit()
        try withTemporaryDirectory { dir in
            try split.writeNCF(prefix: dir + "/t")
            try FileManager.default.removeItem(atPath: dir + "/t.users.map")
            try FileManager.default.removeItem(atPath: dir + "/t.items.map")
            let back = try LeaveOneOutSplit.readNCF(prefix: dir + "/t")
            #expect(back.userCount == 3 && back.itemCount == 4)
            #expect(back.users.raw == ["0", "1", "2"])
            #expect(back.items.raw == ["0", "1", "2", "3"])
            #expect(back.shards.map(\.train) == split.shards.map(\.train))
            #expect(back.shards.map(\.test) == split.shards.map(\.test))
            #expect(back.shards.map(\.negatives) == split.shards.map(\.negatives))
        }
    }

    @Test func userDirectoryRoundTrips() throws {
        let split = try LeaveOneOutSplit.make(from: randomLog(users: 12, items: 35, perUser: 6, seed: 17), negatives: 11, seed: 6)
        try withTemporaryDirectory { dir in
            try split.writeUserDirectory(dir + "/shards")
            expectSameSplit(try LeaveOneOutSplit.readUserDirectory(dir + "/shards"), split)
            // One shard alone reads back as itself.
            #expect(try UserShard.read(path: dir + "/shards/" + UserShard.fileName(user: 7)) == split.shards[7])
        }
    }

    @Test func rawIdsWithSpacesRoundTripThroughBothFormats() throws {
        // CSV ids may contain spaces; the per-user file must not lose or reject them.
        let log = try parseText("alice smith,The Matrix,5,1\nalice smith,Heat,4,2\nbob,Heat,3,3\nbob,Up,5,4\n", file: "r.csv")
        let split = try LeaveOneOutSplit.make(from: log, negatives: 1, seed: 1)
        #expect(split.users.raw == ["alice smith", "bob"])
        try withTemporaryDirectory { dir in
            try split.writeUserDirectory(dir + "/u")
            let back = try LeaveOneOutSplit.readUserDirectory(dir + "/u")
            #expect(back.shards.map(\.rawUser) == ["alice smith", "bob"])
            expectSameSplit(back, split)
            try split.writeNCF(prefix: dir + "/n")
            expectSameSplit(try LeaveOneOutSplit.readNCF(prefix: dir + "/n"), split)
        }
    }

    @Test func rewritingAUserDirectoryLeavesNoStaleShards() throws {
        let big = try LeaveOneOutSplit.make(from: randomLog(users: 9, items: 20, perUser: 4, seed: 1), negatives: 3)
        let small = try LeaveOneOutSplit.make(from: randomLog(users: 5, items: 20, perUser: 4, seed: 2), negatives: 3)
        try withTemporaryDirectory { dir in
            try big.writeUserDirectory(dir)
            try small.writeUserDirectory(dir)
            // Reading back must give the split written last, not five new users plus four old ones.
            expectSameSplit(try LeaveOneOutSplit.readUserDirectory(dir), small)
        }
    }

    @Test func malformedNCFLinesAreReportedWithFileAndLine() throws {
        let split = try tinySplit()
        try withTemporaryDirectory { dir in
            let prefix = dir + "/t"
            try split.writeNCF(prefix: prefix)

            try "(0,2)\t3\n(1,x)\t0\n".write(toFile: prefix + ".test.negative", atomically: true, encoding: .utf8)
            #expect(throws: DataError.malformedSplit(file: prefix + ".test.negative", line: 2, text: "(1,x)\t0",
                                                     reason: "expected (user,item) then tab-separated negatives")) {
                try LeaveOneOutSplit.readNCF(prefix: prefix)
            }
            try "(0,2)\t3\n\n1,2\t0\n".write(toFile: prefix + ".test.negative", atomically: true, encoding: .utf8)
            expectMalformedSplit(prefix, file: prefix + ".test.negative", line: 3, text: "1,2\t0")
            try "(0,2)\t3\n(1,2)\t-4\n".write(toFile: prefix + ".test.negative", atomically: true, encoding: .utf8)
            expectMalformedSplit(prefix, file: prefix + ".test.negative", line: 2, text: "(1,2)\t-4")

            try split.writeNCF(prefix: prefix)
            try "0\t0\t5\t100\n0\tabc\t4\t200\n".write(toFile: prefix + ".train.rating", atomically: true, encoding: .utf8)
            expectMalformedSplit(prefix, file: prefix + ".train.rating", line: 2, text: "0\tabc\t4\t200")
            try "0\t0\t5\t100\r\n0\t1\t4\tlater\r\n".write(toFile: prefix + ".train.rating", atomically: true, encoding: .utf8)
            expectMalformedSplit(prefix, file: prefix + ".train.rating", line: 2, text: "0\t1\t4\tlater")
            try split.writeNCF(prefix: prefix + "2")
            try "0\t2\tnan\t300\n".write(toFile: prefix + "2.test.rating", atomically: true, encoding: .utf8)
            expectMalformedSplit(prefix + "2", file: prefix + "2.test.rating", line: 1, text: "0\t2\tnan\t300")
        }
    }

    func expectMalformedSplit(_ prefix: String, file: String, line: Int, text: String,
                              sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            _ = try LeaveOneOutSplit.readNCF(prefix: prefix)
            Issue.record("read succeeded", sourceLocation: sourceLocation)
        } catch let e as DataError {
            guard case .malformedSplit(let f, let n, let t, _) = e else {
                Issue.record("got \(e)", sourceLocation: sourceLocation); return
            }
            #expect(f == file, sourceLocation: sourceLocation)
            #expect(n == line, sourceLocation: sourceLocation)
            #expect(t == text, sourceLocation: sourceLocation)
            #expect(e.description.contains("\(file):\(line):"), sourceLocation: sourceLocation)
        } catch { Issue.record("got \(error)", sourceLocation: sourceLocation) }
    }

    @Test func missingNCFFileIsNamed() throws {
        try withTemporaryDirectory { dir in
            try tinySplit().writeNCF(prefix: dir + "/t")
            try FileManager.default.removeItem(atPath: dir + "/t.test.negative")
            #expect(throws: DataError.unreadable(file: dir + "/t.test.negative", reason: "no such file")) {
                try LeaveOneOutSplit.readNCF(prefix: dir + "/t")
            }
        }
    }

    @Test func malformedUserFileLinesAreReportedWithFileAndLine() throws {
        try withTemporaryDirectory { dir in
            let path = dir + "/user-0.txt"
            let cases: [(String, Int, String)] = [
                ("# v1\nuser 0 raw a\nitems 5\ntrain 1 1 10\ntrain 9 1 11\n", 5, "train 9 1 11"),      // item out of range
                ("user 0 raw a\nitems 5\nnegatives 1 2 x\n", 3, "negatives 1 2 x"),
                ("user 0 raw a\ntrain 1 1 10\nitems 5\n", 2, "train 1 1 10"),                          // order
                ("user 0 raw a\nitems 5\nbogus 1\n", 3, "bogus 1"),
                ("user zero raw a\n", 1, "user zero raw a"),
            ]
            for (text, line, offending) in cases {
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                do {
                    _ = try UserShard.read(path: path)
                    Issue.record("read succeeded for \(text.debugDescription)")
                } catch let e as DataError {
                    guard case .malformedSplit(let f, let n, let t, _) = e else { Issue.record("got \(e)"); continue }
                    #expect(f == path)
                    #expect(n == line)
                    #expect(t == offending)
                }
            }
        }
    }

    @Test func userDirectoryWithAGapIsRejected() throws {
        let split = try LeaveOneOutSplit.make(from: randomLog(users: 4, items: 20, perUser: 4, seed: 1), negatives: 3)
        try withTemporaryDirectory { dir in
            try split.writeUserDirectory(dir)
            try FileManager.default.removeItem(atPath: dir + "/user-1.txt")
            #expect(throws: DataError.self) { try LeaveOneOutSplit.readUserDirectory(dir) }
        }
    }
}
