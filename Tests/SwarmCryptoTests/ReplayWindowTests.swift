import Testing
@testable import SwarmCrypto

@Suite struct ReplayWindowTests {
    @Test func acceptsInOrderOnceEach() {
        var w = ReplayWindow()
        for s in UInt64(0)..<5000 { #expect(w.accept(s) == .accepted, "\(s)") }
        #expect(w.highest == 4999)
        for s in UInt64(4999 - ReplayWindow.windowSize)...4999 { #expect(w.accept(s) == .duplicate, "\(s)") }
    }

    @Test func acceptsReorderedWithinTheWindow() {
        var w = ReplayWindow()
        // Each block of 1,000 delivered backwards: every frame is at most 999 behind the highest.
        for block in UInt64(0)..<5 {
            for s in (block * 1000..<(block + 1) * 1000).reversed() { #expect(w.accept(s) == .accepted, "\(s)") }
        }
        // A random-looking permutation of 0..<1984 after a jump to 10,000 + 1983.
        var v = ReplayWindow()
        let base: UInt64 = 10_000
        #expect(v.accept(base + 1983) == .accepted)
        for i in UInt64(0)..<1983 {
            let s = base + (i &* 1237) % 1983  // 1237 is coprime to 1983: a permutation
            #expect(v.accept(s) == .accepted, "\(s)")
        }
        for i in UInt64(0)...1983 { #expect(v.accept(base + i) == .duplicate) }
    }

    @Test func rejectsDuplicates() {
        var w = ReplayWindow()
        #expect(w.accept(0) == .accepted)
        #expect(w.accept(0) == .duplicate)
        #expect(w.accept(7) == .accepted)
        #expect(w.check(7) == .duplicate && w.check(6) == .accepted && w.check(8) == .accepted)
        #expect(w.accept(7) == .duplicate)
        #expect(w.accept(6) == .accepted)
        #expect(w.accept(6) == .duplicate)
    }

    /// The edge of the window: `windowSize` below the highest is accepted, one more is too old.
    @Test func rejectsTooOld() {
        var w = ReplayWindow()
        #expect(w.accept(5000) == .accepted)
        #expect(w.accept(5000 - ReplayWindow.windowSize) == .accepted)
        #expect(w.accept(5000 - ReplayWindow.windowSize - 1) == .tooOld)
        #expect(w.check(0) == .tooOld && w.accept(0) == .tooOld)
    }

    /// A jump far ahead (more than the whole ring) clears the window: old frames are too old, new ones accepted,
    /// and nothing from before the jump is remembered as seen within the new window.
    @Test func farFutureJumpsMoveTheWholeWindow() {
        var w = ReplayWindow()
        for s in UInt64(0)..<100 { _ = w.accept(s) }
        let far: UInt64 = 1 << 40
        #expect(w.accept(far) == .accepted)
        #expect(w.accept(99) == .tooOld)
        #expect(w.accept(far - 1) == .accepted && w.accept(far - 1) == .duplicate)
        #expect(w.accept(far - ReplayWindow.windowSize) == .accepted)
        #expect(w.accept(UInt64.max) == .accepted && w.accept(UInt64.max) == .duplicate)
        #expect(w.accept(far) == .tooOld)
        // Jumps of exactly the ring and of one word less keep the bookkeeping right.
        var v = ReplayWindow()
        #expect(v.accept(64) == .accepted)
        #expect(v.accept(64 + 2048) == .accepted)
        #expect(v.accept(64 + 2048 - 64) == .accepted)  // its word was cleared by the move, not inherited from 64
        #expect(v.accept(64) == .tooOld)
    }

    /// Against a plain model (a set of accepted numbers and the highest): 20,000 pseudo-random steps mixing
    /// small reorders, duplicates and jumps agree on every verdict.
    @Test func agreesWithASetModel() {
        var w = ReplayWindow()
        var seen = Set<UInt64>(), highest: UInt64 = 0
        var g = TestGenerator(state: 17)
        var next: UInt64 = 0
        for _ in 0..<20_000 {
            let r = g.next() % 100
            let s: UInt64
            switch r {
            case 0..<60: s = next; next += 1
            case 60..<85: s = next > 0 ? next - 1 - g.next() % min(next, 2500) : 0
            case 85..<99: s = next + g.next() % 64; next = s + 1
            default: s = next + 3000 + g.next() % 5000; next = s + 1
            }
            let expected: ReplayVerdict
            if s > highest || seen.isEmpty { expected = seen.contains(s) ? .duplicate : .accepted }
            else if highest - s > ReplayWindow.windowSize { expected = .tooOld }
            else { expected = seen.contains(s) ? .duplicate : .accepted }
            #expect(w.accept(s) == expected, "sequence \(s), highest \(highest)")
            if expected == .accepted { seen.insert(s); highest = max(highest, s) }
        }
    }

    @Test func senderFilterRefusesEarlierEpochsAndResetsOnALaterOne() {
        var f = SenderReplayFilter()
        #expect(f.accept(Nonce(epoch: 5, sequence: 0)) == .accepted)
        #expect(f.accept(Nonce(epoch: 5, sequence: 1)) == .accepted)
        #expect(f.accept(Nonce(epoch: 5, sequence: 1)) == .duplicate)
        #expect(f.accept(Nonce(epoch: 4, sequence: 99)) == .staleEpoch)
        // The sender restarted: its sequence starts again at 0 under a higher epoch.
        #expect(f.check(Nonce(epoch: 6, sequence: 0)) == .accepted)
        #expect(f.epoch == 5)  // check records nothing
        #expect(f.accept(Nonce(epoch: 6, sequence: 0)) == .accepted)
        #expect(f.epoch == 6 && f.window.highest == 0)
        #expect(f.accept(Nonce(epoch: 6, sequence: 0)) == .duplicate)
        #expect(f.accept(Nonce(epoch: 5, sequence: 2)) == .staleEpoch)
        #expect(f.check(Nonce(epoch: 5, sequence: 2)) == .staleEpoch)
    }
}
