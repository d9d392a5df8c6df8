// wire-fuzz: the WireFormat decoder fuzz (`DecoderFuzz`) as a program, so that it runs against the release
// build that peers ship (`Scripts/fuzz.sh`; `Scripts/test.sh` runs a short one). Exit status: 0 every input
// passed, 1 a violation (or a vacuous run), 2 bad arguments; a decoder trap kills the process (non-zero too).
import Foundation
import WireFuzz

let usage = """
    usage: wire-fuzz [--inputs N] [--seed S] [--show K]

    Feeds N hostile inputs (mutations of valid frames: bit flips, edge bytes, truncations, inserted and deleted
    bytes, payload lengths that lie, random bytes; half with a recomputed checksum) to WireCodec.decode and checks
    that each one is either rejected with a DecodeError or accepted and re-encoded to the identical bytes.
    The last line of output counts inputs, accepted, and rejected by reason.

    options:
      --inputs N   number of inputs (default 1000000)
      --seed S     seed of the inputs, decimal or 0x-hex (default 1); the same seed gives the same inputs
      --show K     print the first K violations in full (default 3)
      --help       show this help
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("wire-fuzz: error: \(message) (see --help)\n".utf8))
    exit(2)
}

func parseUInt64(_ s: String) -> UInt64? {
    let t = s.replacingOccurrences(of: "_", with: "").replacingOccurrences(of: ",", with: "")
    if t.hasPrefix("0x") || t.hasPrefix("0X") { return UInt64(t.dropFirst(2), radix: 16) }
    return UInt64(t)
}

var inputs = 1_000_000
var seed: UInt64 = 1
var show = 3
var args = Array(CommandLine.arguments.dropFirst())
while !args.isEmpty {
    let flag = args.removeFirst()
    if flag == "--help" || flag == "-h" { print(usage); exit(0) }
    guard ["--inputs", "--seed", "--show"].contains(flag) else { fail("unknown option '\(flag)'") }
    guard !args.isEmpty else { fail("\(flag) needs a value") }
    let value = args.removeFirst()
    guard let n = parseUInt64(value) else { fail("\(flag) '\(value)' is not a non-negative integer") }
    switch flag {
    case "--inputs":
        guard n >= 1 && n <= 1_000_000_000 else { fail("--inputs '\(value)' must be in 1...1000000000") }
        inputs = Int(n)
    case "--seed": seed = n
    default:
        guard n <= 1_000 else { fail("--show '\(value)' must be at most 1000") }
        show = Int(n)
    }
}

func say(_ s: String) { FileHandle.standardError.write(Data("wire-fuzz: \(s)\n".utf8)) }

let start = Date()
let report: DecoderFuzz.Report
do {
    report = try DecoderFuzz.run(inputs: inputs, seed: seed, keepViolations: show,
                                 progressEvery: inputs > 2_000_000 ? 1_000_000 : 0) { r in
        say("\(r.inputs) inputs, \(r.accepted) accepted, \(r.violationCount) violations so far")
    }
} catch {
    say("the generator built an envelope the encoder refuses (a bug in WireFuzz): \(error)")
    exit(1)
}
for v in report.violations { print("wire-fuzz: VIOLATION \(v)") }
if !report.missingReasons.isEmpty {
    print("wire-fuzz: VACUOUS no input was rejected as \(report.missingReasons.joined(separator: ", "))")
}
if report.accepted == 0 && report.inputs >= DecoderFuzz.minimumInputsForCoverage {
    print("wire-fuzz: VACUOUS no input was accepted")
}
say(String(format: "%.1f s", Date().timeIntervalSince(start)))
print("wire-fuzz: \(report.passed ? "ok" : "FAILED"): \(report.summary)")
exit(report.passed ? 0 : 1)
