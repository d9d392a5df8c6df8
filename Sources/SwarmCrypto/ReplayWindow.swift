// Replay protection: the sliding window of RFC 6479 ("IPsec Anti-Replay Algorithm without Bit Shifting"), as
// WireGuard uses it (wireguard-go replay/replay.go, the kernel's counter validation): a ring of 2048 bits in 64-bit
// words, the highest sequence number seen, and a bit per sequence number in the window below it. Moving the window
// forward clears whole words instead of shifting the bitmap; a jump of more than the ring clears it all. The last
// word is the one being refilled, so the window proper is 2048 - 64 = 1984 sequence numbers below the highest.

/// What a replay check decided about a frame's (epoch, sequence number).
public enum ReplayVerdict: Hashable, Sendable {
    /// Not seen before, and new enough: process the frame.
    case accepted
    /// Seen before: a replay (or a network duplicate).
    case duplicate
    /// Older than the window: it may or may not have been seen; refused.
    case tooOld
    /// From an earlier epoch (process start) of the sender than the current one: a replay of an old session.
    case staleEpoch
}

/// A sliding window over one sender's 64-bit sequence numbers: accepts each at most once, and refuses those more
/// than `windowSize` below the highest accepted.
///
/// Protects against: replays of recorded frames, while accepting frames reordered by up to 1,984 positions.
/// Does not protect against: anything unless it sees only *authenticated* frames: call `accept` after
/// `ChaCha20Poly1305.open` succeeded (or a forger could move the window and lock a sender out); `check` may be used
/// before opening to skip the work on a known duplicate. A key holder can still send fresh frames with any sequence
/// number, including a far jump that makes the sender's genuine frames look too old. State is per sender: the
/// receiver keeps one window per member (256 bytes inline), so the member table's bound bounds it.
public struct ReplayWindow: Hashable, Sendable {
    /// How far below the highest accepted sequence number a frame is still accepted.
    public static let windowSize: UInt64 = 2048 - 64

    /// The highest sequence number accepted so far (0 before any).
    public private(set) var highest: UInt64 = 0
    /// Bit `s % 64` of word `(s / 64) % 32` is set when `s` has been accepted.
    private var ring = SIMD32<UInt64>()

    /// A window that has accepted nothing.
    public init() {}

    /// What `accept(sequence)` would answer, without recording anything.
    public func check(_ sequence: UInt64) -> ReplayVerdict {
        if sequence > highest { return .accepted }
        if highest - sequence > Self.windowSize { return .tooOld }
        return ring[Self.word(sequence)] & Self.bit(sequence) != 0 ? .duplicate : .accepted
    }

    /// Checks `sequence` and, if accepted, records it (moving the window forward when it is the highest yet).
    public mutating func accept(_ sequence: UInt64) -> ReplayVerdict {
        if sequence > highest {
            // Clear the words between the old highest's and the new one's (all 32 when the jump is that long).
            let current = highest / 64, target = sequence / 64
            let clear = min(target - current, 32)
            var i: UInt64 = 1
            while i <= clear {
                ring[Int((current + i) % 32)] = 0
                i += 1
            }
            highest = sequence
        } else if highest - sequence > Self.windowSize {
            return .tooOld
        }
        let w = Self.word(sequence), b = Self.bit(sequence)
        guard ring[w] & b == 0 else { return .duplicate }
        ring[w] |= b
        return .accepted
    }

    private static func word(_ sequence: UInt64) -> Int { Int((sequence / 64) % 32) }
    private static func bit(_ sequence: UInt64) -> UInt64 { 1 << (sequence % 64) }
}

/// One sender's replay state over frame nonces (epoch, sequence number): frames of an earlier epoch are refused,
/// a later epoch starts a fresh window, and within the current epoch `ReplayWindow` decides.
///
/// Protects against: replays within a sender's process lifetime and of frames from its earlier lifetimes, as long
/// as the sender's epochs increase (`NonceSequence`). Does not protect against: a key holder claiming to be the
/// sender with a higher epoch (genuine frames then look stale until the sender restarts higher still), or
/// unauthenticated input (call `accept` after the frame opened). One value per member, bounded by the member table;
/// a receiver that forgets a sender (removed member, restart) accepts that sender's old frames again once, which is
/// why frames must also be checked for freshness by the protocol above (a frame's round, an incarnation).
public struct SenderReplayFilter: Hashable, Sendable {
    /// The sender's current epoch (0 before any frame).
    public private(set) var epoch: UInt32 = 0
    /// The window over the current epoch's sequence numbers.
    public private(set) var window = ReplayWindow()

    public init() {}

    /// What `accept(nonce)` would answer, without recording anything.
    public func check(_ nonce: Nonce) -> ReplayVerdict {
        if nonce.epoch < epoch { return .staleEpoch }
        if nonce.epoch > epoch { return .accepted }
        return window.check(nonce.sequence)
    }

    /// Checks `nonce` and, if accepted, records it; a later epoch replaces the window.
    public mutating func accept(_ nonce: Nonce) -> ReplayVerdict {
        if nonce.epoch < epoch { return .staleEpoch }
        if nonce.epoch > epoch {
            epoch = nonce.epoch
            window = ReplayWindow()
        }
        return window.accept(nonce.sequence)
    }
}
