import Testing
@testable import SwarmCrypto

@Suite struct NonceSequenceTests {
    static let jan2026: Int64 = 1_767_225_600  // 2026-01-01T00:00:00Z

    @Test func noncesAreEpochThenSequenceLittleEndian() {
        var seq = NonceSequence(epoch: 0x0403_0201)
        let first = seq.next()!
        #expect(first.bytes == [1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0])
        let second = seq.next()!
        #expect(second.bytes == [1, 2, 3, 4, 1, 0, 0, 0, 0, 0, 0, 0])
        #expect(second.epoch == 0x0403_0201 && second.sequence == 1 && seq.nextSequence == 2)
        let n = Nonce(epoch: 7, sequence: 0x0807_0605_0403_0201)
        #expect(n.bytes == [7, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8] && Nonce(bytes: n.bytes) == n)
    }

    /// One process: every nonce differs, and the sequence ends (nil) rather than wrapping.
    @Test func aSequenceNeverRepeatsAndEndsInsteadOfWrapping() {
        var seq = NonceSequence(epoch: 9)
        var seen = Set<Nonce>()
        for _ in 0..<10_000 { #expect(seen.insert(seq.next()!).inserted) }
        var last = NonceSequence(epoch: 9, nextSequence: UInt64.max - 2)
        #expect(last.next()?.sequence == UInt64.max - 2)
        #expect(last.next()?.sequence == UInt64.max - 1)
        #expect(last.next() == nil)
        #expect(last.next() == nil)
    }

    /// Restarts: each start's epoch is above the persisted one, so no (epoch, sequence) pair of an earlier life
    /// comes back, also when starts come faster than the clock ticks or the clock stands still.
    @Test func restartsAlwaysMoveToAFreshEpoch() {
        var persisted: UInt32? = nil
        var used = Set<Nonce>()
        for restart in 0..<50 {
            let now = Self.jan2026 + Int64(restart / 10)  // ten starts per clock second
            let epoch = NonceSequence.epoch(after: persisted, now: now)!
            if let p = persisted { #expect(epoch > p) }
            persisted = epoch  // persisted durably before the first seal
            var seq = NonceSequence(epoch: epoch)
            for _ in 0..<100 { #expect(used.insert(seq.next()!).inserted, "restart \(restart)") }  // then it crashes
        }
    }

    /// A lost or rolled-back state file: the clock term puts the new epoch above the old ones (when the clock has
    /// moved on since they were used).
    @Test func aLostStateFileFallsBackOnTheClock() {
        let before = NonceSequence.epoch(after: nil, now: Self.jan2026)!
        #expect(before == UInt32(Self.jan2026 - NonceSequence.clockOrigin))
        let afterLoss = NonceSequence.epoch(after: nil, now: Self.jan2026 + 60)!
        #expect(afterLoss > before)
        // A clock before 2025 (or an unset one) gives the persisted epoch + 1, and 1 on a first start.
        #expect(NonceSequence.epoch(after: nil, now: 0) == 1)
        #expect(NonceSequence.epoch(after: 41, now: 0) == 42)
        // Persisted ahead of the clock (fast restarts): persisted + 1 wins.
        #expect(NonceSequence.epoch(after: before + 1000, now: Self.jan2026) == before + 1001)
        // No epoch left above UInt32.max - 1 ... max.
        #expect(NonceSequence.epoch(after: UInt32.max - 1, now: 0) == UInt32.max)
        #expect(NonceSequence.epoch(after: UInt32.max, now: Self.jan2026) == nil)
    }
}
