// Frame nonces: 96 bits = the sender's epoch (u32 le) ‖ the sender's frame sequence number (u64 le), under the
// sender's own key (`KeySchedule.senderKey`).
//
// Why a nonce never repeats under a key:
//   * Keys are per (swarm key, swarm id, wire version, purpose, sender id) (HKDF, see SwarmKey.swift), so under one
//     key only one sender seals, provided sender ids are unique among the running peers of a swarm (which
//     membership already requires), and each purpose has one sequence per sender.
//   * Within one process, `NonceSequence` hands out sequence numbers 0, 1, 2, ... and never wraps: at 2^64 - 1 it
//     returns nil and the sender must start a new epoch (at one frame per microsecond that is 584,000 years).
//   * Across processes, each start takes an epoch larger than every epoch this sender used before:
//     `NonceSequence.epoch(after:now:)` returns max(last persisted epoch + 1, seconds since 2025-01-01), and the
//     peer persists it durably (write a temporary file, fsync, rename, fsync the directory) *before* it seals its
//     first frame under it. A crash before the rename leaves the old value, and no frame was sealed under the new
//     one; a crash after it leaves the new value, so the next start goes higher still. An epoch can be skipped,
//     never reused.
//   * The clock term covers a lost or rolled-back state file (a fresh disk, a VM restored from a snapshot): the
//     new epoch is then still above the old ones as long as the clock has not gone back and the peer did not,
//     since 2025, start more often than once a second on average (each start at most one above the clock).
// So the peer must persist one u32 (its last epoch) and read the wall clock once per start; it draws no randomness:
// a random 32-bit epoch per start would repeat by the birthday bound (after R starts of one sender, with probability
// about R^2 / 2^33: 1 in 950 after 3,000 starts), a repeated epoch repeats its whole run of nonces, and a repeated
// nonce under ChaCha20-Poly1305 reveals the XOR of two plaintexts and lets the holder of both forge.
//
// Epoch 0 is never handed out, so a receiver that has seen nothing from a sender (epoch 0) accepts its first frame.

/// A sender's stream of unique frame nonces under one key: `Nonce(epoch: epoch, sequence: 0, 1, 2, ...)`.
///
/// Protects against: nonce reuse, *if* the epoch comes from `epoch(after:now:)` with the persisted epoch, and is
/// persisted before the first `next()` (see above). Does not protect against: two running processes with the same
/// sender id and swarm key (a copied state directory started twice), or a state file restored to an older value on a
/// machine whose clock is behind the lost epochs; nor does it hide the frame count (nonces are sent in clear).
public struct NonceSequence: Sendable {
    /// Seconds from the Unix epoch to 2025-01-01T00:00:00Z, the zero of the clock term of epochs.
    public static let clockOrigin: Int64 = 1_735_689_600

    /// This process's epoch.
    public let epoch: UInt32
    /// The sequence number the next nonce gets.
    public private(set) var nextSequence: UInt64

    /// The nonces of `epoch`, from sequence number `nextSequence` (0 for a new epoch).
    public init(epoch: UInt32, nextSequence: UInt64 = 0) {
        precondition(epoch > 0, "epoch 0 is reserved (a receiver's state before any frame)")
        self.epoch = epoch
        self.nextSequence = nextSequence
    }

    /// The next nonce, or nil once the 2^64 - 1 sequence numbers of this epoch are spent (start a new epoch).
    public mutating func next() -> Nonce? {
        guard nextSequence < UInt64.max else { return nil }
        defer { nextSequence += 1 }
        return Nonce(epoch: epoch, sequence: nextSequence)
    }

    /// The epoch for a process start: above the last persisted epoch (`nil` when the peer has none) and at least the
    /// seconds elapsed since 2025-01-01 (`now`: seconds since the Unix epoch, from the wall clock). Nil when no
    /// 32-bit epoch is left above the persisted one (after 2161, or 4 billion starts): the swarm needs a new key.
    /// Persist the result durably before sealing with it.
    public static func epoch(after persisted: UInt32?, now: Int64) -> UInt32? {
        let last = persisted ?? 0
        guard last < UInt32.max else { return nil }
        let clock = UInt32(clamping: max(0, now - clockOrigin))
        return max(last + 1, clock)
    }
}
