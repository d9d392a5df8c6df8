import GossipProtocol
import RecommenderModel
import Testing
@testable import WireFormat
import WireFuzz

/// The compact model layout (`modelPushCompact` / `modelReplyCompact`, README "Wire protocol"): hand-written frames
/// computed outside this code base (Python: struct, numpy's float16, a separate xxHash32), and every malformed case
/// the decoder must reject.
@Suite struct CompactModelTests {
    /// A push of 3 rows at 8 bits: items 1, 4, 200 (gaps 1, 3, 196: 196 takes two varint bytes c4 01), weights
    /// 1, 0.5, 2, scales 0.5, 0.25, 0, integers (2, -4), (127, -127), (0, 0).
    static let i8Frame = GoldenFrameTests.hex(
        "475245430313000007000000010000000000000002000000000000003e00000000000000000000004d00000000000000012c01000002"
        + "00030000000000000003000000020103c4010000803f0000003f000000400000003f0000803e0000000002fc7f8100002676b7d8")
    static let i8Model = ModelPayload(itemCount: 300, dimension: 2, round: 3, items: [1, 4, 200], weights: [1, 0.5, 2],
                                      values: [1, -2, 31.75, -31.75, 0, 0], precision: .i8, scales: [0.5, 0.25, 0])
    static let i8 = Envelope(swarmID: 7, sender: PeerID(1), sequence: 2, message: .modelPush(seq: 77, model: i8Model, wantsReply: true))

    /// A reply of 2 rows at 16 bits: items 0, 9, dimension 3, values 1, -2, 0.5, 65504 (the largest half), -0.0 and
    /// 2^-24 (the smallest subnormal half).
    static let f16Frame = GoldenFrameTests.hex(
        "475245430314000007000000010000000000000002000000000000003100000000000000000000004e000000000000000a00000003"
        + "000500000000000000020000000100090000803f0000803f003c00c00038ff7b0080010053b05538")
    static let f16Model = ModelPayload(itemCount: 10, dimension: 3, round: 5, items: [0, 9], weights: [1, 1],
                                       values: [1, -2, 0.5, 65504, -0.0, 0x1p-24], precision: .f16, scales: [])
    static let f16 = Envelope(swarmID: 7, sender: PeerID(1), sequence: 2, message: .modelReply(seq: 78, model: f16Model))

    @Test(arguments: [(i8, i8Frame), (f16, f16Frame)])
    func encodesToTheHandWrittenBytesAndBack(_ envelope: Envelope, _ frame: [UInt8]) throws {
        #expect(try WireCodec.encode(envelope) == frame)
        let back = try WireCodec.decode(frame)
        #expect(back == envelope)
        #expect(WireCodec.modelFrameBytes(envelope.message, sealed: false) == frame.count)
    }

    /// Offsets into the i8 frame: header 40, seq 8, wantsReply 1, itemCount 4, dimension 2, round 8, rows 4.
    static let precisionAt = 40 + 9 + 18, gapsAt = 40 + 9 + 19, scalesAt = 40 + 9 + 19 + 4 + 12, valuesAt = 40 + 9 + 19 + 4 + 24

    @Test func malformedCompactModelsAreRejected() {
        let f = Self.i8Frame
        func invalid(_ bytes: [UInt8], _ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
            guard case .invalid(let m)? = decodeError(bytes) else {
                Issue.record("expected .invalid(\(text)), got \(String(describing: decodeError(bytes)))", sourceLocation: sourceLocation)
                return
            }
            #expect(m.contains(text), "\(m)", sourceLocation: sourceLocation)
        }
        invalid(patched(f, at: Self.precisionAt, [0]), "precision = 0")
        invalid(patched(f, at: Self.precisionAt, [3]), "precision = 3")
        invalid(patched(f, at: Self.gapsAt + 1, [0]), "gap 0")                       // items 1, 1: not increasing
        invalid(patched(f, at: Self.gapsAt + 2, [0xC4, 0x82]), "overlong")           // 196 + a longer varint: ends in a zero byte of the weights
        invalid(patched(f, at: Self.gapsAt, [0x81, 0x00]), "overlong")               // 1 as 81 00, then gap 0x03 -> ...
        invalid(patched(f, at: Self.gapsAt + 2, [0xAC, 0x02]), "not below itemCount") // 1 + 3 + 300 = 304 >= 300
        invalid(patched(f, at: Self.scalesAt, le(Float(-0.5).bitPattern)), "negative")
        #expect(decodeError(patched(f, at: Self.scalesAt, le(Float.nan.bitPattern))) == .nonFiniteFloat(field: "modelPush.model.scales[0]"))
        #expect(decodeError(patched(f, at: Self.scalesAt, le(Float.greatestFiniteMagnitude.bitPattern)))
                == .nonFiniteFloat(field: "modelPush.model.values[0]"))   // 2 x max overflows
        invalid(patched(f, at: Self.valuesAt, [0x80]), "-128")
        invalid(patched(f, at: Self.valuesAt + 4, [1]), "under scale 0")
        let h = GoldenFrameTests.hex
        let g = Self.f16Frame, f16ValuesAt = 40 + 8 + 19 + 2 + 8
        #expect(decodeError(patched(g, at: f16ValuesAt, h("007c"))) == .nonFiniteFloat(field: "modelReply.model.values[0]"))   // +inf
        #expect(decodeError(patched(g, at: f16ValuesAt + 2, h("01fe"))) == .nonFiniteFloat(field: "modelReply.model.values[1]")) // NaN
        // Truncation anywhere, and a row count whose least size is not there, before anything is allocated.
        for n in [f.count - 5, Self.valuesAt, Self.gapsAt + 1] { #expect(decodeError(withRecomputedChecksum(Array(f[..<n]) + [0, 0, 0, 0])) != nil) }
        if case .truncated? = decodeError(patched(f, at: Self.precisionAt - 4, le(UInt32(200_000)))) {} else {
            Issue.record("a huge row count must be truncated before allocation")
        }
    }

    @Test func aVarintLongerThanFiveBytesIsRejected() throws {
        var r = ByteReader([0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
        #expect(throws: DecodeError.self) { try r.readVarUInt32(field: "x") }
        var big = ByteReader([0xFF, 0xFF, 0xFF, 0xFF, 0x1F])   // 2^35 - 1
        #expect(throws: DecodeError.self) { try big.readVarUInt32(field: "x") }
        for v: UInt32 in [0, 1, 127, 128, 16_383, 16_384, .max] {
            var w = ByteWriter()
            w.writeVarUInt32(v)
            var rr = ByteReader(w.bytes)
            #expect(try rr.readVarUInt32(field: "x") == v && rr.readableBytes == 0)
            #expect(w.bytes.count == WireCodec.varintBytes([v]))
        }
    }

    @Test func theEncoderRefusesValuesThePrecisionCannotCarry() {
        var m = Self.i8Model
        m.weights[0] = 2   // weights may change: they travel at 32 bits
        var e = Self.i8
        e.message = .modelPush(seq: 1, model: m, wantsReply: false)
        #expect(encodeError(e) == nil)
        // A payload whose values are changed in place drops to f32 (the changed values need not fit 8 bits).
        m.values[0] = 0.3
        #expect(m.precision == .f32 && m.scales.isEmpty)
        // Built with a broken promise: refused, naming the value.
        let bad = ModelPayload(itemCount: 300, dimension: 2, round: 3, items: [1, 4, 200], weights: [1, 0.5, 2],
                               values: [1, -2, 31.75, -31.7, 0, 0], precision: .i8, scales: [0.5, 0.25, 0])
        e.message = .modelReply(seq: 1, model: bad)
        guard case .invalid(let text)? = encodeError(e) else { Issue.record("expected .invalid"); return }
        #expect(text.contains("values[3]"))
        let badHalf = ModelPayload(itemCount: 10, dimension: 1, round: 0, items: [2], weights: [1], values: [0.1], precision: .f16, scales: [])
        e.message = .modelReply(seq: 1, model: badHalf)
        #expect(encodeError(e) != nil)
        let fewScales = ModelPayload(itemCount: 10, dimension: 1, round: 0, items: [2, 3], weights: [1, 1], values: [0, 0], precision: .i8, scales: [0])
        e.message = .modelReply(seq: 1, model: fewScales)
        #expect(encodeError(e) != nil)
    }

    /// ML-100K's table at 8 bits is under a third of its f32 frame, and the size function is exact.
    @Test func aFullTableAtEightBitsIsAThirdOfItsPlainSize() throws {
        var rng = SplitMix64(seed: 7)
        let rows = 1_682, dim = 33
        let plain = ModelPayload(itemCount: UInt32(rows), dimension: UInt16(dim), round: 1, items: (0..<UInt32(rows)).map { $0 },
                                 weights: (0..<rows).map { _ in rng.nextUnitFloat() }, values: (0..<rows * dim).map { _ in rng.nextUnitFloat() - 0.5 })
        for (precision, most) in [(RowPrecision.i8, 0.33), (.f16, 0.55)] {
            var q = RowQuantizer(precision: precision)
            let m = q.quantize(plain)
            let e = Envelope(swarmID: 1, sender: PeerID(2), sequence: 3, message: .modelPush(seq: 4, model: m, wantsReply: true))
            let bytes = try WireCodec.encode(e)
            let full = try WireCodec.encode(Envelope(swarmID: 1, sender: PeerID(2), sequence: 3, message: .modelPush(seq: 4, model: plain, wantsReply: true)))
            #expect(Double(bytes.count) < most * Double(full.count), "\(precision): \(bytes.count) of \(full.count)")
            #expect(WireCodec.modelFrameBytes(e.message, sealed: false) == bytes.count)
            #expect(try WireCodec.decode(bytes) == e)
        }
        #expect(WireCodec.maxModelFrameBytes(rows: rows, dimension: dim, sealed: false)
                == (try WireCodec.encode(Envelope(swarmID: 1, sender: PeerID(2), sequence: 3, message: .modelPush(seq: 4, model: plain, wantsReply: true)))).count)
    }
}
