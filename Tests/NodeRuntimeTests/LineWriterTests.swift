import Foundation
import Testing
@testable import NodeRuntime
import RecommenderModel

/// The peers' JSON-line log: a reused file is continued, not overwritten; a path that cannot be a log is named.
@Suite struct LineWriterTests {
    @Test func aSecondWriterAppendsToTheFirstOnesFile() throws {
        let path = NSTemporaryDirectory() + "/gossiprec-log-\(UUID().uuidString).jsonl"
        defer { try? FileManager.default.removeItem(atPath: path) }
        let first = try LineWriter(path: path)
        first.write("{\"a\":1}")
        first.flush()
        let second = try LineWriter(path: path)
        second.write("{\"b\":2}")
        second.flush()
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "{\"a\":1}\n{\"b\":2}\n")
    }

    @Test func aDirectoryOrAMissingFolderIsRefusedByName() {
        let dir = NSTemporaryDirectory()
        #expect(throws: DataError.self) { try LineWriter(path: dir) }
        let missing = dir + "/no-such-folder-\(UUID().uuidString)/peers.jsonl"
        do {
            _ = try LineWriter(path: missing)
            Issue.record("a log in a missing folder was accepted")
        } catch let e as DataError {
            #expect(e.description.contains(missing))
        } catch { Issue.record("got \(error)") }
    }
}
