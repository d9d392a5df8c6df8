// ChaCha20 as specified in RFC 8439 §2.1-2.4: a 4x4 state of 32-bit words
//   cccccccc  cccccccc  cccccccc  cccccccc     constants "expand 32-byte k"
//   kkkkkkkk  kkkkkkkk  kkkkkkkk  kkkkkkkk     key
//   kkkkkkkk  kkkkkkkk  kkkkkkkk  kkkkkkkk
//   bbbbbbbb  nnnnnnnn  nnnnnnnn  nnnnnnnn     block counter, nonce
// run through 20 rounds (10 column + 10 diagonal quarter-round passes), added to its input, serialized
// little-endian: one 64-byte keystream block per counter value. Encryption XORs the keystream into the data.
//
// Speed: a model frame is ~230 KB, so this is the hot loop of the encrypted transport. The buffer bounds are checked
// once per call; inside, data is read and written through a raw pointer. Runs of 4 blocks (256 bytes) are computed
// together, one SIMD4 lane per block ("vertical" vectorization: state word i of the 4 blocks in one 128-bit
// register, so the rounds need no shuffles; plain SSE2, the x86-64 baseline: no flags, so no AVX2), then transposed
// back to 4 serialized blocks and XORed into the data 16 bytes at a time. The tail (under 256 bytes) runs one block at a time in 16
// scalar registers. No table lookups, no data-dependent branches: the running time depends on the length only.

/// The ChaCha20 stream cipher of RFC 8439 §2.4 (256-bit key, 96-bit nonce, 32-bit block counter).
///
/// Protects against: reading of the data by anyone without the key, *provided each (key, nonce) pair encrypts one
/// message only*. Does not protect against: modification (flipping a ciphertext bit flips the same plaintext bit;
/// use `ChaCha20Poly1305`), or a repeated nonce (two messages under one key and nonce leak their XOR).
public struct ChaCha20: Sendable {
    /// Length of one keystream block in bytes.
    public static let blockByteCount = 64

    private let key: SymmetricKey
    let nonce: Nonce

    public init(key: SymmetricKey, nonce: Nonce) {
        self.key = key
        self.nonce = nonce
    }

    /// The serialized keystream block for block counter `counter` (RFC 8439 §2.3, the ChaCha20 block function).
    public func block(counter: UInt32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Self.blockByteCount)
        out.withUnsafeMutableBytes { xorKeystream(into: $0, counter: counter) }
        return out
    }

    /// XORs the keystream, starting at block `counter`, into `buffer` (RFC 8439 §2.4: encryption and decryption
    /// alike). The keystream of one (key, nonce) has 2^32 blocks: `buffer` must fit in the blocks from `counter` on.
    public func xorKeystream(into buffer: UnsafeMutableRawBufferPointer, counter: UInt32) {
        let count = buffer.count
        guard count > 0, let base = buffer.baseAddress else { return }
        let blocks = (UInt64(count) + 63) / 64
        precondition(blocks <= (UInt64(1) << 32) - UInt64(counter), "ChaCha20: the data outruns the 32-bit block counter")
        let k = key.words
        let (n0, n1, n2) = (nonce.w0, nonce.w1, nonce.w2)
        var ctr = counter
        var offset = 0
        #if _endian(little)
        while count - offset >= 256 {
            fourBlocks(base + offset, counter: ctr, key: k, nonce: (n0, n1, n2))
            offset += 256
            ctr &+= 4
        }
        #endif
        while offset < count {
            // RFC 8439 §2.3: state = constants | key | counter | nonce; 10 double rounds; add the input.
            var x0: UInt32 = 0x6170_7865, x1: UInt32 = 0x3320_646E, x2: UInt32 = 0x7962_2D32, x3: UInt32 = 0x6B20_6574
            var x4 = k[0], x5 = k[1], x6 = k[2], x7 = k[3]
            var x8 = k[4], x9 = k[5], x10 = k[6], x11 = k[7]
            var x12 = ctr, x13 = n0, x14 = n1, x15 = n2
            for _ in 0..<10 {
                quarterRound(&x0, &x4, &x8, &x12)
                quarterRound(&x1, &x5, &x9, &x13)
                quarterRound(&x2, &x6, &x10, &x14)
                quarterRound(&x3, &x7, &x11, &x15)
                quarterRound(&x0, &x5, &x10, &x15)
                quarterRound(&x1, &x6, &x11, &x12)
                quarterRound(&x2, &x7, &x8, &x13)
                quarterRound(&x3, &x4, &x9, &x14)
            }
            x0 &+= 0x6170_7865; x1 &+= 0x3320_646E; x2 &+= 0x7962_2D32; x3 &+= 0x6B20_6574
            x4 &+= k[0]; x5 &+= k[1]; x6 &+= k[2]; x7 &+= k[3]
            x8 &+= k[4]; x9 &+= k[5]; x10 &+= k[6]; x11 &+= k[7]
            x12 &+= ctr; x13 &+= n0; x14 &+= n1; x15 &+= n2
            let p = base + offset
            if count - offset >= 64 {
                xorWord(p, 0, x0); xorWord(p, 1, x1); xorWord(p, 2, x2); xorWord(p, 3, x3)
                xorWord(p, 4, x4); xorWord(p, 5, x5); xorWord(p, 6, x6); xorWord(p, 7, x7)
                xorWord(p, 8, x8); xorWord(p, 9, x9); xorWord(p, 10, x10); xorWord(p, 11, x11)
                xorWord(p, 12, x12); xorWord(p, 13, x13); xorWord(p, 14, x14); xorWord(p, 15, x15)
            } else {
                // The last, partial block: serialize, XOR only the bytes that exist, discard the rest (§2.4).
                var stream = SIMD16<UInt32>(x0, x1, x2, x3, x4, x5, x6, x7, x8, x9, x10, x11, x12, x13, x14, x15)
                for i in 0..<16 { stream[i] = stream[i].littleEndian }
                withUnsafeBytes(of: stream) { s in
                    for i in 0..<(count - offset) { p.storeBytes(of: p.load(fromByteOffset: i, as: UInt8.self) ^ s[i],
                                                                 toByteOffset: i, as: UInt8.self) }
                }
            }
            offset += 64
            ctr &+= 1
        }
    }

    /// XORs the keystream, starting at block `counter`, into `bytes`.
    public func xorKeystream(_ bytes: inout [UInt8], counter: UInt32) {
        bytes.withUnsafeMutableBytes { xorKeystream(into: $0, counter: counter) }
    }
}

/// XORs the keystream of blocks `counter ..< counter + 4` into the 256 bytes at `p` (little-endian hosts).
@inline(__always)
private func fourBlocks(_ p: UnsafeMutableRawPointer, counter: UInt32, key k: SIMD8<UInt32>,
                        nonce: (UInt32, UInt32, UInt32)) {
    typealias V = SIMD4<UInt32>
    let i0 = V(repeating: 0x6170_7865), i1 = V(repeating: 0x3320_646E)
    let i2 = V(repeating: 0x7962_2D32), i3 = V(repeating: 0x6B20_6574)
    let i4 = V(repeating: k[0]), i5 = V(repeating: k[1]), i6 = V(repeating: k[2]), i7 = V(repeating: k[3])
    let i8 = V(repeating: k[4]), i9 = V(repeating: k[5]), i10 = V(repeating: k[6]), i11 = V(repeating: k[7])
    let i12 = V(repeating: counter) &+ V(0, 1, 2, 3)
    let i13 = V(repeating: nonce.0), i14 = V(repeating: nonce.1), i15 = V(repeating: nonce.2)
    var x0 = i0, x1 = i1, x2 = i2, x3 = i3, x4 = i4, x5 = i5, x6 = i6, x7 = i7
    var x8 = i8, x9 = i9, x10 = i10, x11 = i11, x12 = i12, x13 = i13, x14 = i14, x15 = i15
    for _ in 0..<10 {
        quarterRound(&x0, &x4, &x8, &x12)
        quarterRound(&x1, &x5, &x9, &x13)
        quarterRound(&x2, &x6, &x10, &x14)
        quarterRound(&x3, &x7, &x11, &x15)
        quarterRound(&x0, &x5, &x10, &x15)
        quarterRound(&x1, &x6, &x11, &x12)
        quarterRound(&x2, &x7, &x8, &x13)
        quarterRound(&x3, &x4, &x9, &x14)
    }
    x0 &+= i0; x1 &+= i1; x2 &+= i2; x3 &+= i3; x4 &+= i4; x5 &+= i5; x6 &+= i6; x7 &+= i7
    x8 &+= i8; x9 &+= i9; x10 &+= i10; x11 &+= i11; x12 &+= i12; x13 &+= i13; x14 &+= i14; x15 &+= i15
    // Lane j of x(4g) ... x(4g+3) are words 4g ..< 4g+4 of block j: transpose each group of four into 16 bytes.
    xorTransposed(p, 0, x0, x1, x2, x3)
    xorTransposed(p, 16, x4, x5, x6, x7)
    xorTransposed(p, 32, x8, x9, x10, x11)
    xorTransposed(p, 48, x12, x13, x14, x15)
}

/// For each block j in 0..<4: XORs (a[j], b[j], c[j], d[j]) into the 16 bytes at `p + 64 j + offset`.
@inline(__always)
private func xorTransposed(_ p: UnsafeMutableRawPointer, _ offset: Int, _ a: SIMD4<UInt32>, _ b: SIMD4<UInt32>,
                           _ c: SIMD4<UInt32>, _ d: SIMD4<UInt32>) {
    // 4x4 transpose in two interleaving steps (unpcklps/unpckhps, then movlhps/movhlps).
    let ab01 = SIMD4(a[0], b[0], a[1], b[1]), ab23 = SIMD4(a[2], b[2], a[3], b[3])
    let cd01 = SIMD4(c[0], d[0], c[1], d[1]), cd23 = SIMD4(c[2], d[2], c[3], d[3])
    let rows = (SIMD4(ab01[0], ab01[1], cd01[0], cd01[1]), SIMD4(ab01[2], ab01[3], cd01[2], cd01[3]),
                SIMD4(ab23[0], ab23[1], cd23[0], cd23[1]), SIMD4(ab23[2], ab23[3], cd23[2], cd23[3]))
    xor16(p, offset, rows.0)
    xor16(p, 64 + offset, rows.1)
    xor16(p, 128 + offset, rows.2)
    xor16(p, 192 + offset, rows.3)
}

@inline(__always)
private func xor16(_ p: UnsafeMutableRawPointer, _ offset: Int, _ stream: SIMD4<UInt32>) {
    let old = p.loadUnaligned(fromByteOffset: offset, as: SIMD4<UInt32>.self)
    p.storeBytes(of: old ^ stream, toByteOffset: offset, as: SIMD4<UInt32>.self)
}

/// RFC 8439 §2.1, on the same word of four blocks at once.
@inline(__always)
private func quarterRound(_ a: inout SIMD4<UInt32>, _ b: inout SIMD4<UInt32>, _ c: inout SIMD4<UInt32>,
                          _ d: inout SIMD4<UInt32>) {
    a &+= b; d ^= a; d = rotatedLeft(d, 16)
    c &+= d; b ^= c; b = rotatedLeft(b, 12)
    a &+= b; d ^= a; d = rotatedLeft(d, 8)
    c &+= d; b ^= c; b = rotatedLeft(b, 7)
}

/// Rotation of each 32-bit lane by `n` bits (1...31), as two shifts joined by an *addition*. The two shifted parts
/// share no bits, so `&+` equals `|`; but written with `|`, LLVM recognises a vector rotate, and x86-64's baseline
/// (SSE2) has none: it splits the vector into four scalar `rol`s with extracts and inserts, slower than the scalar
/// path. With `&+` it stays pslld + psrld + por (one register copy): 3 vector operations, the fewest SSE2 allows
/// for 12 and 7. For 16 and 8 too: a halfword shuffle (pshuflw + pshufhw) would be 2, but LLVM rewrote that
/// shuffle into a 6-instruction blend inside the rounds, and the byte shuffle for 8 needs SSSE3. Checked in the
/// disassembly of a release build (Swift 6.3, 202 instructions per double round of four blocks, from 263 with the
/// earlier shuffle and masked-64-bit-shift forms) and by `Scripts/bench-crypto.sh`.
@inline(__always)
private func rotatedLeft(_ x: SIMD4<UInt32>, _ n: UInt32) -> SIMD4<UInt32> {
    (x &<< n) &+ (x &>> (32 - n))
}

/// RFC 8439 §2.1: the quarter round on four state words.
@inline(__always)
private func quarterRound(_ a: inout UInt32, _ b: inout UInt32, _ c: inout UInt32, _ d: inout UInt32) {
    a &+= b; d ^= a; d = d.rotatedLeft(16)
    c &+= d; b ^= c; b = b.rotatedLeft(12)
    a &+= b; d ^= a; d = d.rotatedLeft(8)
    c &+= d; b ^= c; b = b.rotatedLeft(7)
}

/// `p[4i..<4i+4] ^= word` serialized little-endian; `p` points into a buffer already checked to hold 64 bytes.
@inline(__always)
private func xorWord(_ p: UnsafeMutableRawPointer, _ i: Int, _ word: UInt32) {
    let old = p.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)
    p.storeBytes(of: old ^ word.littleEndian, toByteOffset: 4 * i, as: UInt32.self)
}
