import DataFiles
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

/// Runs `gossiprec ARGS` to completion; returns (status, stdout, stderr).
func runGossiprec(_ binary: URL, _ args: [String]) throws -> (Int32, String, String) {
    let p = Process()
    p.executableURL = binary
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct NodeProcessTests {
    /// A small split in a fresh directory (removed by the caller).
    func workspace() throws -> String {
        let dir = NSTemporaryDirectory() + "gossiprec-node-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 12, items: 40, groups: 2, perUser: 10, seed: 4),
                                              negatives: 15, seed: 2)
        try split.writeUserDirectory(dir + "/users")
        return dir
    }

    @Test func keygenWritesAPrivateKeyFileAndNeverOverwrites() throws {
        guard let binary = gossiprecBinary() else { Issue.record("gossiprec executable not found"); return }
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, _, err) = try runGossiprec(binary, ["keygen", "--out", dir + "/k"])
        #expect(status == 0, "\(err)")
        let mode = (try FileManager.default.attributesOfItem(atPath: dir + "/k")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir + "/k"))
        let (again, _, againErr) = try runGossiprec(binary, ["keygen", "--out", dir + "/k"])
        #expect(again != 0 && againErr.contains("refusing to overwrite"), "\(againErr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/k")) == before)
    }

    @Test func aNodeRefusesAKeyFileOthersCanReadAndStartsWithNeitherKeyNorInsecure() throws {
        guard let binary = gossiprecBinary() else { Issue.record("gossiprec executable not found"); return }
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        _ = try runGossiprec(binary, ["keygen", "--out", dir + "/k"])
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: dir + "/k")
        let base = ["node", "--users-dir", dir + "/users", "--peers", "2", "--duration", "1", "--progress-seconds", "0"]
        let (status, _, err) = try runGossiprec(binary, base + ["--swarm-key", dir + "/k"])
        #expect(status == 2)
        #expect(err.contains(dir + "/k") && err.contains("0644") && err.contains("too open"), "\(err)")
        let (none, _, noneErr) = try runGossiprec(binary, base)
        #expect(none == 2 && noneErr.contains("--swarm-key") && noneErr.contains("--insecure"), "\(noneErr)")
    }

    /// A --join address nobody answers at is named on stderr after the join window; with --require-join the node
    /// exits 1 (loopback port 9, where nothing listens, is the only address it sends to).
    @Test func aNodeThatMeetsNobodySaysSoAndRequireJoinFailsIt() throws {
        guard let binary = gossiprecBinary() else { Issue.record("gossiprec executable not found"); return }
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let base = ["node", "--users-dir", dir + "/users", "--peers", "2", "--listen", "127.0.0.1:0", "--insecure",
                    "--progress-seconds", "0", "--join", "127.0.0.1:9", "--join-window", "1"]
        let (status, out, err) = try runGossiprec(binary, base + ["--require-join", "--duration", "20"])
        #expect(status == 1, "\(err)")
        #expect(err.contains("nobody answered at --join 127.0.0.1:9") && err.contains("--require-join"), "\(err)")
        #expect(out.contains("\"met_no_peer\":true"), "\(out)")
        // Without --require-join it only warns and keeps going until its duration.
        let (warned, _, warnErr) = try runGossiprec(binary, base + ["--duration", "2"])
        #expect(warned == 0 && warnErr.contains("still trying"), "\(warnErr)")
        // Peers that seed each other (no --join) are not lonely.
        let (fine, _, fineErr) = try runGossiprec(binary, ["node", "--users-dir", dir + "/users", "--peers", "3", "--listen", "127.0.0.1:0",
                                                          "--insecure", "--progress-seconds", "0", "--join-window", "1",
                                                          "--require-join", "--duration", "3"])
        #expect(fine == 0 && !fineErr.contains("no peer has met"), "\(fineErr)")
    }

    /// A dimension whose whole table cannot fit one model frame is refused before the node starts (every exchange
    /// would fail), naming the largest dimension that fits.
    @Test func aDimensionTooLargeForOneModelFrameIsRefused() throws {
        guard let binary = gossiprecBinary() else { Issue.record("gossiprec executable not found"); return }
        let dir = NSTemporaryDirectory() + "gossiprec-node-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 6, items: 5_000, groups: 2, perUser: 10, seed: 4),
                                              negatives: 15, seed: 2)
        try split.writeUserDirectory(dir + "/users")
        let base = ["node", "--users-dir", dir + "/users", "--peers", "1", "--listen", "127.0.0.1:0", "--insecure",
                    "--progress-seconds", "0", "--duration", "1"]
        let (status, _, err) = try runGossiprec(binary, base + ["--dim", "300"])
        #expect(status == 2 && err.contains("--dim") && err.contains("at most 206 for 5000 items"), "\(err)")
        let (ok, _, okErr) = try runGossiprec(binary, base + ["--dim", "200"])
        #expect(ok == 0, "\(okErr)")
    }

    @Test func anInsecureNodeSaysSoInEveryLogLineTheProgressLineAndTheSummary() throws {
        guard let binary = gossiprecBinary() else { Issue.record("gossiprec executable not found"); return }
        let dir = try workspace()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (status, out, err) = try runGossiprec(binary, [
            "node", "--users-dir", dir + "/users", "--peers", "4", "--insecure", "--duration", "1.5",
            "--progress-seconds", "0.5", "--period-ms", "50", "--eval-period-ms", "200", "--dim", "4",
            "--log", dir + "/peers.jsonl"])
        #expect(status == 0, "\(err)")
        let progress = err.split(separator: "\n").filter { $0.contains("HR@10") }
        #expect(!progress.isEmpty && progress.allSatisfy { $0.contains("INSECURE") }, "\(err)")
        #expect(err.contains("INSECURE: --insecure"))
        let summary = out.split(separator: "\n").last.map(String.init) ?? ""
        #expect(summary.contains("\"insecure\":true"), "\(summary)")
        let lines = ((try? String(contentsOfFile: dir + "/peers.jsonl", encoding: .utf8)) ?? "").split(separator: "\n")
        #expect(lines.count >= 4)
        #expect(lines.allSatisfy { $0.hasPrefix("{\"insecure\":true,") })
    }

    /// SIGTERM stops a keyed node within a second; SIGHUP before it does not kill the node but re-reads the key file,
    /// and SIGUSR1 prints its status.
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
        _ = try runGossiprec(binary, ["keygen", "--out", dir + "/swarm.key"])
        let p = Process()
        p.executableURL = binary
        p.arguments = ["node", "--users-dir", dir + "/users", "--peers", "12", "--listen", "127.0.0.1:0",
                       "--period-ms", "50", "--eval-period-ms", "200", "--progress-seconds", "0", "--dim", "8",
                       "--log", dir + "/peers.jsonl", "--swarm-key", dir + "/swarm.key"]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        defer { if p.isRunning { p.terminate(); kill(p.processIdentifier, SIGKILL) } }
        Thread.sleep(forTimeInterval: 1.5)
        kill(p.processIdentifier, SIGHUP)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(p.isRunning, "the node must keep running until signalled (SIGHUP only re-reads the key file)")
        kill(p.processIdentifier, SIGUSR1)
        Thread.sleep(forTimeInterval: 0.5)
        #expect(p.isRunning, "SIGUSR1 prints the status; it must not stop the node")
        let t0 = Date()
        kill(p.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(5)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        let stopSeconds = Date().timeIntervalSince(t0)
        #expect(!p.isRunning)
        #expect(stopSeconds < 1.5, "stopping took \(stopSeconds) s")
        #expect(p.terminationStatus == 0)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(stderr.contains("SIGHUP: re-read") && stderr.contains("12 peers switched"), "\(stderr)")
        #expect(stderr.contains("node status after") && stderr.contains("12 peers, keyed") && stderr.contains("exchanges"), "\(stderr)")
        #expect(!stderr.contains("INSECURE"))
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
