/// XXH32 (xxHash, 32-bit; Yann Collet, https://github.com/Cyan4973/xxHash, `doc/xxhash_spec.md`): the checksum
/// that closes every GossipRec frame since wire version 2 (version 1 used CRC-32C).
///
/// Four independent 32-bit lanes each fold one little-endian word per 16-byte stripe with
/// `acc = rotl(acc + word * P2, 13) * P1`, so a CPU keeps four multiply chains in flight; the lanes are merged,
/// the length and the remaining (< 16) bytes are mixed in, and a final avalanche spreads every input bit over the
/// 32-bit result. In pure Swift this runs several times faster than the slicing-by-8 CRC-32C it replaces (table
/// lookups, one dependent chain): measured by `Scripts/bench-wire.sh`, see README.wire.md.
///
/// Detection: every step applied to the state for a given input word is a bijection (adding a constant,
/// multiplying by an odd constant, rotating, xor-shifting), so two inputs of the same length that differ in only
/// one aligned 4-byte word (hence every single-bit flip and every single corrupted byte) always hash
/// differently. Other corruptions go unnoticed with probability about 2^-32, like any good 32-bit hash; unlike a
/// CRC, XXH32 does not guarantee catching every burst longer than one word, which TCP's and UDP's own checksums
/// and our strict decoder (lengths, enums, finiteness) already back up. It is not a MAC: an attacker can forge
/// it, which is what the reserved auth-tag field is for.
///
/// Check values (the specification's, and python `xxhash`): `hash([]) == 0x02CC5D05`,
/// `hash("abc") == 0x32D153FF`.
public enum XXH32 {
    static let prime1: UInt32 = 0x9E37_79B1
    static let prime2: UInt32 = 0x85EB_CA77
    static let prime3: UInt32 = 0xC2B2_AE3D
    static let prime4: UInt32 = 0x27D4_EB2F
    static let prime5: UInt32 = 0x1656_67B1

    @inline(__always) static func rotl(_ x: UInt32, _ r: UInt32) -> UInt32 { (x &<< r) | (x &>> (32 &- r)) }

    @inline(__always) static func round(_ acc: UInt32, _ word: UInt32) -> UInt32 {
        rotl(acc &+ word &* prime2, 13) &* prime1
    }

    @inline(__always) static func word(_ base: UnsafeRawPointer, _ offset: Int) -> UInt32 {
        UInt32(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
    }

    /// XXH32 of `bytes` with `seed` (GossipRec frames use seed 0).
    public static func hash(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        let count = bytes.count
        var h: UInt32
        var i = 0
        if count >= 16, let base = bytes.baseAddress {
            var v1 = seed &+ prime1 &+ prime2, v2 = seed &+ prime2, v3 = seed, v4 = seed &- prime1
            let limit = count - 16
            while i <= limit {
                v1 = round(v1, word(base, i))
                v2 = round(v2, word(base, i &+ 4))
                v3 = round(v3, word(base, i &+ 8))
                v4 = round(v4, word(base, i &+ 12))
                i &+= 16
            }
            h = rotl(v1, 1) &+ rotl(v2, 7) &+ rotl(v3, 12) &+ rotl(v4, 18)
        } else {
            h = seed &+ prime5
        }
        h &+= UInt32(truncatingIfNeeded: count)
        if let base = bytes.baseAddress {
            while count - i >= 4 {
                h = rotl(h &+ word(base, i) &* prime3, 17) &* prime4
                i &+= 4
            }
            while i < count {
                h = rotl(h &+ UInt32(base.load(fromByteOffset: i, as: UInt8.self)) &* prime5, 11) &* prime1
                i &+= 1
            }
        }
        h ^= h &>> 15
        h &*= prime2
        h ^= h &>> 13
        h &*= prime3
        h ^= h &>> 16
        return h
    }

    /// XXH32 of a byte array.
    public static func hash(_ bytes: [UInt8], seed: UInt32 = 0) -> UInt32 {
        bytes.withUnsafeBytes { hash($0, seed: seed) }
    }

    /// XXH32 of `bytes[range]`, or nil if `range` is not within `bytes` (checked here, in every build
    /// configuration, before the raw-pointer slice is taken).
    public static func hash(_ bytes: [UInt8], range: Range<Int>, seed: UInt32 = 0) -> UInt32? {
        guard range.lowerBound >= 0 && range.upperBound <= bytes.count else { return nil }
        return bytes.withUnsafeBytes { hash(UnsafeRawBufferPointer(rebasing: $0[range]), seed: seed) }
    }
}
