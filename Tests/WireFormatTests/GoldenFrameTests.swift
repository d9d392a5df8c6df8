import RecommenderModel
import GossipProtocol
import SwarmCrypto
import Testing
@testable import WireFormat

/// Hand-written frames of wire version 3 (README "Wire protocol"), computed independently of this code base: the
/// XXH32 trailers with a separate Python implementation of xxHash32 (checked against its empty-input vector), the
/// sealed frame with Python's `cryptography` package (HMAC-SHA256 for the key id and HKDF, its ChaCha20Poly1305
/// for the tag and ciphertext). A change of layout, byte order, type numbering, checksum, key schedule or nonce
/// layout breaks these.
@Suite struct GoldenFrameTests {
    static let nackFrame: [UInt8] = [
        0x47, 0x52, 0x45, 0x43,                          // magic "GREC"
        0x03,                                            // version 3
        0x06,                                            // type nack
        0x00, 0x00,                                      // flags: none (unsealed)
        0xD4, 0xC3, 0xB2, 0xA1,                          // swarm 0xA1B2C3D4
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // sender 0x1122334455667788
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 5
        0x10, 0x00, 0x00, 0x00,                          // payload length 16
        0x00, 0x00, 0x00, 0x00,                          // key id: none
        0x09, 0x00, 0x00, 0x00,                          // epoch 9
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // seq 0x0102030405060708
        0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target 42
        0xF8, 0x03, 0xBE, 0x8C,                          // XXH32 of the 56 bytes above
    ]
    static let nack = Envelope(swarmID: 0xA1B2_C3D4, sender: PeerID(0x1122_3344_5566_7788), sequence: 5,
                               message: .nack(seq: 0x0102_0304_0506_0708, target: PeerID(42)), epoch: 9)

    /// The same nack sealed under the key 00 01 02 ... 1f (key id 4b959e54), sender epoch 42, sequence 5.
    static let sealedNackFrame: [UInt8] = [
        0x47, 0x52, 0x45, 0x43, 0x03, 0x06,
        0x01, 0x00,                                      // flags: sealed
        0xD4, 0xC3, 0xB2, 0xA1,
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 5 (nonce bytes 4..<12)
        0x10, 0x00, 0x00, 0x00,                          // payload length 16
        0x54, 0x9E, 0x95, 0x4B,                          // key id 0x4b959e54
        0x2A, 0x00, 0x00, 0x00,                          // epoch 42 (nonce bytes 0..<4)
        0x8A, 0x60, 0x7D, 0xA3, 0x4B, 0xFF, 0x89, 0x69,  // the payload, encrypted
        0x8B, 0x28, 0x8E, 0x8A, 0x66, 0x90, 0x56, 0xFC,
        0x94, 0x5A, 0x44, 0x16, 0x4B, 0xD0, 0xBC, 0xB7,  // the Poly1305 tag over header (AAD) and ciphertext
        0x7F, 0xEF, 0x31, 0xAF, 0xC2, 0xA7, 0xDF, 0x5C,
    ]
    static let goldenKey = SwarmKey(bytes: (0..<32).map { UInt8($0) })!

    static let pingFrame = hex("47524543030300000700000001000000000000000200000000000000220000000000000000000000"
        + "030000000000000001000900000000000000047f000001581b0104000000000000009e712686")
    static let ping = Envelope(
        swarmID: 7, sender: PeerID(1), sequence: 2,
        message: .ping(seq: 3, updates: [MemberUpdate(peer: PeerID(9), address: .ipv4(127, 0, 0, 1, port: 7000),
                                                      status: .suspect(incarnation: 4))]))

    static let modelFrame = hex("475245430310000007000000010000000000000002000000000000003b00000000000000000000004d"
        + "00000000000000010a000000020003000000000000000200000001000000040000000000803f0000003f0000803f000000c000"
        + "00803e00000000472a6a29")
    static let model = Envelope(
        swarmID: 7, sender: PeerID(1), sequence: 2,
        message: .modelPush(seq: 77, model: ModelPayload(itemCount: 10, dimension: 2, round: 3, items: [1, 4],
                                                         weights: [1, 0.5], values: [1, -2, 0.25, 0]),
                            wantsReply: true))

    static func hex(_ s: String) -> [UInt8] {
        let d = Array(s.utf8)
        return stride(from: 0, to: d.count, by: 2).map { UInt8(String(decoding: d[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    @Test(arguments: [(nack, nackFrame), (ping, pingFrame), (model, modelFrame)])
    func encodesToTheHandWrittenBytesAndBack(_ envelope: Envelope, _ frame: [UInt8]) throws {
        #expect(try WireCodec.encode(envelope) == frame)
        #expect(try WireCodec.decode(frame) == envelope)
    }

    @Test func sealsToTheIndependentlyComputedBytesAndOpensBack() throws {
        #expect(Self.goldenKey.id.rawValue == 0x4B95_9E54)
        var sender = FrameSecurity(keyring: try Keyring(primary: Self.goldenKey), swarmID: 0xA1B2_C3D4, epoch: 42)
        #expect(try WireCodec.encode(Self.nack, security: &sender) == Self.sealedNackFrame)
        var receiver = FrameSecurity(keyring: try Keyring(primary: Self.goldenKey), swarmID: 0xA1B2_C3D4, epoch: 1)
        let opened = try WireCodec.decode(Self.sealedNackFrame, expectedSwarmID: 0xA1B2_C3D4, security: &receiver)
        var expected = Self.nack
        expected.epoch = 42
        expected.keyID = 0x4B95_9E54
        #expect(opened == expected)
    }

    @Test func earlierVersionsAreRejectedByNumber() {
        var v2 = Self.nackFrame
        v2[4] = 2
        #expect(throws: DecodeError.unsupportedVersion(2)) { try WireCodec.decode(v2) }
    }

    @Test func headerExposesKeyIDEpochAndTheTrailer() throws {
        let h = try FrameHeader.parse(Self.sealedNackFrame, limits: .default)
        #expect(h.type == .nack && h.flags == [.sealed] && h.swarmID == 0xA1B2_C3D4)
        #expect(h.sequence == 5 && h.payloadLength == 16 && h.keyID == 0x4B95_9E54 && h.epoch == 42)
        #expect(h.authenticatedByteCount == 56)  // header + payload; the tag follows
        #expect(h.frameByteCount == Self.sealedNackFrame.count)
        #expect(try FrameHeader.parse(Self.nackFrame, limits: .default).frameByteCount == Self.nackFrame.count)
    }
}
