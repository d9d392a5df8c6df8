// Poly1305 as specified in RFC 8439 §2.5: with r clamped and P = 2^130 - 5, for each 16-byte block m (read
// little-endian, with a 1 appended above its top byte): acc = ((acc + m) * r) mod P; the tag is (acc + s) mod 2^128.
//
// Representation (the well-known radix-2^44 layout for 64-bit machines): acc and r are held in three limbs of
// 44, 44 and 42 bits, so each block costs nine 64x64->128-bit multiplications. Reduction modulo 2^130 - 5 uses
// 2^130 ≡ 5: limb products that land at 2^132 and above are folded back multiplied by 5 * 4 = 20 (the s1, s2
// below), and carries out of the top limb re-enter the bottom one multiplied by 5. The accumulator stays only
// partially reduced (below 2^130 + small) between blocks; `finalize` reduces it fully, without branches: it
// computes acc - P and selects by mask. Nothing depends on secret data but the arithmetic.

/// A 16-byte Poly1305 tag, compared in constant time.
///
/// `==` reads both tags whole (two 64-bit words XORed and OR-ed, tested once), so a forger learns nothing from how
/// long a rejection took. Protects against: that timing leak only; a tag is public (it travels with its frame).
public struct AuthenticationTag: Equatable, Sendable, CustomStringConvertible {
    /// Length of a tag in bytes.
    public static let byteCount = 16

    /// Bytes 0..<8 and 8..<16 of the tag, read little-endian.
    let low: UInt64, high: UInt64

    init(low: UInt64, high: UInt64) {
        self.low = low
        self.high = high
    }

    /// The tag of exactly 16 bytes, or nil for any other length.
    public init?(bytes: [UInt8]) {
        guard bytes.count == Self.byteCount else { return nil }
        var l: UInt64 = 0, h: UInt64 = 0
        for i in 0..<8 { l |= UInt64(bytes[i]) << (8 * UInt64(i)); h |= UInt64(bytes[8 + i]) << (8 * UInt64(i)) }
        low = l
        high = h
    }

    /// The tag of exactly 16 bytes at `raw` (a tag read where it lies in a received frame, without an array).
    public init(_ raw: UnsafeRawBufferPointer) {
        precondition(raw.count == Self.byteCount)
        low = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        high = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
    }

    /// The 16 tag bytes.
    public var bytes: [UInt8] {
        (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? low : high) >> (8 * UInt64(i % 8))) }
    }

    /// Constant-time: no early exit on the first differing byte.
    public static func == (a: AuthenticationTag, b: AuthenticationTag) -> Bool {
        ((a.low ^ b.low) | (a.high ^ b.high)) == 0
    }

    public var description: String { bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined() }
}

/// The Poly1305 one-time authenticator of RFC 8439 §2.5, incremental.
///
/// Protects against: forgery of a message under a key used for *one* message only: a forger succeeds with
/// probability at most 8 ⌈L/16⌉ / 2^106 per attempt on an L-byte message (RFC 8439 §4). Does not protect against: anything once a key authenticates two
/// messages (the key can then be solved for). Never key it directly; `ChaCha20Poly1305` derives a fresh one-time key
/// per (key, nonce).
public struct Poly1305: Sendable {
    /// Length of a one-time key in bytes (r, then s).
    public static let keyByteCount = 32

    private static let mask44: UInt64 = 0xFFF_FFFF_FFFF
    private static let mask42: UInt64 = 0x3FF_FFFF_FFFF

    /// Clamped r in radix 2^44, and s1 = 20 r1, s2 = 20 r2 (the multipliers of products folded back over 2^130).
    private let r0: UInt64, r1: UInt64, r2: UInt64, s1: UInt64, s2: UInt64
    /// s, the pad added at the end, as two little-endian 64-bit halves.
    private let pad0: UInt64, pad1: UInt64
    /// The accumulator in radix 2^44.
    private var h0: UInt64 = 0, h1: UInt64 = 0, h2: UInt64 = 0
    /// Message bytes not yet absorbed (fewer than 16), at the front of `pending`.
    private var pending: SIMD16<UInt8> = .zero
    private var pendingCount = 0

    /// Keys the authenticator with a 32-byte one-time key: r (clamped, RFC 8439 §2.5) then s.
    public init?(key: [UInt8]) {
        guard key.count == Self.keyByteCount else { return nil }
        self = key.withUnsafeBytes { Poly1305(keyBytes: $0) }
    }

    /// Keys the authenticator with the 32-byte one-time key at `keyBytes`.
    init(keyBytes: UnsafeRawBufferPointer) {
        precondition(keyBytes.count >= Self.keyByteCount)
        let t0 = UInt64(littleEndian: keyBytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let t1 = UInt64(littleEndian: keyBytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        // r &= 0x0ffffffc0ffffffc0ffffffc0fffffff, split into 44 + 44 + 42 bits.
        r0 = t0 & 0xFFC_0FFF_FFFF
        r1 = ((t0 >> 44) | (t1 << 20)) & 0xFFF_FFC0_FFFF
        r2 = (t1 >> 24) & 0x00F_FFFF_FC0F
        s1 = r1 &* 20
        s2 = r2 &* 20
        pad0 = UInt64(littleEndian: keyBytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        pad1 = UInt64(littleEndian: keyBytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var offset = 0
        if pendingCount > 0 {
            let take = min(16 - pendingCount, bytes.count)
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: pendingCount).copyMemory(from: base, byteCount: take) }
            pendingCount += take
            offset = take
            guard pendingCount == 16 else { return }
            let block = pending
            withUnsafeBytes(of: block) { absorb($0.baseAddress!, blocks: 1, topBit: 1 << 40) }
            pendingCount = 0
        }
        let whole = (bytes.count - offset) / 16
        if whole > 0 {
            absorb(base + offset, blocks: whole, topBit: 1 << 40)
            offset += whole * 16
        }
        let rest = bytes.count - offset
        if rest > 0 {
            pending = .zero
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: base + offset, byteCount: rest) }
            pendingCount = rest
        }
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Appends zero bytes up to the next multiple of 16 bytes of message (RFC 8439 §2.8's pad16).
    mutating func padToBlock() {
        guard pendingCount > 0 else { return }
        let block = pending  // bytes past pendingCount are zero
        withUnsafeBytes(of: block) { absorb($0.baseAddress!, blocks: 1, topBit: 1 << 40) }
        pendingCount = 0
    }

    /// The tag of the message appended so far.
    public consuming func finalize() -> AuthenticationTag {
        if pendingCount > 0 {
            // The final short block: its bytes, then a 1 byte, then zeros; no 2^128 bit (RFC 8439 §2.5).
            var block = pending
            block[pendingCount] = 1
            withUnsafeBytes(of: block) { absorb($0.baseAddress!, blocks: 1, topBit: 0) }
        }
        let m44 = Self.mask44, m42 = Self.mask42
        var h0 = self.h0, h1 = self.h1, h2 = self.h2
        // Carry fully: h < 2^130 + a little.
        var c = h1 >> 44; h1 &= m44
        h2 &+= c; c = h2 >> 42; h2 &= m42
        h0 &+= c &* 5; c = h0 >> 44; h0 &= m44
        h1 &+= c; c = h1 >> 44; h1 &= m44
        h2 &+= c; c = h2 >> 42; h2 &= m42
        h0 &+= c &* 5; c = h0 >> 44; h0 &= m44
        h1 &+= c
        // g = h + 5 - 2^130 = h - P; if that did not go negative, h >= P and the result is g.
        var g0 = h0 &+ 5; c = g0 >> 44; g0 &= m44
        var g1 = h1 &+ c; c = g1 >> 44; g1 &= m44
        var g2 = h2 &+ c &- (1 << 42)
        let useG = (g2 >> 63) &- 1  // all ones when g2 >= 0 (h >= P), zero otherwise
        g0 &= useG; g1 &= useG; g2 &= useG
        h0 = (h0 & ~useG) | g0
        h1 = (h1 & ~useG) | g1
        h2 = (h2 & ~useG) | g2
        // h + s mod 2^128.
        h0 &+= pad0 & m44; c = h0 >> 44; h0 &= m44
        h1 &+= (((pad0 >> 44) | (pad1 << 20)) & m44) &+ c; c = h1 >> 44; h1 &= m44
        h2 &+= ((pad1 >> 24) & m42) &+ c; h2 &= m42
        return AuthenticationTag(low: h0 | (h1 << 44), high: (h1 >> 20) | (h2 << 24))
    }

    /// acc = (acc + m) * r mod P for `blocks` 16-byte blocks at `p`; `topBit` is 2^128 in the top limb's scale
    /// (1 << 40) for whole blocks, 0 for the final short block whose 1 byte is already in place.
    ///
    /// Runs of four blocks take the four-way path: acc = (acc + m1) r^4 + m2 r^3 + m3 r^2 + m4 r, the same value as
    /// four steps of Horner's rule (each step multiplies by r once). The four products are independent, and their
    /// unreduced sums are carried once per four blocks, so the chain from one accumulator to the next is one
    /// multiply-and-carry per 64 bytes instead of per 16: the one-block loop waits on that chain (~30 cycles a block
    /// on the x86-64 this was measured on), the four-way loop on the multiplier (9 products a block).
    /// Bounds: accumulator limbs below 2^45 after adding a block, powers of r carried to below 2^44 + 2^16 (their
    /// s = 20 r below 2^49), so each product is below 2^94 and each sum of 12 below 2^98: no UInt128 overflows.
    @inline(__always)
    private mutating func absorb(_ p: UnsafeRawPointer, blocks: Int, topBit: UInt64) {
        let r0 = self.r0, r1 = self.r1, r2 = self.r2, s1 = self.s1, s2 = self.s2
        var h0 = self.h0, h1 = self.h1, h2 = self.h2
        var q = p
        var left = blocks
        if left >= 8 {
            // r^2, r^3, r^4 (carried), once per call: a few dozen multiplications, against 9 per block saved latency.
            let rr = Limbs(r0, r1, r2)
            let p2 = rr.times(rr), p3 = p2.times(rr), p4 = p3.times(rr)
            let (a0, a1, a2, as1, as2) = (p4.l0, p4.l1, p4.l2, p4.l1 &* 20, p4.l2 &* 20)
            let (b0, b1, b2, bs1, bs2) = (p3.l0, p3.l1, p3.l2, p3.l1 &* 20, p3.l2 &* 20)
            let (c0, c1, c2, cs1, cs2) = (p2.l0, p2.l1, p2.l2, p2.l1 &* 20, p2.l2 &* 20)
            while left >= 4 {
                let m1 = Limbs(block: q, topBit: topBit), m2 = Limbs(block: q + 16, topBit: topBit)
                let m3 = Limbs(block: q + 32, topBit: topBit), m4 = Limbs(block: q + 48, topBit: topBit)
                let x0 = h0 &+ m1.l0, x1 = h1 &+ m1.l1, x2 = h2 &+ m1.l2
                let d0 = mul(x0, a0) &+ mul(x1, as2) &+ mul(x2, as1)
                    &+ mul(m2.l0, b0) &+ mul(m2.l1, bs2) &+ mul(m2.l2, bs1)
                    &+ mul(m3.l0, c0) &+ mul(m3.l1, cs2) &+ mul(m3.l2, cs1)
                    &+ mul(m4.l0, r0) &+ mul(m4.l1, s2) &+ mul(m4.l2, s1)
                let d1 = mul(x0, a1) &+ mul(x1, a0) &+ mul(x2, as2)
                    &+ mul(m2.l0, b1) &+ mul(m2.l1, b0) &+ mul(m2.l2, bs2)
                    &+ mul(m3.l0, c1) &+ mul(m3.l1, c0) &+ mul(m3.l2, cs2)
                    &+ mul(m4.l0, r1) &+ mul(m4.l1, r0) &+ mul(m4.l2, s2)
                let d2 = mul(x0, a2) &+ mul(x1, a1) &+ mul(x2, a0)
                    &+ mul(m2.l0, b2) &+ mul(m2.l1, b1) &+ mul(m2.l2, b0)
                    &+ mul(m3.l0, c2) &+ mul(m3.l1, c1) &+ mul(m3.l2, c0)
                    &+ mul(m4.l0, r2) &+ mul(m4.l1, r1) &+ mul(m4.l2, r0)
                (h0, h1, h2) = Limbs(carrying: d0, d1, d2).tuple
                q += 64
                left -= 4
            }
        }
        for _ in 0..<left {
            let m = Limbs(block: q, topBit: topBit)
            h0 &+= m.l0
            h1 &+= m.l1
            h2 &+= m.l2
            let d0 = mul(h0, r0) &+ mul(h1, s2) &+ mul(h2, s1)
            let d1 = mul(h0, r1) &+ mul(h1, r0) &+ mul(h2, s2)
            let d2 = mul(h0, r2) &+ mul(h1, r1) &+ mul(h2, r0)
            (h0, h1, h2) = Limbs(carrying: d0, d1, d2).tuple
            q += 16
        }
        self.h0 = h0; self.h1 = h1; self.h2 = h2
    }

    /// One-shot Poly1305(key, message).
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> AuthenticationTag? {
        guard var mac = Poly1305(key: key) else { return nil }
        mac.update(message)
        return mac.finalize()
    }
}

/// A number modulo 2^130 - 5 in radix 2^44 (limbs of 44, 44 and 42 bits, the top one may carry a little more).
private struct Limbs {
    var l0: UInt64, l1: UInt64, l2: UInt64

    @inline(__always)
    init(_ l0: UInt64, _ l1: UInt64, _ l2: UInt64) {
        self.l0 = l0; self.l1 = l1; self.l2 = l2
    }

    /// The 16-byte block at `p` read little-endian, plus `topBit` (2^128 in the top limb's scale, or 0).
    @inline(__always)
    init(block p: UnsafeRawPointer, topBit: UInt64) {
        let t0 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        let t1 = UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        l0 = t0 & 0xFFF_FFFF_FFFF
        l1 = ((t0 >> 44) | (t1 << 20)) & 0xFFF_FFFF_FFFF
        l2 = ((t1 >> 24) & 0x3FF_FFFF_FFFF) | topBit
    }

    /// self * other mod 2^130 - 5, carried (limbs below 2^44, 2^44 + 2^16, 2^42); both factors' limbs below 2^45.
    @inline(__always)
    func times(_ o: Limbs) -> Limbs {
        let s1 = o.l1 &* 20, s2 = o.l2 &* 20
        let d0 = mul(l0, o.l0) &+ mul(l1, s2) &+ mul(l2, s1)
        let d1 = mul(l0, o.l1) &+ mul(l1, o.l0) &+ mul(l2, s2)
        let d2 = mul(l0, o.l2) &+ mul(l1, o.l1) &+ mul(l2, o.l0)
        return Limbs(carrying: d0, d1, d2)
    }

    /// The 130-bit value d0 + d1·2^44 + d2·2^88 (each below 2^98) reduced mod 2^130 − 5 into limbs below 2^44,
    /// 2^44 + 2^16 and 2^42: the one carry chain every multiplication ends with.
    @inline(__always)
    init(carrying d0: UInt128, _ d1: UInt128, _ d2: UInt128) {
        let m44: UInt64 = 0xFFF_FFFF_FFFF, m42: UInt64 = 0x3FF_FFFF_FFFF
        var d1 = d1, d2 = d2
        var c = UInt64(truncatingIfNeeded: d0 >> 44); var h0 = UInt64(truncatingIfNeeded: d0) & m44
        d1 &+= UInt128(c); c = UInt64(truncatingIfNeeded: d1 >> 44); let h1 = UInt64(truncatingIfNeeded: d1) & m44
        d2 &+= UInt128(c); c = UInt64(truncatingIfNeeded: d2 >> 42); let h2 = UInt64(truncatingIfNeeded: d2) & m42
        h0 &+= c &* 5; c = h0 >> 44; h0 &= m44
        self.init(h0, h1 &+ c, h2)
    }

    var tuple: (UInt64, UInt64, UInt64) { (l0, l1, l2) }
}

/// The full 128-bit product of two 64-bit limbs.
@inline(__always)
private func mul(_ a: UInt64, _ b: UInt64) -> UInt128 { UInt128(a) &* UInt128(b) }

extension String {
    func leftPadded(to width: Int, with pad: Character = "0") -> String {
        count >= width ? self : String(repeating: pad, count: width - count) + self
    }
}
