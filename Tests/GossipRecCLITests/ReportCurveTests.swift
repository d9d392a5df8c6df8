import Foundation
import Testing
@testable import GossipRecCLI

/// `gossiprec report`'s curve: every peer's latest evaluation, or with an online window only peers heard from
/// recently (a crashed peer drops out instead of freezing its last value into the mean).
@Suite struct ReportCurveTests {
    typealias E = ReportCommand.Event

    /// Peer 0 evaluates a hit every 5 s until 100 s; peer 1 a miss every 5 s until 20 s, then crashes.
    static let events: [E] = (1...20).map { E(t: Double($0) * 5, peer: 0, hit: 1, ndcg: 1, sent: 0, round: 0) }
        + (1...4).map { E(t: Double($0) * 5, peer: 1, hit: 0, ndcg: 0, sent: 0, round: 0) }

    @Test func withoutAWindowACrashedPeerKeepsItsLastValue() {
        let points = ReportCommand.curve(Self.events.sorted { $0.t < $1.t }, bucket: 10)
        let last = points.last!
        #expect(last.evaluated == 2)
        #expect(last.hr10 == 0.5)
    }

    @Test func withAWindowOnlyPeersHeardFromRecentlyCount() {
        let points = ReportCommand.curve(Self.events.sorted { $0.t < $1.t }, bucket: 10, onlineWindow: 15)
        #expect(points.first { $0.t == 20 }?.evaluated == 2, "both online at 20 s")
        let last = points.last!
        #expect(last.evaluated == 1, "the crashed peer dropped out")
        #expect(last.hr10 == 1)
    }
}

/// `report --logs`: comma lists, directories and `*` patterns, so a shell glob need not be turned into commas.
@Suite struct ReportLogsTests {
    @Test func wildcardsMatchAnyRunOfCharacters() {
        #expect(ReportCommand.wildcard("node-*.jsonl", matches: "node-0.jsonl"))
        #expect(ReportCommand.wildcard("node-*.jsonl", matches: "node-12.restarted.jsonl"))
        #expect(!ReportCommand.wildcard("node-*.jsonl", matches: "node-0.json"))
        #expect(!ReportCommand.wildcard("node-*.jsonl", matches: "summary.jsonl"))
        #expect(ReportCommand.wildcard("*", matches: "anything"))
        #expect(ReportCommand.wildcard("a*b*c", matches: "a-x-b-y-c") && !ReportCommand.wildcard("a*b*c", matches: "a-c-b"))
    }

    @Test func directoriesAndPatternsExpandAndNothingMatchingIsAnError() throws {
        let dir = NSTemporaryDirectory() + "/gossiprec-logs-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for name in ["node-1.jsonl", "node-0.jsonl", "other.txt"] { try "".write(toFile: dir + "/" + name, atomically: true, encoding: .utf8) }
        #expect(try ReportCommand.expandLogs(dir) == [dir + "/node-0.jsonl", dir + "/node-1.jsonl"])
        #expect(try ReportCommand.expandLogs(dir + "/node-*.jsonl") == [dir + "/node-0.jsonl", dir + "/node-1.jsonl"])
        #expect(try ReportCommand.expandLogs("a.jsonl,b.jsonl") == ["a.jsonl", "b.jsonl"])
        #expect(throws: (any Error).self) { try ReportCommand.expandLogs(dir + "/peer-*.jsonl") }
    }
}

/// Test-only malicious peers mark their lines, and `report` measures only the benign swarm.
@Suite struct ReportMaliciousTests {
    @Test func maliciousPeersAreLeftOutOfTheSwarmsFigures() throws {
        let dir = NSTemporaryDirectory() + "/gossiprec-mal-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let lines = [
            "{\"event\":\"eval\",\"t\":5.0,\"peer\":0,\"round\":3,\"rank\":1,\"hr10\":1,\"ndcg10\":1.0,\"bytes_sent\":0}",
            "{\"event\":\"eval\",\"t\":5.0,\"peer\":1,\"malicious\":true,\"round\":3,\"rank\":50,\"hr10\":0,\"ndcg10\":0.0,\"bytes_sent\":0}",
        ]
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir + "/n.jsonl", atomically: true, encoding: .utf8)
        let events = try ReportCommand.readEvents([dir + "/n.jsonl"])
        #expect(events.filter(\.malicious).map(\.peer) == [1])
        #expect(GossipRecCLI.main(["report", "--logs", dir + "/n.jsonl", "--last", "--summary", dir + "/s.json"]) == 0)
        let summary = try String(contentsOfFile: dir + "/s.json", encoding: .utf8)
        #expect(summary.contains("\"peers\":1") && summary.contains("\"malicious_peers_excluded\":1") && summary.contains("\"hr10\":1"), "\(summary)")
        #expect(summary.contains("\"rounds_per_second\":"), "\(summary)")
    }
}
