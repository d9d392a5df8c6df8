import GossipProtocol
import RecommenderModel
import Testing
@testable import WireFormat
import WireFuzz

/// Overwrites bytes of a frame at `offset`, then (by default) recomputes the checksum so the decoder gets past
/// it and reaches the field under test.
func patched(_ frame: [UInt8], at offset: Int, _ bytes: [UInt8], fixChecksum: Bool = true) -> [UInt8] {
    var f = frame
    f.replaceSubrange(offset..<offset + bytes.count, with: bytes)
    return fixChecksum ? withRecomputedChecksum(f) : f
}

func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

func decodeError(_ bytes: [UInt8], limits: WireLimits = .default, swarm: UInt32? = nil) -> DecodeError? {
    do {
        _ = try WireCodec.decode(bytes, limits: limits, expectedSwarmID: swarm)
        return nil
    } catch {
        return error
    }
}

func encodeError(_ e: Envelope, limits: WireLimits = .default) -> DecodeError? {
    do {
        _ = try WireCodec.encode(e, limits: limits)
        return nil
    } catch {
        return error.rejection
    }
}

@Suite struct RejectionTests {
    let ping = GoldenFrameTests.pingFrame
    let model = GoldenFrameTests.modelFrame
    let nack = GoldenFrameTests.nackFrame

    @Test func everyProperPrefixIsTruncated() throws {
        var rng = SplitMix64(seed: 1)
        var frames = [ping, model, nack]
        for t in MessageType.allCases { frames.append(try WireCodec.encode(rng.envelope(.small, type: t))) }
        for f in frames {
            for n in 0..<f.count {
                let err = decodeError(Array(f[..<n]))
                guard case .truncated(let needed, let available)? = err else {
                    Issue.record("prefix \(n) of a \(f.count)-byte frame gave \(String(describing: err))")
                    continue
                }
                #expect(needed > available)
            }
        }
    }

    @Test func bytesAfterTheFrameAreRejected() {
        #expect(decodeError(nack + [0]) == .trailingBytes(count: 1))
        // A payload longer than its message needs: grow the length field and insert a byte.
        var f = nack
        f.insert(0xEE, at: 56)
        f = patched(f, at: 28, le(UInt32(17)))
        #expect(decodeError(f) == .trailingBytes(count: 1))
    }

    @Test func headerFieldsAreChecked() {
        #expect(decodeError(patched(nack, at: 0, [0x47, 0x52, 0x45, 0x44])) == .badMagic)
        #expect(decodeError(patched(nack, at: 4, [4])) == .unsupportedVersion(4))
        #expect(decodeError(patched(nack, at: 4, [0])) == .unsupportedVersion(0))
        // Frames of wire versions 1 and 2 (32-byte header) are refused as such.
        #expect(decodeError(patched(nack, at: 4, [1])) == .unsupportedVersion(1))
        #expect(decodeError(patched(nack, at: 4, [2])) == .unsupportedVersion(2))
        // A key id on an unsealed frame: one encoding per frame.
        #expect(decodeError(patched(nack, at: 32, le(UInt32(5))))?.reason == "invalid")
        for t: UInt8 in [0x00, 0x0A, 0x0F, 0x15, 0xFF] {
            #expect(decodeError(patched(nack, at: 5, [t])) == .unknownMessageType(t))
        }
        #expect(decodeError(patched(nack, at: 6, le(UInt16(0x8003)))) == .unknownFlags(0x8002))
        #expect(decodeError(nack, swarm: 0xA1B2_C3D5) == .wrongSwarm(expected: 0xA1B2_C3D5, found: 0xA1B2_C3D4))
        #expect(decodeError(nack, swarm: 0xA1B2_C3D4) == nil)
    }

    @Test func corruptionIsCaughtByTheChecksum() {
        // Header fields checked before the checksum (magic, version, type, flags, length) report their own reason.
        for offset in [9, 14, 22, 37, 48, 59, 64, 68, 73] {
            let f = patched(ping, at: offset, [ping[offset] ^ 0x10], fixChecksum: false)
            #expect(decodeError(f)?.reason == "bad_checksum", "flip at \(offset)")
        }
        let badTrailer = patched(ping, at: 74, [ping[74] ^ 1], fixChecksum: false)
        guard case .badChecksum(let stored, let computed)? = decodeError(badTrailer) else {
            Issue.record("a flipped checksum byte was not reported as bad_checksum"); return
        }
        #expect(stored != computed)
    }

    @Test func oversizedLengthsAreRejectedBeforeReading() {
        // 4 GiB payload claimed in a 60-byte frame: rejected on the header alone.
        let huge = patched(nack, at: 28, le(UInt32.max))
        #expect(decodeError(huge) == .lengthExceedsLimit(field: "frame_length", length: 40 + Int(UInt32.max) + 4,
                                                        limit: 1_400))
        // A membership frame bigger than a datagram, even if a model frame could be that big.
        let big = patched(nack, at: 28, le(UInt32(1_400)))
        #expect(decodeError(big)?.reason == "length_exceeds_limit")
        // 33 updates announced (limit 32).
        #expect(decodeError(patched(ping, at: 48, le(UInt16(33))))
                == .lengthExceedsLimit(field: "ping.updates", length: 33, limit: 32))
        // 2 updates announced where only one fits: truncated before reserving room.
        #expect(decodeError(patched(ping, at: 48, le(UInt16(2))))?.reason == "truncated")
        // Model: rows and dimension beyond the limits, and more rows than bytes.
        #expect(decodeError(patched(model, at: 63, le(UInt32.max)))
                == .lengthExceedsLimit(field: "modelPush.model.rows", length: Int(UInt32.max), limit: 1 << 18))
        #expect(decodeError(patched(model, at: 63, le(UInt32(1_000))))?.reason == "truncated")
        #expect(decodeError(patched(model, at: 53, le(UInt16(2_000))))
                == .lengthExceedsLimit(field: "modelPush.model.dimension", length: 2_000, limit: 1_024))
        let tight = WireLimits(maxModelRows: 1)
        #expect(decodeError(model, limits: tight)
                == .lengthExceedsLimit(field: "modelPush.model.rows", length: 2, limit: 1))
    }

    @Test func nonFiniteFloatsAreRejected() {
        let nan = le(Float.nan.bitPattern), inf = le(Float.infinity.bitPattern), ninf = le((-Float.infinity).bitPattern)
        #expect(decodeError(patched(model, at: 91, nan)) == .nonFiniteFloat(field: "modelPush.model.values[2]"))
        #expect(decodeError(patched(model, at: 83, ninf)) == .nonFiniteFloat(field: "modelPush.model.values[0]"))
        #expect(decodeError(patched(model, at: 79, inf)) == .nonFiniteFloat(field: "modelPush.model.weights[1]"))
        // Signalling NaN with a payload is still NaN.
        #expect(decodeError(patched(model, at: 95, le(UInt32(0xFF80_0001))))?.reason == "non_finite_float")
    }

    @Test func inconsistentModelPayloadsAreRejectedOnTheWire() {
        // items [4, 1]: not increasing.
        #expect(decodeError(patched(model, at: 67, le(UInt32(4)) + le(UInt32(1))))?.reason == "invalid")
        // items [4, 4]: duplicate.
        #expect(decodeError(patched(model, at: 67, le(UInt32(4)) + le(UInt32(4))))?.reason == "invalid")
        // item 10 with itemCount 10.
        #expect(decodeError(patched(model, at: 71, le(UInt32(10))))?.reason == "invalid")
        // negative weight.
        #expect(decodeError(patched(model, at: 75, le(Float(-1).bitPattern)))?.reason == "invalid")
        // dimension 0.
        #expect(decodeError(patched(model, at: 53, le(UInt16(0))))?.reason == "invalid")
        // wantsReply must be 0 or 1.
        #expect(decodeError(patched(model, at: 48, [2]))?.reason == "invalid")
    }

    @Test func badEnumTagsAndAddressesAreRejected() {
        #expect(decodeError(patched(ping, at: 65, [3]))?.reason == "invalid")  // status 3
        #expect(decodeError(patched(ping, at: 58, [5]))?.reason == "invalid")  // address length 5
        #expect(decodeError(patched(ping, at: 58, [0]))?.reason == "invalid")
    }

    @Test func theEncoderRefusesWhatTheDecoderWouldReject() {
        let m = ModelPayload(itemCount: 10, dimension: 2, round: 0, items: [1, 4], weights: [1, 1], values: [0, 0, 0, 0])
        func push(_ p: ModelPayload) -> Envelope {
            Envelope(swarmID: 1, sender: PeerID(1), sequence: 1, message: .modelPush(seq: 1, model: p, wantsReply: false))
        }
        #expect(encodeError(push(m)) == nil)
        var bad = m; bad.values[3] = .nan
        #expect(encodeError(push(bad)) == .nonFiniteFloat(field: "modelPush.model.values[3]"))
        bad = m; bad.weights = [1]
        #expect(encodeError(push(bad))?.reason == "invalid")
        bad = m; bad.values.append(0)
        #expect(encodeError(push(bad))?.reason == "invalid")
        bad = m; bad.items = [4, 1]
        #expect(encodeError(push(bad))?.reason == "invalid")
        bad = m; bad.items = [1, 10]
        #expect(encodeError(push(bad))?.reason == "invalid")
        bad = m; bad.weights[0] = -0.5
        #expect(encodeError(push(bad))?.reason == "invalid")
        bad = m; bad.weights[0] = .infinity
        #expect(encodeError(push(bad)) == .nonFiniteFloat(field: "modelPush.model.weights[0]"))

        // An address of other than 4 or 16 bytes cannot be built any more (PeerAddress stores two integers and its
        // `ip` setter traps), so the encoder has no such address to refuse; the decoder still rejects one.
        let updates = (0..<33).map { MemberUpdate(peer: PeerID(UInt64($0)), address: .ipv4(1, 1, 1, 1, port: 1),
                                                   status: .alive(incarnation: 0)) }
        #expect(encodeError(Envelope(swarmID: 1, sender: PeerID(1), sequence: 1, message: .ping(seq: 1, updates: updates)))
                == .lengthExceedsLimit(field: "ping.updates", length: 33, limit: 32))
        // A frame over the datagram limit, though every list is within its own limit.
        let small = WireLimits(maxDatagramFrameBytes: 100)
        #expect(encodeError(Envelope(swarmID: 1, sender: PeerID(1), sequence: 1,
                                     message: .ping(seq: 1, updates: Array(updates[..<3]))), limits: small)?.reason
                == "length_exceeds_limit")
    }

    @Test func reasonsAreDistinctAndListed() {
        let samples: [DecodeError] = [
            .truncated(needed: 1, available: 0), .badMagic, .unsupportedVersion(9), .unknownMessageType(9),
            .unknownFlags(2), .badChecksum(stored: 1, computed: 2), .wrongSwarm(expected: 1, found: 2),
            .lengthExceedsLimit(field: "x", length: 2, limit: 1), .nonFiniteFloat(field: "x"),
            .trailingBytes(count: 1), .unknownKey(1), .badTag, .replayed(epoch: 1, sequence: 1),
            .staleEpoch(epoch: 1, current: 2), .unsealed, .invalid("x"),
        ]
        #expect(samples.map(\.reason) == DecodeError.allReasons)
        #expect(Set(samples.map(\.reason)).count == samples.count)
        for s in samples { #expect(!s.description.isEmpty) }
    }
}
