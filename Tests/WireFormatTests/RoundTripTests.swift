import GossipProtocol
import RecommenderModel
import SwarmCrypto
import Testing
@testable import WireFormat
import WireFuzz

@Suite struct RoundTripTests {
    @Test(arguments: MessageType.allCases)
    func everyMessageTypeRoundTripsBitExactly(_ type: MessageType) throws {
        var rng = SplitMix64(seed: 0x5EED_0000 + UInt64(type.rawValue))
        for _ in 0..<150 {
            let e = rng.envelope(.full, type: type)
            let bytes = try WireCodec.encode(e)
            let back = try WireCodec.decode(bytes, expectedSwarmID: e.swarmID)
            #expect(back == e)
            // Floats compare by value in ==; the wire must also keep their exact bits (-0.0, subnormals).
            if case .modelPush(_, let a, _) = e.message, case .modelPush(_, let b, _) = back.message {
                #expect(a.values.map(\.bitPattern) == b.values.map(\.bitPattern))
                #expect(a.weights.map(\.bitPattern) == b.weights.map(\.bitPattern))
            }
            #expect(try WireCodec.encode(back) == bytes)
            #expect(bytes.count <= WireLimits.default.maxFrameBytes(for: type.channel))
        }
    }

    @Test func messageTypesSplitByChannel() {
        for t in MessageType.allCases {
            let isModel = [.modelPush, .modelReply, .modelDecline, .modelPushCompact, .modelReplyCompact].contains(t)
            #expect(t.channel == (isModel ? .stream : .datagram))
        }
    }

    /// MovieLens-100K-sized table: 1,682 items x 32 floats (~229 KB frame). Not timed.
    @Test func aFullSizeModelRoundTrips() throws {
        var rng = SplitMix64(seed: 1_682)
        let rows = 1_682, dim = 32
        let model = ModelPayload(itemCount: UInt32(rows), dimension: UInt16(dim), round: 12,
                                 items: (0..<UInt32(rows)).map { $0 },
                                 weights: (0..<rows).map { _ in rng.nextUnitFloat() * 10 },
                                 values: (0..<rows * dim).map { _ in rng.nextUnitFloat() * 2 - 1 })
        let e = Envelope(swarmID: 3, sender: PeerID(4), sequence: 5,
                         message: .modelPush(seq: 6, model: model, wantsReply: true), epoch: 3)
        let bytes = try WireCodec.encode(e)
        #expect(bytes.count == 40 + (8 + 1 + 4 + 2 + 8 + 4) + rows * 8 + rows * dim * 4 + 4)
        let decoded = try WireCodec.decode(bytes)
        #expect(decoded == e)
        // The decoder's check is recorded, so the receiver's `ItemTable.accepts` does not scan the copy again.
        guard case .modelPush(_, let received, _) = decoded.message else { Issue.record("not a push"); return }
        #expect(received.elementsVerified && !model.elementsVerified)
        var acc = FrameAccumulator()
        acc.append(Array(bytes[..<100_000]))
        #expect(try acc.nextFrame() == nil)
        acc.append(Array(bytes[100_000...]))
        #expect(try acc.nextFrame() == bytes)
    }

    /// A weight of -0.0 is not negative: the vectorized check flags its sign bit, and the exact check lets it
    /// through, bit pattern intact.
    @Test func negativeZeroWeightsAreAccepted() throws {
        let m = ModelPayload(itemCount: 5, dimension: 1, round: 0, items: [0, 3], weights: [-0.0, 2], values: [-0.0, 1])
        let e = Envelope(swarmID: 1, sender: PeerID(1), sequence: 1, message: .modelReply(seq: 1, model: m))
        guard case .modelReply(_, let back) = try WireCodec.decode(try WireCodec.encode(e)).message else {
            Issue.record("not a modelReply"); return
        }
        #expect(back.weights.map(\.bitPattern) == m.weights.map(\.bitPattern))
    }

    /// The default limits keep the largest possible membership frame within one datagram.
    @Test func worstCaseMembershipFramesFitTheDatagramLimit() throws {
        let limits = WireLimits.default
        let v6 = PeerAddress(ip: [UInt8](repeating: 0xFE, count: 16), port: 1)
        let updates = (0..<limits.maxUpdatesPerMessage).map {
            MemberUpdate(peer: PeerID(UInt64($0)), address: v6, status: .dead(incarnation: .max))
        }
        let entries = (0..<limits.maxViewEntries).map { ViewEntry(peer: PeerID(UInt64($0)), address: v6, age: 9) }
        var security = FrameSecurity(keyring: try Keyring(primary: SwarmKey(bytes: [UInt8](repeating: 7, count: 32))!),
                                     swarmID: 1, epoch: 1)
        let messages: [Message] = [
            .joinReply(members: updates), .ping(seq: 1, updates: updates),
            .pingReq(seq: 1, target: PeerID(2), targetAddress: v6, updates: updates),
            .ack(seq: 1, target: PeerID(2), updates: updates),
            .shuffleRequest(seq: 1, entries: entries), .shuffleReply(seq: 1, entries: entries),
        ]
        for m in messages {
            // Encoding throws if the frame would exceed maxDatagramFrameBytes.
            let bytes = try WireCodec.encode(Envelope(swarmID: 1, sender: PeerID(1), sequence: 1, message: m),
                                             security: &security)
            #expect(bytes.count <= limits.maxDatagramFrameBytes)
        }
    }

    @Test func decodeFromRawMemoryMatchesDecodeFromArray() throws {
        var rng = SplitMix64(seed: 99)
        let e = rng.envelope(.small, type: .ping)
        let bytes = try WireCodec.encode(e)
        let back = try bytes.withUnsafeBytes { raw throws(DecodeError) in try WireCodec.decode(raw) }
        #expect(back == e)
    }
}
