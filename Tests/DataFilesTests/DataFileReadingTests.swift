import Foundation
import Testing
import DataFiles
@testable import RecommenderModel

/// Reading data files: a file that cannot be read is named with what is wrong; titles files are read.
@Suite struct DataFileReadingTests {
    @Test func unreadableFileIsNamed() {
        let path = NSTemporaryDirectory() + "/gossiprec-no-such-file-\(UUID().uuidString).data"
        do {
            _ = try InteractionLog.load(path: path)
            Issue.record("loading a missing file succeeded")
        } catch let e as DataError {
            guard case .unreadable(let f, _) = e else { Issue.record("got \(e)"); return }
            #expect(f == path)
            #expect(e.description.contains(path))
        } catch { Issue.record("got \(error)") }
    }

    @Test func aDirectoryIsNamedAsADirectory() throws {
        _ = try withTemporaryDirectory { dir in
            #expect(throws: DataError.unreadable(file: dir, reason: "is a directory, not a file")) {
                try InteractionLog.load(path: dir)
            }
        }
    }

    @Test func aWriteFailureSaysWriteNotRead() throws {
        try withTemporaryDirectory { dir in
            do {
                try writeAtomically("x", to: dir + "/no-such-dir/file.txt")
                Issue.record("writing into a missing directory succeeded")
            } catch let e as DataError {
                guard case .unwritable = e else { Issue.record("got \(e)"); return }
                #expect(e.description.contains("cannot write"))
            }
        }
    }

    @Test func itemTitlesAreReadAndMalformedLinesNamed() throws {
        try withTemporaryDirectory { dir in
            let good = dir + "/items.tsv"
            try "1\tToy Story (1995)\tAnimation\n2\tGoldenEye (1995)\r\n".write(toFile: good, atomically: true, encoding: .utf8)
            let t = try ItemTitles.load(path: good)
            #expect(t["1"] == "Toy Story (1995)")
            #expect(t["2"] == "GoldenEye (1995)")
            #expect(t["3"] == nil)
            let bad = dir + "/bad.tsv"
            try "1\tA\nno title here\n".write(toFile: bad, atomically: true, encoding: .utf8)
            #expect(throws: DataError.malformedLine(file: bad, line: 2, text: "no title here", reason: "expected item<TAB>title")) {
                try ItemTitles.load(path: bad)
            }
        }
    }
}
