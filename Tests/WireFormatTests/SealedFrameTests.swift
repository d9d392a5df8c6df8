import GossipProtocol
import RecommenderModel
import SwarmCrypto
import Testing
@testable import WireFormat
import WireFuzz

/// Wire version 3's sealed frames: what a keyed receiver accepts and what it refuses, and why.
@Suite struct SealedFrameTests {
    static let keyA = SwarmKey(bytes: [UInt8](repeating: 0xA, count: 32))!
    static let keyB = SwarmKey(bytes: [UInt8](repeating: 0xB, count: 32))!
    static let swarm: UInt32 = 7

    static func security(_ keys: [SwarmKey], epoch: UInt32 = 1, maxTrackedSenders: Int = 4_096) -> FrameSecurity {
        FrameSecurity(keyring: try! Keyring(primary: keys[0], accepted: Array(keys.dropFirst())), swarmID: swarm,
                      epoch: epoch, maxTrackedSenders: maxTrackedSenders)
    }

    static func envelope(sender: UInt64 = 1, sequence: UInt64) -> Envelope {
        Envelope(swarmID: swarm, sender: PeerID(sender), sequence: sequence, message: GoldenFrameTests.ping.message)
    }

    static func reason(_ bytes: [UInt8], _ receiver: inout FrameSecurity) -> String? {
        do { _ = try WireCodec.decode(bytes, expectedSwarmID: swarm, security: &receiver); return nil } catch {
            return error.reason
        }
    }

    @Test func everySingleBitFlipIsRejected() throws {
        var sender = Self.security([Self.keyA])
        let frame = try WireCodec.encode(Self.envelope(sequence: 1), security: &sender)
        #expect(frame.count == 40 + 34 + 16)
        var byReason: [String: Int] = [:]
        for bit in 0..<frame.count * 8 {
            var f = frame
            f[bit / 8] ^= 1 << UInt8(bit % 8)
            var receiver = Self.security([Self.keyA])  // fresh: a flip is not rejected merely as a replay
            guard let r = Self.reason(f, &receiver) else {
                Issue.record("a flip of bit \(bit % 8) of byte \(bit / 8) was accepted"); continue
            }
            byReason[r, default: 0] += 1
            if bit / 8 >= 40 { #expect(r == "bad_tag", "payload or tag byte \(bit / 8): \(r)") }
        }
        // Untouched, the frame opens.
        var receiver = Self.security([Self.keyA])
        #expect(Self.reason(frame, &receiver) == nil)
        #expect(byReason["bad_tag", default: 0] > 8 * 50)
    }

    @Test func aReplayedFrameIsRejectedAndAnOldEpochIsStale() throws {
        var sender = Self.security([Self.keyA], epoch: 5)
        var receiver = Self.security([Self.keyA])
        let first = try WireCodec.encode(Self.envelope(sequence: 1), security: &sender)
        let second = try WireCodec.encode(Self.envelope(sequence: 2), security: &sender)
        #expect(Self.reason(second, &receiver) == nil)
        #expect(Self.reason(first, &receiver) == nil)  // reordered, not replayed
        #expect(Self.reason(first, &receiver) == "replayed")
        #expect(Self.reason(second, &receiver) == "replayed")
        // The sender restarts with a later epoch: its old process's frames are stale from then on.
        var restarted = Self.security([Self.keyA], epoch: 6)
        #expect(Self.reason(try WireCodec.encode(Self.envelope(sequence: 1), security: &restarted), &receiver) == nil)
        let third = try WireCodec.encode(Self.envelope(sequence: 3), security: &sender)
        #expect(Self.reason(third, &receiver) == "stale_epoch")
    }

    @Test func aForgedFrameDoesNotMoveTheReplayWindow() throws {
        var sender = Self.security([Self.keyA])
        var receiver = Self.security([Self.keyA])
        var forged = try WireCodec.encode(Self.envelope(sequence: 1_000_000), security: &sender)
        forged[forged.count - 1] ^= 1
        #expect(Self.reason(forged, &receiver) == "bad_tag")
        #expect(receiver.trackedSenderCount == 0)
        #expect(Self.reason(try WireCodec.encode(Self.envelope(sequence: 1), security: &sender), &receiver) == nil)
    }

    @Test func unknownKeysUnsealedFramesAndInsecureReceiversAreRefused() throws {
        var a = Self.security([Self.keyA])
        var b = Self.security([Self.keyB])
        var insecure = FrameSecurity.insecure()
        let underB = try WireCodec.encode(Self.envelope(sequence: 1), security: &b)
        let underA = try WireCodec.encode(Self.envelope(sequence: 1), security: &a)
        let plain = try WireCodec.encode(Self.envelope(sequence: 1), security: &insecure)
        #expect(try FrameHeader.parse(plain, limits: .default).flags.isEmpty)
        var receiver = Self.security([Self.keyA])
        #expect(Self.reason(underB, &receiver) == "unknown_key")
        #expect(Self.reason(plain, &receiver) == "unsealed")
        #expect(Self.reason(underA, &insecure) == "unknown_key")
        #expect(Self.reason(plain, &insecure) == nil)
        // Another key claiming A's id fails the tag.
        var claimed = underB
        claimed.replaceSubrange(32..<36, with: le(Self.keyA.id.rawValue))
        #expect(Self.reason(claimed, &receiver) == "bad_tag")
        // Another swarm's key context: the same key, another swarm id in the header.
        var other = FrameSecurity(keyring: try Keyring(primary: Self.keyA), swarmID: 8, epoch: 1)
        var elsewhere = Self.envelope(sequence: 9)
        elsewhere.swarmID = 8
        var foreign = try WireCodec.encode(elsewhere, security: &other)
        foreign.replaceSubrange(8..<12, with: le(Self.swarm))
        #expect(Self.reason(foreign, &receiver) == "bad_tag")
    }

    @Test func theThreeStepRotationKeepsFramesOpening() throws {
        var p = Self.security([Self.keyA]), q = Self.security([Self.keyA])
        var seq: UInt64 = 0
        func exchange(_ from: inout FrameSecurity, _ to: inout FrameSecurity) throws -> String? {
            seq += 1
            return Self.reason(try WireCodec.encode(Self.envelope(sequence: seq), security: &from), &to)
        }
        // 1. install B on p only: both still seal with A.
        p.replaceKeyring(try Keyring(primary: Self.keyA, accepted: [Self.keyB]))
        #expect(try exchange(&p, &q) == nil)
        #expect(try exchange(&q, &p) == nil)
        // 2. p switches to B (q not yet installed would fail: install first, everywhere).
        q.replaceKeyring(try Keyring(primary: Self.keyA, accepted: [Self.keyB]))
        p.replaceKeyring(try Keyring(primary: Self.keyB, accepted: [Self.keyA]))
        #expect(try exchange(&p, &q) == nil)
        #expect(try exchange(&q, &p) == nil)
        q.replaceKeyring(try Keyring(primary: Self.keyB, accepted: [Self.keyA]))
        // 3. remove A everywhere: frames under A no longer open.
        p.replaceKeyring(try Keyring(primary: Self.keyB))
        q.replaceKeyring(try Keyring(primary: Self.keyB))
        #expect(try exchange(&p, &q) == nil)
        #expect(try exchange(&q, &p) == nil)
        var old = Self.security([Self.keyA])
        #expect(try exchange(&old, &q) == "unknown_key")
    }

    @Test func replayStateAndKeyCacheAreBounded() throws {
        var receiver = Self.security([Self.keyA], maxTrackedSenders: 16)
        var sender = Self.security([Self.keyA])
        for peer in 0..<100 as Range<UInt64> {
            let f = try WireCodec.encode(Self.envelope(sender: peer, sequence: 1), security: &sender)
            #expect(Self.reason(f, &receiver) == nil)
        }
        #expect(receiver.trackedSenderCount == 16)
        #expect(sender.cachedKeyCount <= sender.maxCachedKeys)
        // The most recent senders are still tracked: their replays are refused.
        let again = try WireCodec.encode(Self.envelope(sender: 99, sequence: 1), security: &sender)
        #expect(Self.reason(again, &receiver) == "replayed")
    }
}
