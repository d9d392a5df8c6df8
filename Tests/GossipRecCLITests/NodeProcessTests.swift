import Foundation
import RecommenderModel
import Testing

/// The `gossiprec` executable next to this test bundle (Scripts/test.sh builds it before testing).
func gossiprecBinary() -> URL? {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    for candidate in [dir, dir.deletingLastPathComponent()] {
        let u = candidate.appendingPathComponent("gossiprec")
        if FileManager.default.isExecutableFile(atPath: u.path) { return u }
    }
    return nil
}

@Suite(.serialized) struct NodeProcessTests {
    @Test func sigtermStopsANodeOfManyPeersWithinASecondAndItReportsItsSwarm() throws {
        guard let binary = gossiprecBinary() else {
            Issue.record("gossiprec executable not found next to \(CommandLine.arguments[0]); run 'swift build' first")
            return
        }
        let dir = NSTemporaryDirectory() + "gossiprec-node-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 12, items: 40, groups: 2, perUser: 10, seed: 4),
                                              negatives: 15, seed: 2)
        try split.writeUserDirectory(dir + "/users")
        let p = Process()
        p.executableURL = binary
        p.arguments = ["node", "--users-dir", dir + "/users", "--peers", "12", "--listen", "127.0.0.1:0",
                       "--period-ms", "50", "--eval-period-ms", "200", "--progress-seconds", "0", "--dim", "8",
                       "--log", dir + "/peers.jsonl"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate(); kill(p.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 2.0)
        #expect(p.isRunning, "the node must keep running until signalled")
        let t0 = Date()
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let stopSeconds = Date().timeIntervalSince(t0)
        #expect(!p.isRunning)
        #expect(stopSeconds < 1.5, "stopping took \(stopSeconds) s")
        #expect(p.terminationStatus == 0)
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let last = stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = try JSONSerialization.jsonObject(with: Data(last.utf8)) as? [String: Any]
        #expect((json?["peers"] as? Int) == 12, "last line: \(last)")
        #expect(((json?["mean_round"] as? Double) ?? 0) > 5, "last line: \(last)")
        // Logs were flushed: every peer's final line is in the file.
        let log = (try? String(contentsOfFile: dir + "/peers.jsonl", encoding: .utf8)) ?? ""
        #expect(log.split(separator: "\n").filter { $0.contains("\"event\":\"stop\"") }.count == 12)
    }
}
