/// A 256-bit secret key for ChaCha20-Poly1305, held as the eight little-endian words the ChaCha20 state takes
/// (RFC 8439 §2.3: "key" words 4-11), inline (no heap storage).
///
/// Protects against: accidental disclosure in logs: `description` prints a fingerprint-free placeholder, never the
/// bytes. Does not protect against: anything else; whoever holds the value holds the key (it is not zeroed on
/// release, and Swift may copy it). The frame code gets its keys from `KeySchedule`, never straight from a file.
public struct SymmetricKey: Sendable, CustomStringConvertible {
    /// Length of a key in bytes.
    public static let byteCount = 32

    /// Key words k0...k7: bytes 4i..<4i+4 read little-endian.
    let words: SIMD8<UInt32>

    /// The key of exactly 32 bytes, or nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        var w = SIMD8<UInt32>()
        bytes.withUnsafeBytes { raw in
            for i in 0..<8 { w[i] = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)) }
        }
        words = w
    }

    /// The 32 key bytes (for deriving key ids or sub-keys; do not print them).
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.byteCount)
        for i in 0..<8 { for j in 0..<4 { out[4 * i + j] = UInt8(truncatingIfNeeded: words[i] >> (8 * UInt32(j))) } }
        return out
    }

    /// Constant-time equality of two keys (all 32 bytes are compared whatever they hold).
    public func constantTimeEquals(_ other: SymmetricKey) -> Bool {
        let d = words ^ other.words
        var acc: UInt32 = 0
        for i in 0..<8 { acc |= d[i] }
        return acc == 0
    }

    public var description: String { "SymmetricKey(<redacted>)" }
}

/// The 96-bit nonce of ChaCha20 and of AEAD_CHACHA20_POLY1305 (RFC 8439 §2.3, §2.8), held as the three
/// little-endian words of the ChaCha20 state (words 13-15).
///
/// GossipRec builds its frame nonces as `Nonce(epoch:sequence:)`: the sender's 32-bit epoch, then its 64-bit frame
/// sequence number, both little-endian: the layout of RFC 8439 §2.8.2's "32-bit fixed-common part" followed by a
/// 64-bit "IV". See `NonceSequence` for why such a nonce never repeats under one key.
///
/// Protects against: nothing by itself. A nonce is public; what matters is that it is never used twice with one key.
public struct Nonce: Hashable, Sendable, CustomStringConvertible {
    /// Length of a nonce in bytes.
    public static let byteCount = 12

    let w0: UInt32, w1: UInt32, w2: UInt32

    /// The nonce of exactly 12 bytes, or nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        func word(_ i: Int) -> UInt32 {
            UInt32(bytes[4 * i]) | UInt32(bytes[4 * i + 1]) << 8 | UInt32(bytes[4 * i + 2]) << 16
                | UInt32(bytes[4 * i + 3]) << 24
        }
        w0 = word(0); w1 = word(1); w2 = word(2)
    }

    /// `epoch` (4 bytes little-endian) followed by `sequence` (8 bytes little-endian).
    public init(epoch: UInt32, sequence: UInt64) {
        w0 = epoch
        w1 = UInt32(truncatingIfNeeded: sequence)
        w2 = UInt32(truncatingIfNeeded: sequence >> 32)
    }

    /// The first four bytes read as a little-endian integer (the sender's epoch in a frame nonce).
    public var epoch: UInt32 { w0 }
    /// The last eight bytes read as a little-endian integer (the frame sequence number in a frame nonce).
    public var sequence: UInt64 { UInt64(w1) | UInt64(w2) << 32 }

    /// The 12 nonce bytes.
    public var bytes: [UInt8] {
        [w0, w1, w2].flatMap { w in (0..<4).map { UInt8(truncatingIfNeeded: w >> (8 * UInt32($0))) } }
    }

    public var description: String { "Nonce(epoch: \(epoch), sequence: \(sequence))" }
}
