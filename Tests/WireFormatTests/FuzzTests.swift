import GossipProtocol
import RecommenderModel
import Testing
@testable import WireFormat

/// 100,000 seeded hostile inputs: random bytes, and valid frames with bytes flipped, inserted, deleted,
/// truncated or length fields rewritten (half with the checksum recomputed, so the payload decoder is
/// reached). Each input must either decode or be rejected with a `DecodeError` (a trap fails the run); a
/// decoded input must re-encode to exactly the same bytes (the encoding is canonical).
@Suite struct FuzzTests {
    static let inputsPerShard = 25_000

    @Test(arguments: 0..<4)
    func hostileInputsAreDecodedOrRejectedNeverCrash(_ shard: Int) throws {
        var rng = SplitMix64(seed: 0xF022 &+ UInt64(shard))
        let pool = try (0..<48).map { k in
            try WireCodec.encode(rng.envelope(.small, type: MessageType.allCases[k % MessageType.allCases.count]))
        }
        var decoded = 0, mismatches = 0
        var reasons: [String: Int] = [:]
        var stream = FrameAccumulator()
        for i in 0..<Self.inputsPerShard {
            let input = Self.mutant(pool: pool, rng: &rng)
            let result: Result<Envelope, DecodeError>
            do { result = .success(try WireCodec.decode(input)) } catch { result = .failure(error) }
            switch result {
            case .success(let e):
                decoded += 1
                let again = try WireCodec.encode(e)
                let back = try WireCodec.decode(again)
                if again != input || back != e {
                    mismatches += 1
                    if mismatches <= 3 {
                        Issue.record("input \(i) of shard \(shard) decoded but re-encoded differently: \(input)")
                    }
                }
            case .failure(let error):
                reasons[error.reason, default: 0] += 1
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
        }
        // The fuzzer is not vacuous: it both accepts mutants and reaches deep rejections.
        #expect(mismatches == 0)
        #expect(decoded > 100)
        for reason in ["bad_magic", "bad_checksum", "truncated", "trailing_bytes", "invalid",
                       "length_exceeds_limit", "unknown_message_type"] {
            #expect(reasons[reason, default: 0] > 0, "no input was rejected as \(reason)")
        }
    }

    static func mutant(pool: [[UInt8]], rng: inout SplitMix64) -> [UInt8] {
        var f = pool[rng.next(below: pool.count)]
        switch rng.next(below: 8) {
        case 0:  // random bytes, sometimes behind a valid magic and version
            var r = (0..<rng.int(0...80)).map { _ in rng.byte() }
            if rng.bool() { r = FrameHeader.magic + [WireCodec.version] + r }
            return r
        case 1:  // truncate
            return Array(f[..<rng.next(below: f.count)])
        case 2:  // rewrite the payload length or the byte just after the payload
            let value = rng.bool() ? UInt32(rng.next(below: 200)) : UInt32(truncatingIfNeeded: rng.next())
            f.replaceSubrange(28..<32, with: le(value))
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
