import GossipProtocol
import RecommenderModel
import SwarmCrypto
import WireFormat

/// The decoder fuzz, in a library so that one loop serves the debug test (`FuzzTests`) and the release
/// executable `wire-fuzz` (`Scripts/fuzz.sh`, and a shorter run in `Scripts/test.sh`): the shipped binary's
/// decoder is the one that meets hostile bytes, so it is the one that must be fuzzed.
///
/// Inputs, all from one seed: random bytes (half of them behind a valid magic and version), and valid frames
/// (`poolSize` small envelopes, every message type in turn) truncated, with the payload length rewritten, with a
/// few bytes inserted or deleted, with a byte set to an edge value, or with 1-3 bits flipped; half of the mutants
/// get their checksum recomputed, so the payload decoder is reached and not only the checksum.
///
/// Properties checked for every input: decoding returns (a trap ends the process, which the caller sees as a
/// failure); a rejection is a `DecodeError` whose `reason` is one of `DecodeError.allReasons` and whose numbers
/// are consistent (`inconsistency(of:)`: a cursor that read past its end shows up there, as a negative trailing
/// count or a truncation with bytes to spare); an accepted frame re-encodes to exactly the input bytes and
/// decodes again to the same envelope (every envelope has one encoding). Every 16th input is also fed to a
/// `FrameAccumulator` in two chunks (it must not trap).
///
/// Every 4th input goes to a keyed receiver instead (`SealedInputs`): a fresh frame sealed under its key (must be
/// accepted, and decode to what was sealed), a replay of one of the last few it accepted (must be `replayed`), a
/// frame sealed under another key (must be `unknown_key`), the same under another key that claims the right key id
/// (must be `bad_tag`), an unsealed frame (must be `unsealed`), a frame from a sender's earlier start sent after the
/// receiver accepted one from its restart (must be `stale_epoch`), or a mutant of a fresh sealed frame (must be
/// rejected unless the mutation changed nothing).
public enum DecoderFuzz {
    /// Valid frames the mutants are made from.
    public static let poolSize = 48

    /// Rejection reasons that any run of `minimumInputsForCoverage` or more inputs reaches; a run that misses
    /// one is vacuous (the mutations no longer reach that check).
    public static let expectedReasons = ["bad_magic", "bad_checksum", "truncated", "trailing_bytes", "invalid",
                                         "length_exceeds_limit", "unknown_message_type",
                                         "unknown_key", "bad_tag", "replayed", "stale_epoch", "unsealed"]
    public static let minimumInputsForCoverage = 10_000

    /// One input that broke a property.
    public struct Violation: Sendable, CustomStringConvertible {
        /// 0-based position of the input in its run (same seed, same position: same input).
        public var index: Int
        public var input: [UInt8]
        public var what: String

        public var description: String {
            "input \(index): \(what); bytes (\(input.count)): \(input.map { hex($0) }.joined(separator: " "))"
        }
    }

    public struct Report: Sendable {
        public var seed: UInt64
        public var inputs = 0
        public var accepted = 0
        /// Rejections by `DecodeError.reason`.
        public var rejected: [String: Int] = [:]
        public var violationCount = 0
        /// The first few violations, in full.
        public var violations: [Violation] = []

        public var rejectedTotal: Int { rejected.values.reduce(0, +) }

        /// Expected reasons no input reached (only judged for runs of `minimumInputsForCoverage` or more).
        public var missingReasons: [String] {
            guard inputs >= DecoderFuzz.minimumInputsForCoverage else { return [] }
            return DecoderFuzz.expectedReasons.filter { rejected[$0, default: 0] == 0 }
        }

        /// No violation, and not vacuous: some inputs accepted and every expected reason reached.
        public var passed: Bool {
            violationCount == 0 && missingReasons.isEmpty
                && (accepted > 0 || inputs < DecoderFuzz.minimumInputsForCoverage)
        }

        /// One line: inputs, accepted, rejected by reason (every reason, in `DecodeError.allReasons` order), violations.
        public var summary: String {
            let reasons = DecodeError.allReasons.map { "\($0) \(rejected[$0, default: 0])" }
            let unknown = rejected.keys.filter { !DecodeError.allReasons.contains($0) }.sorted()
                .map { "\($0) \(rejected[$0, default: 0])" }
            return "inputs \(inputs), seed \(seed): accepted \(accepted), rejected \(rejectedTotal) ("
                + (reasons + unknown).joined(separator: ", ") + "), violations \(violationCount)"
        }
    }

    /// Runs `inputs` inputs from `seed`. `progress` is called every `progressEvery` inputs (0: never).
    /// Throws only if the generator itself builds an envelope the encoder refuses (a bug in `Generators.swift`).
    public static func run(inputs: Int, seed: UInt64, keepViolations: Int = 3, progressEvery: Int = 0,
                           progress: (Report) -> Void = { _ in }) throws(EncodeError) -> Report {
        var rng = SplitMix64(seed: seed)
        let pool = try makePool(&rng)
        var report = Report(seed: seed)
        var stream = FrameAccumulator()
        func violation(_ i: Int, _ input: [UInt8], _ what: String) {
            report.violationCount += 1
            if report.violations.count < keepViolations { report.violations.append(Violation(index: i, input: input, what: what)) }
        }
        var sealed = SealedInputs(pool: pool)
        for i in 0..<inputs {
            if i % 4 == 3 {
                report.inputs += 1
                let (input, outcome) = sealed.next(&rng)
                switch outcome {
                case .accepted: report.accepted += 1
                case .rejected(let reason): report.rejected[reason, default: 0] += 1
                case .violation(let what): violation(i, input, what)
                }
                continue
            }
            let input = mutant(pool: pool, rng: &rng)
            report.inputs += 1
            do {
                let e = try WireCodec.decode(input)
                report.accepted += 1
                do {
                    let again = try WireCodec.encode(e)
                    if again != input {
                        violation(i, input, "decoded, but re-encodes to different bytes (\(again.count) bytes)")
                    } else if try WireCodec.decode(again) != e {
                        violation(i, input, "decoded, re-encoded, and decoded again to a different envelope")
                    }
                } catch let error as EncodeError {
                    violation(i, input, "decoded, but the encoder refuses the envelope: \(error)")
                } catch {
                    violation(i, input, "decoded, but its re-encoding does not decode: \(error)")
                }
            } catch {
                if !DecodeError.allReasons.contains(error.reason) {
                    violation(i, input, "rejected with reason '\(error.reason)', which is not in DecodeError.allReasons")
                } else if let problem = inconsistency(of: error) {
                    violation(i, input, "rejected with an inconsistent error (\(error)): \(problem)")
                }
                report.rejected[error.reason, default: 0] += 1
            }
            // Every 16th input also goes through a stream accumulator in two chunks.
            if i % 16 == 0 {
                let cut = rng.next(below: input.count + 1)
                stream.append(Array(input[..<cut]))
                stream.append(Array(input[cut...]))
                do {
                    while let f = try stream.nextFrame() { _ = try? WireCodec.decode(f) }
                } catch {
                    stream = FrameAccumulator()  // a poisoned stream is closed and replaced
                }
            }
            if progressEvery > 0 && (i + 1) % progressEvery == 0 && i + 1 < inputs { progress(report) }
        }
        return report
    }

    /// What is impossible about `error`'s numbers, or nil if they are consistent: a truncation needs more bytes
    /// than are available (and at least 0 are), trailing bytes are at least one, a length over its limit is over
    /// it, a checksum mismatch has two different sums, unknown flags are not none.
    public static func inconsistency(of error: DecodeError) -> String? {
        switch error {
        case .truncated(let needed, let available):
            if available < 0 { return "negative bytes available" }
            if needed <= available { return "needs no more bytes than are available" }
        case .trailingBytes(let count):
            if count <= 0 { return "trailing byte count is not positive" }
        case .lengthExceedsLimit(_, let length, let limit):
            if length <= limit { return "length does not exceed the limit" }
        case .badChecksum(let stored, let computed):
            if stored == computed { return "the checksums are equal" }
        case .unknownFlags(let bits):
            if bits == 0 { return "no unknown flag bit" }
        case .badMagic, .unsupportedVersion, .unknownMessageType, .wrongSwarm, .nonFiniteFloat, .invalid, .unknownKey,
             .badTag, .replayed, .staleEpoch, .unsealed:
            break
        }
        return nil
    }

    /// `poolSize` valid frames of small envelopes, cycling through every message type.
    public static func makePool(_ rng: inout SplitMix64) throws(EncodeError) -> [[UInt8]] {
        var pool: [[UInt8]] = []
        for k in 0..<poolSize {
            pool.append(try WireCodec.encode(rng.envelope(.small, type: MessageType.allCases[k % MessageType.allCases.count])))
        }
        return pool
    }

    /// One hostile input made from a random frame of `pool` (see the type's docs).
    public static func mutant(pool: [[UInt8]], rng: inout SplitMix64) -> [UInt8] {
        var f = pool[rng.next(below: pool.count)]
        switch rng.next(below: 8) {
        case 0:  // random bytes, sometimes behind a valid magic and version
            var r = (0..<rng.int(0...80)).map { _ in rng.byte() }
            if rng.bool() { r = FrameHeader.magic + [WireCodec.version] + r }
            return r
        case 1:  // truncate
            return Array(f[..<rng.next(below: f.count)])
        case 2:  // rewrite the payload length (a length field that lies)
            let value = rng.bool() ? UInt32(rng.next(below: 200)) : UInt32(truncatingIfNeeded: rng.next())
            f.replaceSubrange(28..<32, with: (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) })
        case 3:  // insert or delete a few bytes
            let at = rng.next(below: f.count)
            if rng.bool() {
                f.insert(contentsOf: (0..<rng.int(1...4)).map { _ in rng.byte() }, at: at)
            } else {
                f.removeSubrange(at..<min(f.count, at + rng.int(1...4)))
            }
        case 4:  // set a byte to an edge value
            f[rng.next(below: f.count)] = [0, 1, 2, 3, 4, 5, 16, 0x7F, 0x80, 0xFF][rng.next(below: 10)]
        default:  // flip 1-3 random bits
            for _ in 0..<rng.int(1...3) { f[rng.next(below: f.count)] ^= 1 << UInt8(rng.next(below: 8)) }
        }
        return rng.bool() ? withRecomputedChecksum(f) : f
    }
}

/// The sealed-frame half of the fuzz: a sender and a receiver keyed with key A, a sender keyed with key B, a
/// forger who seals under B but writes A's key id, and the sender after a restart (key A, a later epoch; it speaks
/// for senders 64..<128 only, so the first sender's frames, for senders 0..<64, never become stale).
struct SealedInputs {
    enum Outcome { case accepted, rejected(String), violation(String) }

    static let swarmID: UInt32 = 0x5EA1
    let envelopes: [Envelope]
    var receiver: FrameSecurity
    var sender: FrameSecurity
    var stranger: FrameSecurity
    var restarted: FrameSecurity
    var sequence: UInt64 = 0
    var recent: [[UInt8]] = []

    init(pool: [[UInt8]]) {
        var a = SplitMix64(seed: 0xA), b = SplitMix64(seed: 0xB)
        let ringA = try! Keyring(primary: SwarmKey.generate(using: &a))
        let ringB = try! Keyring(primary: SwarmKey.generate(using: &b))
        envelopes = pool.map { try! WireCodec.decode($0) }
        receiver = FrameSecurity(keyring: ringA, swarmID: Self.swarmID, epoch: 7)
        sender = FrameSecurity(keyring: ringA, swarmID: Self.swarmID, epoch: 1)
        stranger = FrameSecurity(keyring: ringB, swarmID: Self.swarmID, epoch: 1)
        restarted = FrameSecurity(keyring: ringA, swarmID: Self.swarmID, epoch: 2)
    }

    /// A fresh envelope from one of 64 senders, with the next sequence number.
    mutating func envelope(_ rng: inout SplitMix64) -> Envelope {
        var e = envelopes[rng.next(below: envelopes.count)]
        e.swarmID = Self.swarmID
        e.sender = PeerID(UInt64(rng.next(below: 64)))
        sequence += 1
        e.sequence = sequence
        return e
    }

    mutating func next(_ rng: inout SplitMix64) -> ([UInt8], Outcome) {
        let e = envelope(&rng)
        var kind = rng.next(below: 7)
        if kind == 1 && recent.isEmpty { kind = 0 }
        let input: [UInt8]
        let expected: String?
        switch kind {
        case 0:
            input = try! WireCodec.encode(e, security: &sender); expected = nil
        case 1:
            input = recent[rng.next(below: recent.count)]; expected = "replayed"
        case 2:
            input = try! WireCodec.encode(e, security: &stranger); expected = "unknown_key"
        case 3:
            var f = try! WireCodec.encode(e, security: &stranger)
            let id = receiver.keyring!.primary.id.rawValue
            for k in 0..<4 { f[32 + k] = UInt8(truncatingIfNeeded: id >> (8 * UInt32(k))) }
            input = f; expected = "bad_tag"
        case 4:
            input = try! WireCodec.encode(e); expected = "unsealed"
        case 5:
            // A sender at its restart's epoch, then the same sender's frame from before the restart.
            var now = e, before = envelope(&rng)
            now.sender = PeerID(64 + UInt64(rng.next(below: 64)))
            before.sender = now.sender
            let fresh = try! WireCodec.encode(now, security: &restarted)
            do { _ = try WireCodec.decode(fresh, security: &receiver) } catch {
                return (fresh, .violation("a fresh frame of a restarted sender was rejected: \(error)"))
            }
            input = try! WireCodec.encode(before, security: &sender); expected = "stale_epoch"
        default:
            let original = try! WireCodec.encode(e, security: &sender)
            input = DecoderFuzz.mutant(pool: [original], rng: &rng)
            if input == original { expected = nil } else { expected = "" }  // "": any rejection
        }
        do {
            let d = try WireCodec.decode(input, security: &receiver)
            guard expected == nil else { return (input, .violation("accepted, but it should be rejected as \(expected!.isEmpty ? "anything" : expected!)")) }
            guard d.message == e.message, d.sender == e.sender, d.sequence == e.sequence else {
                return (input, .violation("a sealed frame opened to a different envelope"))
            }
            recent.append(input)
            if recent.count > 8 { recent.removeFirst() }
            return (input, .accepted)
        } catch {
            if let expected, !expected.isEmpty, error.reason != expected {
                return (input, .violation("rejected as \(error.reason), expected \(expected)"))
            }
            if expected == nil { return (input, .violation("a fresh sealed frame was rejected: \(error)")) }
            return (input, .rejected(error.reason))
        }
    }
}

private func hex(_ b: UInt8) -> String {
    let s = String(b, radix: 16)
    return b < 16 ? "0" + s : s
}
