import Foundation
import Testing
@testable import GossipRecCLI

@Suite struct SimulateCommandTests {
    func cliError(_ args: [String]) -> CLIError? {
        do { _ = try SimulateCommand.parse(args); return nil } catch let e as CLIError { return e } catch { return nil }
    }

    @Test func eventsEngineParsesItsOptions() throws {
        let c = try SimulateCommand.parse(["--engine", "events", "--synthetic", "100,40,4,8", "--duration", "90s",
                                           "--period-ms", "1500", "--seed", "9", "--target-hr", "0.4", "--peers", "50"])
        #expect(c.engine == .events)
        #expect(c.events.duration == .seconds(90))
        #expect(c.events.gossip.period == .milliseconds(1500))
        #expect(c.events.seed == 9 && c.events.targetHR == 0.4 && c.peers == 50)
        guard case .synthetic(100, 40, 4, 8) = c.source else { Issue.record("source \(c.source)"); return }
    }

    @Test func evaluateChoosesTheHeldOutItemAndSyntheticDataHoldsOutAValidationItemForIt() throws {
        #expect(try SimulateCommand.parse(["--split", "x"]).evaluate == .test)
        let c = try SimulateCommand.parse(["--engine", "events", "--synthetic", "30,40,4,8", "--evaluate", "validation"])
        #expect(c.evaluate == .validation)
        // Every peer ranks its validation item (its second-latest interaction), which it does not train on.
        let shards = try c.loadShards()
        #expect(shards.count == 30 && shards.allSatisfy { $0.test != nil && $0.train.count == 6 })
        #expect(shards.allSatisfy { s in !s.train.contains { $0.item == s.test!.item } && s.train.allSatisfy { $0.timestamp <= s.test!.timestamp } })
        if case .badValue(let o, let v, _)? = cliError(["--split", "x", "--evaluate", "train"]) {
            #expect(o == "--evaluate" && v == "train")
        } else { Issue.record("no error for --evaluate train") }
    }

    @Test func badEventOptionsNameFlagAndValue() {
        #expect(cliError(["--engine", "events"]) == .missingRequired(option: "--split, --users-dir or --synthetic"))
        #expect(cliError(["--engine", "rounds", "--users-dir", "x"]) == .missingRequired(option: "--split"))
        #expect(cliError(["--engine", "warp", "--split", "x"])?.description.contains("'warp'") == true)
        if case .badValue(let o, let v, _)? = cliError(["--engine", "events", "--synthetic", "10,40,4,20"]) {
            #expect(o == "--synthetic" && v == "10,40,4,20")
        } else { Issue.record("no error for a block smaller than K") }
        if case .badValue(let o, let v, _)? = cliError(["--engine", "events", "--synthetic", "10,40,4,8", "--duration", "-3s"]) {
            #expect(o == "--duration" && v == "-3s")
        } else { Issue.record("no error for a negative duration") }
    }

    @Test func aProfileWithAnErrorIsReportedWithItsLine() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-\(UInt64.random(in: 0...UInt64.max)).profile").path
        try "seed 1\nat 10s kill lots\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try SimulateCommand.parse(["--engine", "events", "--synthetic", "10,40,4,8", "--profile", path])
            Issue.record("accepted a bad profile")
        } catch {
            #expect("\(error)".contains("\(path):2: 'lots'"), "\(error)")
        }
    }
}
