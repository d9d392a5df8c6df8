import GossipProtocol
import RecommenderModel
import SwarmCrypto
import Testing
@testable import WireFormat

/// The client-graph `interests` message (type 0x09, UDP): payload u32 epoch, u32 catalogueSize, u16 count,
/// u8 wantsReply, count x u32 items. Offsets below are into an unsealed frame: epoch at 40,
/// catalogue at 44, wantsReply at 48, count at 49, items from 51.
@Suite struct InterestsWireTests {
    func frame(_ items: [UInt32], catalogue: UInt32 = 100, epoch: UInt32 = 7, sealed: Bool = false) throws -> [UInt8] {
        let e = Envelope(swarmID: 3, sender: PeerID(9), sequence: 1,
                         message: .interests(epoch: epoch, catalogueSize: catalogue, items: items, wantsReply: true))
        guard sealed else { return try WireCodec.encode(e) }
        var security = FrameSecurity(keyring: try Keyring(primary: SwarmKey(bytes: [UInt8](repeating: 1, count: 32))!),
                                     swarmID: 3, epoch: 1)
        return try WireCodec.encode(e, security: &security)
    }

    @Test func travelsOnTheDatagramChannel() {
        #expect(MessageType.interests.channel == .datagram)
        #expect(Message.interests(epoch: 0, catalogueSize: 1, items: [], wantsReply: false).wireType == .interests)
    }

    @Test func theLargestDisclosureFitsOneDatagramSealed() throws {
        let items = (0..<UInt32(Message.maxDisclosedItems)).map { $0 * 3 }
        let bytes = try frame(items, catalogue: 5_000, sealed: true)
        #expect(bytes.count <= WireLimits.default.maxDatagramFrameBytes)
        let plain = try frame(items, catalogue: 5_000)
        let back = try WireCodec.decode(plain)
        #expect(back.message == .interests(epoch: 7, catalogueSize: 5_000, items: items, wantsReply: true))
        #expect(try WireCodec.encode(back) == plain)
    }

    @Test func layoutIsEpochCatalogueCountItems() throws {
        let bytes = try frame([2, 5], catalogue: 10, epoch: 0x0102_0304)
        #expect(bytes[5] == 0x09)
        #expect(Array(bytes[40..<59]) == le(UInt32(0x0102_0304)) + le(UInt32(10)) + [1] + le(UInt16(2))
                + le(UInt32(2)) + le(UInt32(5)))
        #expect(bytes.count == 40 + 19 + 4)
    }

    @Test func theEncoderRefusesWhatTheDecoderWouldReject() {
        func refusal(_ items: [UInt32], catalogue: UInt32 = 100) -> DecodeError? {
            encodeError(Envelope(swarmID: 0, sender: PeerID(1), sequence: 0,
                                 message: .interests(epoch: 0, catalogueSize: catalogue, items: items, wantsReply: false)))
        }
        let tooMany = (0...UInt32(Message.maxDisclosedItems)).map { $0 }
        #expect(refusal(tooMany, catalogue: 1_000)
                == .lengthExceedsLimit(field: "interests.items", length: Message.maxDisclosedItems + 1,
                                       limit: Message.maxDisclosedItems))
        #expect(refusal([3, 2]) == .invalid("interests.items[1] = 2 does not increase on items[0] = 3"))
        #expect(refusal([4, 4])?.reason == "invalid")
        #expect(refusal([1, 100]) == .invalid("interests.items[1] = 100 is not below catalogueSize 100"))
        #expect(refusal([0], catalogue: 0)?.reason == "invalid")
        #expect(refusal([], catalogue: 0) == nil)
        #expect(refusal([0, 99]) == nil)
    }

    @Test func theDecoderRejectsUnsortedOutOfRangeAndOversizedLists() throws {
        let good = try frame([10, 20, 30])
        #expect(decodeError(good) == nil)
        // wantsReply must be 0 or 1
        #expect(decodeError(patched(good, at: 48, [2])) == .invalid("interests.wantsReply = 2 (must be 0 or 1)"))
        // unsorted: items[1] := 5
        #expect(decodeError(patched(good, at: 55, le(UInt32(5))))
                == .invalid("interests.items[1] = 5 does not increase on items[0] = 10"))
        // duplicate: items[2] := 20
        #expect(decodeError(patched(good, at: 59, le(UInt32(20))))?.reason == "invalid")
        // out of range: catalogue := 25
        #expect(decodeError(patched(good, at: 44, le(UInt32(25))))
                == .invalid("interests.items[2] = 30 is not below catalogueSize 25"))
        // count over the limit, rejected before reading items
        #expect(decodeError(patched(good, at: 49, le(UInt16(Message.maxDisclosedItems + 1))))
                == .lengthExceedsLimit(field: "interests.items", length: Message.maxDisclosedItems + 1,
                                       limit: Message.maxDisclosedItems))
        // more items announced than bytes present
        #expect(decodeError(patched(good, at: 49, le(UInt16(4))))?.reason == "truncated")
        // fewer items announced than present
        #expect(decodeError(patched(good, at: 49, le(UInt16(2))))?.reason == "trailing_bytes")
    }
}

/// What a client-graph peer actually puts on the wire: its disclosure and nothing else.
@Suite struct ClientGraphOnTheWireTests {
    @Test func theEncodedDisclosureCarriesOnlyItemIDsWithDecoysInterleaved() throws {
        // A peer with 40 real items, rated 1...5 (ratings must not travel), decoy ratio 1.
        var rng = SplitMix64(seed: 21)
        var realSet = Set<UInt32>()
        while realSet.count < 40 { realSet.insert(UInt32(rng.next(below: 1_682))) }
        let train = realSet.sorted().enumerated().map {
            Interaction(user: 3, item: Int32($0.element), rating: Float(1 + $0.offset % 5), timestamp: Int64($0.offset))
        }
        let shard = UserShard(user: 3, rawUser: "3", itemCount: 1_682, train: train, test: nil, negatives: [])
        var s = ClientGraphSettings()
        s.disclosure = DisclosureSettings(decoyRatio: 1)
        var g = ClientGraphInstance(id: PeerID(3), shard: shard, settings: s, seed: 5)
        let out = g.onPeerSeen(PeerID(4), address: .ipv4(127, 0, 0, 1, port: 7004), now: .zero)
        guard case .send(let message, _, _) = out.first else { Issue.record("no disclosure sent: \(out)"); return }
        let bytes = try WireCodec.encode(Envelope(swarmID: 1, sender: PeerID(3), sequence: 1, message: message))

        // The payload is exactly epoch, catalogue, flag, count and the item ids: no room for anything else.
        let count = Int(bytes[49]) | Int(bytes[50]) << 8
        #expect(bytes.count == 40 + 11 + 4 * count + 4)
        let items = (0..<count).map { k in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[51 + 4 * k + $1]) << (8 * $1) }
        }
        #expect(items == g.disclosure.items)
        let decoys = items.filter { !realSet.contains($0) }
        #expect(decoys.count == 40, "the disclosure holds items the peer never interacted with")
        #expect(items.filter { realSet.contains($0) }.count == 40)
        // Sorted ids interleave real and decoy items: position says nothing about which is which.
        let kinds = items.map { realSet.contains($0) }
        let switches = zip(kinds, kinds.dropFirst()).filter { $0 != $1 }.count
        #expect(switches > 10, "real and decoy items are not interleaved (\(switches) switches)")
    }
}
