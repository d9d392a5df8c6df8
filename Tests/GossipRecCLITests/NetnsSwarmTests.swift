import Foundation
import Testing
@testable import GossipRecCLI

/// The `ip` command (iproute2), wherever this system keeps it.
private func ipCommand() -> String? {
    ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }
}

/// Runs `path args` with output discarded; its exit status, or nil if it could not be started.
private func status(_ path: String, _ args: [String]) -> Int32? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    do { try p.run() } catch { return nil }
    p.waitUntilExit()
    return p.terminationStatus
}

/// Whether this process may create network namespaces: creates and deletes a probe namespace.
func canCreateNetworkNamespaces() -> Bool {
    guard let ip = ipCommand() else { return false }
    let name = "grn-probe-\(UInt32.random(in: 0...UInt32.max))"
    guard status(ip, ["netns", "add", name]) == 0 else { return false }
    _ = status(ip, ["netns", "del", name])
    return true
}

/// Scripts/test-netns.sh end to end: three node processes in three network namespaces on a bridge, one link slow
/// and lossy. Needs root (CAP_SYS_ADMIN); without it the test is skipped, not failed: a missing privilege is no
/// fault of the code under test.
@Suite(.serialized) struct NetnsSwarmTests {
    @Test(.enabled(if: canCreateNetworkNamespaces(), "needs permission to create network namespaces ('ip netns add'): run as root"))
    func aSwarmAcrossThreeNetworkNamespacesWithALossyLinkConvergesAndLearns() throws {
        guard let binary = gossiprecBinary() else {
            Issue.record("gossiprec executable not found next to \(CommandLine.arguments[0]); run 'swift build' first")
            return
        }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let script = root.appendingPathComponent("Scripts/test-netns.sh").path
        let outPath = NSTemporaryDirectory() + "gossiprec-netns-test-\(UUID().uuidString).out"
        guard FileManager.default.createFile(atPath: outPath, contents: nil) else {
            Issue.record("cannot create \(outPath)"); return
        }
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: outPath))
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script, binary.path]
        var env = ProcessInfo.processInfo.environment
        env["NETNS_DURATION"] = "32"
        env["NETNS_PEERS"] = "6"
        p.environment = env
        p.standardOutput = out
        p.standardError = out
        try p.run()
        // Bounded: the script stops its nodes after 32 s and gives up on them at 47 s; SIGTERM makes it clean up.
        let deadline = Date().addingTimeInterval(90)
        while p.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.2) }
        if p.isRunning {
            p.terminate()
            let grace = Date().addingTimeInterval(10)
            while p.isRunning && Date() < grace { Thread.sleep(forTimeInterval: 0.1) }
            Issue.record("Scripts/test-netns.sh did not finish within 90 s")
        }
        p.waitUntilExit()
        try out.close()
        let text = (try? String(contentsOfFile: outPath, encoding: .utf8)) ?? ""
        #expect(p.terminationStatus == 0, "Scripts/test-netns.sh exited with \(p.terminationStatus) (77: no privilege, 1: a check failed):\n\(text)")
        #expect(text.contains("test-netns: PASS"), "\(text)")
    }
}

/// `gossiprec node --fault-*` parsing: values land in `FaultInjection`, errors name the flag and the value.
@Suite struct FaultFlagParsingTests {
    func node(_ args: [String]) throws -> NodeCommand { try NodeCommand.parse(["--users-dir", "/nonexistent", "--insecure"] + args) }

    func error(_ args: [String], sourceLocation: SourceLocation = #_sourceLocation) -> String {
        do { _ = try node(args); Issue.record("no error for \(args)", sourceLocation: sourceLocation); return "" } catch {
            return "\(error)"
        }
    }

    @Test func withoutFlagsNothingIsInjected() throws {
        let f = try node([]).faults
        #expect(f.dropOutgoingDatagrams == 0 && f.duplicateOutgoingDatagrams == 0 && !f.delays && f.destinations.isEmpty)
    }

    @Test func flagsSetDropDuplicateDelayJitterAndDestinations() throws {
        let f = try node(["--fault-drop", "0.1", "--fault-duplicate", "0.05", "--fault-delay-ms", "40+20",
                          "--fault-to", "10.77.3.0/24,10.77.1.7"]).faults
        #expect(f.dropOutgoingDatagrams == 0.1)
        #expect(f.duplicateOutgoingDatagrams == 0.05)
        #expect(f.outgoingDelay == .milliseconds(40))
        #expect(f.outgoingDelayJitter == .milliseconds(20))
        #expect(f.destinations.map(\.description) == ["10.77.3.0/24", "10.77.1.7/32"])
        #expect(f.applies(to: [10, 77, 3, 200]) && f.applies(to: [10, 77, 1, 7]))
        #expect(!f.applies(to: [10, 77, 1, 8]) && !f.applies(to: [10, 77, 2, 1]))
        let plain = try node(["--fault-delay-ms", "15"]).faults
        #expect(plain.outgoingDelay == .milliseconds(15) && plain.outgoingDelayJitter == .zero)
    }

    @Test func badValuesAreErrorsNamingTheFlagAndTheValue() {
        for bad in ["x", "40+", "+20", "40+20+1", "-5", "1.5", "700000"] {
            let e = error(["--fault-delay-ms", bad])
            #expect(e.contains("--fault-delay-ms") && e.contains("'\(bad)'"), "\(e)")
        }
        for bad in ["10.77.3.0/33", "10.77.3/24", "10.77.3.0/", "host/24", "10.77.3.0/+8"] {
            let e = error(["--fault-drop", "0.1", "--fault-to", "10.77.1.0/24," + bad])
            #expect(e.contains("--fault-to") && e.contains("'\(bad)'"), "\(e)")
        }
        let p = error(["--fault-drop", "1.5"])
        #expect(p.contains("--fault-drop") && p.contains("'1.5'"), "\(p)")
        let useless = error(["--fault-to", "10.77.3.0/24"])
        #expect(useless.contains("--fault-to") && useless.contains("--fault-delay-ms"), "\(useless)")
    }

    @Test func memberCapIsParsedAndCheckedAgainstTheView() throws {
        #expect(try node([]).membership.maxMembers == 1_000, "bounded by default")
        #expect(try node(["--max-members", "all"]).membership.maxMembers == nil)
        #expect(try node(["--max-members", "300"]).membership.maxMembers == 300)
        let small = error(["--max-members", "24"])   // the default view (20) plus relays (3) plus 2 does not fit
        #expect(small.contains("--max-members") && small.contains("maxMembers"), "\(small)")
        let word = error(["--max-members", "many"])
        #expect(word.contains("--max-members") && word.contains("'many'"), "\(word)")
    }
}
