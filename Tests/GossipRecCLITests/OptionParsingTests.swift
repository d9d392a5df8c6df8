import Foundation
import Testing
@testable import GossipRecCLI
import RecommenderModel

/// Pure option parsing: defaults, `--x=v`, and errors that name the flag and the bad value.
@Suite struct OptionParsingTests {
    static let specs = [
        OptionSpec("data", "FILE", "input file"),
        OptionSpec("negatives", "N", "negatives per test item", default: "99"),
        OptionSpec("lr", "X", "learning rate", default: "0.1"),
        OptionSpec("loss", "L", "bce or bpr", default: "bce"),
        OptionSpec("verbose", nil, "talk more"),
    ]

    static func parse(_ args: [String]) throws -> ParsedOptions {
        try ParsedOptions.parse(command: "demo", summary: "A demo command.", specs: specs, args)
    }

    /// The CLIError thrown by `body`, or nil (recorded as a failure).
    func cliError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> CLIError? {
        do { try body(); Issue.record("no error", sourceLocation: sourceLocation); return nil } catch let e as CLIError {
            return e
        } catch { Issue.record("got \(error)", sourceLocation: sourceLocation); return nil }
    }

    @Test func defaultsFillUnsetValuedOptions() throws {
        let o = try Self.parse([])
        #expect(o.command == "demo")
        #expect(o.values == ["negatives": "99", "lr": "0.1", "loss": "bce"])
        #expect(o.flags.isEmpty)
        #expect(!o.has("verbose"))
        #expect(o.optionalString("data") == nil)
        #expect(try o.int("negatives", in: 1...1000) == 99)
    }

    @Test func separateAndInlineValuesAndFlags() throws {
        let o = try Self.parse(["--data", "u.data", "--negatives=5", "--verbose", "--lr=1e-3", "--loss", "bpr"])
        #expect(try o.string("data") == "u.data")
        #expect(try o.int("negatives", in: 1...10) == 5)
        #expect(try o.double("lr", in: 0...1) == 0.001)
        #expect(try o.choice("loss", Loss.self) == .bpr)
        #expect(o.has("verbose"))
        // An inline value may itself contain '=' and may start with dashes.
        let p = try Self.parse(["--data=a=b.txt", "--negatives", "-3"])
        #expect(try p.string("data") == "a=b.txt")
        #expect(p.values["negatives"] == "-3")
        // The last occurrence wins.
        #expect(try Self.parse(["--negatives", "1", "--negatives=2"]).values["negatives"] == "2")
    }

    @Test func unknownOptionsAndPositionalArgumentsAreRejected() {
        let e = cliError { _ = try Self.parse(["--data", "x", "--bogus", "1"]) }
        #expect(e == .unknownOption(command: "demo", option: "--bogus"))
        #expect(e?.description.contains("--bogus") == true)
        #expect(e?.description.contains("demo") == true)
        #expect(cliError { _ = try Self.parse(["stray"]) } == .unknownOption(command: "demo", option: "stray"))
        #expect(cliError { _ = try Self.parse(["-n", "3"]) } == .unknownOption(command: "demo", option: "-n"))
        #expect(cliError { _ = try Self.parse(["--bogus=3"]) } == .unknownOption(command: "demo", option: "--bogus=3"))
    }

    @Test func missingValueNamesTheOption() {
        let e = cliError { _ = try Self.parse(["--verbose", "--data"]) }
        #expect(e == .missingValue(option: "--data"))
        #expect(e?.description.contains("--data") == true)
    }

    @Test func anOptionWhereAValueShouldBeIsAMissingValueNotTheValue() throws {
        // `split --data --out o/x` used to read "--out" as the data file and then complain about 'o/x'.
        #expect(cliError { _ = try Self.parse(["--data", "--verbose"]) } == .missingValue(option: "--data"))
        #expect(cliError { _ = try Self.parse(["--data", "--help"]) } == .missingValue(option: "--data"))
        // A value that merely starts with dashes but names no option is still a value.
        #expect(try Self.parse(["--data", "--not-an-option"]).optionalString("data") == "--not-an-option")
        #expect(try Self.parse(["--data", "-5"]).optionalString("data") == "-5")
    }

    @Test func versionIsPrintedWithStatusZero() {
        #expect(GossipRecCLI.main(["--version"]) == 0)
        #expect(GossipRecCLI.version.contains("wire version 3"))
    }

    @Test func flagsRejectInlineValues() {
        let e = cliError { _ = try Self.parse(["--verbose=yes"]) }
        guard case .badValue(let o, let v, _)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(o == "--verbose" && v == "yes")
    }

    @Test func missingRequiredOptionIsNamed() throws {
        let o = try Self.parse([])
        let e = cliError { _ = try o.string("data") }
        #expect(e == .missingRequired(option: "--data"))
        #expect(e?.description.contains("--data") == true)
    }

    @Test(arguments: [("negatives", "abc"), ("negatives", "0"), ("negatives", "1001"), ("negatives", "2.5"),
                      ("lr", "fast"), ("lr", "nan"), ("lr", "inf"), ("lr", "-0.5"), ("lr", "2"),
                      ("loss", "mse"), ("loss", "")])
    func badValuesNameTheFlagAndTheValue(name: String, value: String) throws {
        let o = try Self.parse(["--\(name)", value])
        let e = cliError {
            switch name {
            case "negatives": _ = try o.int(name, in: 1...1000)
            case "lr": _ = try o.double(name, in: 0...1)
            default: _ = try o.choice(name, Loss.self)
            }
        }
        guard case .badValue(let opt, let v, let expected)? = e else { Issue.record("got \(String(describing: e))"); return }
        #expect(opt == "--\(name)")
        #expect(v == value)
        #expect(e!.description.contains("--\(name)"))
        #expect(e!.description.contains("'\(value)'"))
        switch name {
        case "negatives": #expect(expected.contains("1...1000"))
        case "lr": #expect(expected.contains("number"))
        default: #expect(expected.contains("bce") && expected.contains("bpr"))
        }
    }

    @Test func seedMustBeANonNegativeInteger() throws {
        let specs = [OptionSpec("seed", "S", "seed", default: "1")]
        #expect(try ParsedOptions.parse(command: "c", summary: "", specs: specs, []).seed() == 1)
        #expect(try ParsedOptions.parse(command: "c", summary: "", specs: specs, ["--seed", "18446744073709551615"]).seed() == .max)
        for bad in ["-1", "x", "1.0", "18446744073709551616"] {
            let o = try ParsedOptions.parse(command: "c", summary: "", specs: specs, ["--seed", bad])
            #expect(cliError { _ = try o.seed() } == .badValue(option: "--seed", value: bad, expected: "a non-negative integer"))
        }
    }

    @Test func helpListsEveryOptionWithItsDefault() {
        for args in [["--help"], ["--data", "x", "-h"]] {
            let e = cliError { _ = try Self.parse(args) }
            guard case .helpRequested(let text)? = e else { Issue.record("got \(String(describing: e))"); continue }
            #expect(text.hasPrefix("usage: gossiprec demo [options]"))
            #expect(text.contains("A demo command."))
            for s in Self.specs { #expect(text.contains("--\(s.name)")) }
            #expect(text.contains("--negatives N"))
            #expect(text.contains("(default 99)"))
            #expect(text.contains("--help"))
        }
    }

    // MARK: - The real subcommands

    @Test func splitCommandDefaultsAndOverrides() throws {
        let s = try SplitCommand.parse(["--data", "d/u.data", "--out", "out/ml"])
        #expect(s.data == "d/u.data" && s.out == "out/ml")
        #expect(s.format == .auto && s.minRating == nil && s.negatives == 99 && s.seed == 1)
        #expect(s.usersDir == "out/ml.users")
        let t = try SplitCommand.parse(["--data=x.csv", "--out=p", "--format", "csv", "--min-rating=3.5",
                                        "--negatives", "50", "--seed", "9", "--users-dir", "shards"])
        #expect(t.format == .csv && t.minRating == 3.5 && t.negatives == 50 && t.seed == 9 && t.usersDir == "shards")
    }

    @Test func splitCommandErrorsNameTheFlag() {
        #expect(cliError { _ = try SplitCommand.parse(["--out", "p"]) } == .missingRequired(option: "--data"))
        #expect(cliError { _ = try SplitCommand.parse(["--data", "x"]) } == .missingRequired(option: "--out"))
        guard case .badValue("--format", "xml", _)? = cliError({ _ = try SplitCommand.parse(["--data", "x", "--out", "p", "--format", "xml"]) })
        else { Issue.record("bad --format accepted or misreported"); return }
        guard case .badValue("--negatives", "0", _)? = cliError({ _ = try SplitCommand.parse(["--data", "x", "--out", "p", "--negatives", "0"]) })
        else { Issue.record("bad --negatives accepted or misreported"); return }
    }

    /// Every declared default of `train` reaches the configuration it builds.
    @Test func trainCommandDefaultsComeFromItsOptionSpecs() throws {
        let t = try TrainCommand.parse(["--split", "p"])
        let d = Dictionary(uniqueKeysWithValues: TrainCommand.options.compactMap { o in o.defaultValue.map { (o.name, $0) } })
        #expect(t.prefix == "p")
        #expect(t.config.loss.rawValue == d["loss"])
        #expect(t.config.dimension == Int(d["dim"]!))
        #expect(t.epochs == Int(d["epochs"]!))
        #expect(t.config.learningRate == Float(d["lr"]!))
        #expect(t.config.l2 == Float(d["l2"]!))
        #expect(t.config.negatives == Int(d["negatives"]!))
        #expect(t.config.optimizer.rawValue == d["optimizer"])
        #expect(t.config.initStd == Float(d["init-std"]!))
        #expect(t.seed == UInt64(d["seed"]!))
        #expect(t.evalEvery == Int(d["eval-every"]!))
        #expect(t.config.itemBias)
        let u = try TrainCommand.parse(["--split", "p", "--loss", "bpr", "--dim=8", "--epochs", "3", "--lr", "0.5",
                                        "--l2", "0", "--negatives", "2", "--optimizer", "sgd", "--init-std", "0.2",
                                        "--no-bias", "--seed", "4", "--eval-every", "0"])
        #expect(u.config.loss == .bpr && u.config.dimension == 8 && u.epochs == 3 && u.config.learningRate == 0.5)
        #expect(u.config.l2 == 0 && u.config.negatives == 2 && u.config.optimizer == .sgd && u.config.initStd == 0.2)
        #expect(!u.config.itemBias && u.seed == 4 && u.evalEvery == 0)
    }

    @Test func trainCommandRejectsOutOfRangeValues() {
        for (flag, value) in [("dim", "0"), ("epochs", "-1"), ("lr", "nan"), ("negatives", "0"), ("optimizer", "adam"),
                              ("l2", "-1")] {
            let e = cliError { _ = try TrainCommand.parse(["--split", "p", "--\(flag)", value]) }
            guard case .badValue(let o, let v, _)? = e else { Issue.record("--\(flag) \(value): got \(String(describing: e))"); continue }
            #expect(o == "--\(flag)" && v == value)
        }
    }
}
