import Testing
import WireFormat
import WireFuzz

/// 100,000 seeded hostile inputs on the debug build (`DecoderFuzz`: random bytes, and valid frames with bytes
/// flipped, inserted, deleted, truncated or length fields rewritten, half with the checksum recomputed so the
/// payload decoder is reached). Each input must either decode or be rejected with a `DecodeError` (a trap fails
/// the run); a decoded input must re-encode to exactly the same bytes (the encoding is canonical). The same loop
/// runs on the release build as the `wire-fuzz` program (`Scripts/fuzz.sh`, and a short run in `Scripts/test.sh`).
@Suite struct FuzzTests {
    static let inputsPerShard = 25_000

    @Test(arguments: 0..<4)
    func hostileInputsAreDecodedOrRejectedNeverCrash(_ shard: Int) throws {
        let report = try DecoderFuzz.run(inputs: Self.inputsPerShard, seed: 0xF022 &+ UInt64(shard))
        for v in report.violations { Issue.record("shard \(shard): \(v)") }
        #expect(report.violationCount == 0)
        // The fuzzer is not vacuous: it both accepts mutants and reaches deep rejections.
        #expect(report.accepted > 100)
        for reason in DecoderFuzz.expectedReasons {
            #expect(report.rejected[reason, default: 0] > 0, "no input was rejected as \(reason)")
        }
        #expect(report.inputs == Self.inputsPerShard)
    }
}
