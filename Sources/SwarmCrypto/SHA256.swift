// SHA-256 as specified in FIPS 180-4 (Secure Hash Standard, August 2015), §4.1.2 (functions), §4.2.2 (constants),
// §5.1.1 (padding), §5.3.3 (initial hash value) and §6.2.2 (the hash computation). Used here only inside HMAC and
// HKDF (key derivation, key ids), never on bulk frame data, so it is written for clarity first: one compression
// function over a 64-word message schedule, bounds checked once per call to `update`.

/// An incremental SHA-256 hash (FIPS 180-4).
///
/// Protects against: nothing by itself; it is the collision- and preimage-resistant hash under HMAC and HKDF.
/// Does not protect against: length extension (SHA-256(secret ‖ m) is not a MAC; use `HMACSHA256`). It is not
/// written to be constant-time with respect to the *length* of its input, only to its contents (no table lookups
/// or branches on data).
public struct SHA256: Sendable {
    /// Length of a digest in bytes.
    public static let digestByteCount = 32
    /// Length of the block the compression function consumes, in bytes (also HMAC's block size).
    public static let blockByteCount = 64

    /// The eight working hash words H0...H7 (FIPS 180-4 §6.2.2, step 4).
    private var state: SIMD8<UInt32>
    /// Bytes not yet compressed (fewer than one block), at the front of `pending`.
    private var pending: SIMD64<UInt8> = .zero
    private var pendingCount = 0
    /// Total message length in bytes so far.
    private var length: UInt64 = 0

    /// A hash of the empty message, ready for `update`.
    public init() {
        // FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes.
        state = SIMD8(0x6A09_E667, 0xBB67_AE85, 0x3C6E_F372, 0xA54F_F53A,
                      0x510E_527F, 0x9B05_688C, 0x1F83_D9AB, 0x5BE0_CD19)
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        length &+= UInt64(bytes.count)
        var offset = 0
        if pendingCount > 0 {
            let take = min(Self.blockByteCount - pendingCount, bytes.count)
            withUnsafeMutableBytes(of: &pending) { p in
                p.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take)
            }
            pendingCount += take
            offset = take
            guard pendingCount == Self.blockByteCount else { return }
            let block = pending
            withUnsafeBytes(of: block) { Self.compress(&state, blocks: $0) }
            pendingCount = 0
        }
        let whole = (bytes.count - offset) / Self.blockByteCount * Self.blockByteCount
        if whole > 0 {
            Self.compress(&state, blocks: UnsafeRawBufferPointer(start: base + offset, count: whole))
            offset += whole
        }
        let rest = bytes.count - offset
        if rest > 0 {
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: base + offset, byteCount: rest) }
            pendingCount = rest
        }
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Pads the message (FIPS 180-4 §5.1.1: a 1 bit, zeros, the 64-bit big-endian bit length) and returns the digest.
    public consuming func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var tail = [UInt8](repeating: 0, count: pendingCount < 56 ? 64 : 128)
        withUnsafeBytes(of: pending) { p in
            for i in 0..<pendingCount { tail[i] = p[i] }
        }
        tail[pendingCount] = 0x80
        for i in 0..<8 { tail[tail.count - 1 - i] = UInt8(truncatingIfNeeded: bitLength >> (8 * UInt64(i))) }
        tail.withUnsafeBytes { Self.compress(&state, blocks: $0) }
        var digest = [UInt8](repeating: 0, count: Self.digestByteCount)
        for i in 0..<8 {
            let word = state[i]
            for j in 0..<4 { digest[4 * i + j] = UInt8(truncatingIfNeeded: word >> (24 - 8 * UInt32(j))) }
        }
        return digest
    }

    /// The SHA-256 digest of `bytes`.
    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256()
        h.update(bytes)
        return h.finalize()
    }

    /// FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes.
    private static let k: [UInt32] = [
        0x428A_2F98, 0x7137_4491, 0xB5C0_FBCF, 0xE9B5_DBA5, 0x3956_C25B, 0x59F1_11F1, 0x923F_82A4, 0xAB1C_5ED5,
        0xD807_AA98, 0x1283_5B01, 0x2431_85BE, 0x550C_7DC3, 0x72BE_5D74, 0x80DE_B1FE, 0x9BDC_06A7, 0xC19B_F174,
        0xE49B_69C1, 0xEFBE_4786, 0x0FC1_9DC6, 0x240C_A1CC, 0x2DE9_2C6F, 0x4A74_84AA, 0x5CB0_A9DC, 0x76F9_88DA,
        0x983E_5152, 0xA831_C66D, 0xB003_27C8, 0xBF59_7FC7, 0xC6E0_0BF3, 0xD5A7_9147, 0x06CA_6351, 0x1429_2967,
        0x27B7_0A85, 0x2E1B_2138, 0x4D2C_6DFC, 0x5338_0D13, 0x650A_7354, 0x766A_0ABB, 0x81C2_C92E, 0x9272_2C85,
        0xA2BF_E8A1, 0xA81A_664B, 0xC24B_8B70, 0xC76C_51A3, 0xD192_E819, 0xD699_0624, 0xF40E_3585, 0x106A_A070,
        0x19A4_C116, 0x1E37_6C08, 0x2748_774C, 0x34B0_BCB5, 0x391C_0CB3, 0x4ED8_AA4A, 0x5B9C_CA4F, 0x682E_6FF3,
        0x748F_82EE, 0x78A5_636F, 0x84C8_7814, 0x8CC7_0208, 0x90BE_FFFA, 0xA450_6CEB, 0xBEF9_A3F7, 0xC671_78F2,
    ]

    /// FIPS 180-4 §6.2.2 over every 64-byte block of `blocks` (whose count is a multiple of 64).
    private static func compress(_ state: inout SIMD8<UInt32>, blocks: UnsafeRawBufferPointer) {
        precondition(blocks.count % blockByteCount == 0, "SHA-256 compresses whole blocks only")
        k.withUnsafeBufferPointer { k in
            precondition(k.count == 64)
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
                var offset = 0
                while offset < blocks.count {
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: blocks.loadUnaligned(fromByteOffset: offset + 4 * t, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        let x = w[t - 15], y = w[t - 2]
                        let s0 = x.rotatedRight(7) ^ x.rotatedRight(18) ^ (x >> 3)
                        let s1 = y.rotatedRight(17) ^ y.rotatedRight(19) ^ (y >> 10)
                        w[t] = w[t - 16] &+ s0 &+ w[t - 7] &+ s1
                    }
                    var a = state[0], b = state[1], c = state[2], d = state[3]
                    var e = state[4], f = state[5], g = state[6], h = state[7]
                    for t in 0..<64 {
                        let bigS1 = e.rotatedRight(6) ^ e.rotatedRight(11) ^ e.rotatedRight(25)
                        let ch = (e & f) ^ (~e & g)
                        let t1 = h &+ bigS1 &+ ch &+ k[t] &+ w[t]
                        let bigS0 = a.rotatedRight(2) ^ a.rotatedRight(13) ^ a.rotatedRight(22)
                        let maj = (a & b) ^ (a & c) ^ (b & c)
                        let t2 = bigS0 &+ maj
                        h = g; g = f; f = e; e = d &+ t1
                        d = c; c = b; b = a; a = t1 &+ t2
                    }
                    state &+= SIMD8(a, b, c, d, e, f, g, h)
                    offset += blockByteCount
                }
            }
        }
    }
}

extension UInt32 {
    /// Rotation by `n` bits (1...31) towards the least significant bit (FIPS 180-4 §3.2 ROTR).
    @inline(__always) func rotatedRight(_ n: UInt32) -> UInt32 { (self &>> n) | (self &<< (32 &- n)) }
    /// Rotation by `n` bits (1...31) towards the most significant bit (RFC 8439 §2.1 "<<<").
    @inline(__always) func rotatedLeft(_ n: UInt32) -> UInt32 { (self &<< n) | (self &>> (32 &- n)) }
}
