import RecommenderModel
import GossipProtocol
import Testing
@testable import WireFormat

/// Hand-written frames from the layout in README.wire.md (checksums computed independently, with the reference
/// xxHash library through python's `xxhash` package: `xxhash.xxh32(frame[:-4], seed=0)`). A change of layout,
/// byte order, type numbering or checksum breaks these.
@Suite struct GoldenFrameTests {
    static let nackFrame: [UInt8] = [
        0x47, 0x52, 0x45, 0x43,                          // magic "GREC"
        0x02,                                            // version 2
        0x06,                                            // type nack
        0x00, 0x00,                                      // flags: none
        0xD4, 0xC3, 0xB2, 0xA1,                          // swarm 0xA1B2C3D4
        0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,  // sender 0x1122334455667788
        0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 5
        0x10, 0x00, 0x00, 0x00,                          // payload length 16
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,  // seq 0x0102030405060708
        0x2A, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // target 42
        0x63, 0x8D, 0x99, 0x4E,                          // XXH32 of the 48 bytes above
    ]
    /// The same nack as wire version 1 wrote it (version byte 1, CRC-32C trailer), as it was pinned before.
    static let nackFrameVersion1: [UInt8] = [0x47, 0x52, 0x45, 0x43, 0x01] + Array(nackFrame[5..<48]) + [0x05, 0x90, 0x7E, 0x21]
    static let nack = Envelope(swarmID: 0xA1B2_C3D4, sender: PeerID(0x1122_3344_5566_7788), sequence: 5,
                               message: .nack(seq: 0x0102_0304_0506_0708, target: PeerID(42)))

    static let pingFrame: [UInt8] = [
        0x47, 0x52, 0x45, 0x43, 0x02,
        0x03,                                            // type ping
        0x01, 0x00,                                      // flags: auth tag present
        0x07, 0x00, 0x00, 0x00,                          // swarm 7
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sender 1
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // sequence 2
        0x22, 0x00, 0x00, 0x00,                          // payload length 34
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // seq 3
        0x01, 0x00,                                      // 1 update
        0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //   peer 9
        0x04, 0x7F, 0x00, 0x00, 0x01,                    //   IPv4 127.0.0.1
        0x58, 0x1B,                                      //   port 7000
        0x01,                                            //   suspect
        0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  //   incarnation 4
        0x02, 0x00, 0xAA, 0xBB,                          // auth tag: length 2, bytes AA BB
        0x58, 0x19, 0x42, 0xE4,                          // XXH32 of everything above
    ]
    static let ping = Envelope(
        swarmID: 7, sender: PeerID(1), sequence: 2,
        message: .ping(seq: 3, updates: [MemberUpdate(peer: PeerID(9), address: .ipv4(127, 0, 0, 1, port: 7000),
                                                      status: .suspect(incarnation: 4))]),
        authTag: [0xAA, 0xBB])

    static let modelFrame: [UInt8] = [
        0x47, 0x52, 0x45, 0x43, 0x02,
        0x10,                                            // type modelPush
        0x00, 0x00,
        0x07, 0x00, 0x00, 0x00,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x3B, 0x00, 0x00, 0x00,                          // payload length 59
        0x4D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // seq 77
        0x01,                                            // wantsReply
        0x0A, 0x00, 0x00, 0x00,                          // itemCount 10
        0x02, 0x00,                                      // dimension 2
        0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,  // round 3
        0x02, 0x00, 0x00, 0x00,                          // 2 rows
        0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00,  // items 1, 4
        0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0x3F,  // weights 1.0, 0.5
        0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0,  // row 1: 1.0, -2.0
        0x00, 0x00, 0x80, 0x3E, 0x00, 0x00, 0x00, 0x00,  // row 4: 0.25, 0.0
        0x06, 0xB6, 0x4A, 0xEA,                          // XXH32
    ]
    static let model = Envelope(
        swarmID: 7, sender: PeerID(1), sequence: 2,
        message: .modelPush(seq: 77, model: ModelPayload(itemCount: 10, dimension: 2, round: 3, items: [1, 4],
                                                         weights: [1, 0.5], values: [1, -2, 0.25, 0]),
                            wantsReply: true))

    @Test(arguments: [(nack, nackFrame), (ping, pingFrame), (model, modelFrame)])
    func encodesToTheHandWrittenBytesAndBack(_ envelope: Envelope, _ frame: [UInt8]) throws {
        #expect(try WireCodec.encode(envelope) == frame)
        #expect(try WireCodec.decode(frame) == envelope)
    }

    @Test func headerExposesTheAuthenticatedRange() throws {
        let h = try FrameHeader.parse(Self.pingFrame, limits: .default)
        #expect(h.type == .ping && h.flags == [.authTag] && h.swarmID == 7 && h.sender == PeerID(1))
        #expect(h.sequence == 2 && h.payloadLength == 34)
        #expect(h.authenticatedByteCount == 66)  // header + payload; tag and checksum follow
        #expect(h.frameByteCount(authTagLength: 2) == Self.pingFrame.count)
    }
}
