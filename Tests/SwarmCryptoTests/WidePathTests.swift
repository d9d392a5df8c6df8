import Testing
@testable import SwarmCrypto

// The fast paths (ChaCha20's four blocks at a time, Poly1305's four blocks per carry) against deliberately plain
// reference implementations written here from RFC 8439's text: one ChaCha20 block at a time in scalar words, and
// Poly1305 as big-number arithmetic modulo 2^130 - 5 (no limbs shared with the fast code). The lengths straddle
// every boundary of the wide paths: nothing, a partial block, one block, the 256 bytes of one ChaCha20 group, a
// group and a tail, and several groups with a tail.

/// ChaCha20 (RFC 8439 §2.3-2.4) one 64-byte block at a time, scalar, written for clarity only.
enum ReferenceChaCha20 {
    static func block(key: [UInt8], counter: UInt32, nonce: [UInt8]) -> [UInt8] {
        func word(_ b: [UInt8], _ i: Int) -> UInt32 {
            UInt32(b[4 * i]) | UInt32(b[4 * i + 1]) << 8 | UInt32(b[4 * i + 2]) << 16 | UInt32(b[4 * i + 3]) << 24
        }
        var initial: [UInt32] = [0x6170_7865, 0x3320_646E, 0x7962_2D32, 0x6B20_6574]
        initial += (0..<8).map { word(key, $0) }
        initial += [counter] + (0..<3).map { word(nonce, $0) }
        var x = initial
        func rotl(_ v: UInt32, _ n: UInt32) -> UInt32 { (v << n) | (v >> (32 - n)) }
        func qr(_ a: Int, _ b: Int, _ c: Int, _ d: Int) {
            x[a] = x[a] &+ x[b]; x[d] = rotl(x[d] ^ x[a], 16)
            x[c] = x[c] &+ x[d]; x[b] = rotl(x[b] ^ x[c], 12)
            x[a] = x[a] &+ x[b]; x[d] = rotl(x[d] ^ x[a], 8)
            x[c] = x[c] &+ x[d]; x[b] = rotl(x[b] ^ x[c], 7)
        }
        for _ in 0..<10 {
            qr(0, 4, 8, 12); qr(1, 5, 9, 13); qr(2, 6, 10, 14); qr(3, 7, 11, 15)
            qr(0, 5, 10, 15); qr(1, 6, 11, 12); qr(2, 7, 8, 13); qr(3, 4, 9, 14)
        }
        var out: [UInt8] = []
        for i in 0..<16 {
            let w = x[i] &+ initial[i]
            out += [UInt8(w & 0xFF), UInt8((w >> 8) & 0xFF), UInt8((w >> 16) & 0xFF), UInt8(w >> 24)]
        }
        return out
    }

    static func xor(key: [UInt8], nonce: [UInt8], counter: UInt32, _ data: [UInt8]) -> [UInt8] {
        var out = data
        for b in 0..<(data.count + 63) / 64 {
            let stream = block(key: key, counter: counter &+ UInt32(b), nonce: nonce)
            for i in (64 * b)..<min(64 * b + 64, data.count) { out[i] ^= stream[i - 64 * b] }
        }
        return out
    }
}

/// Poly1305 (RFC 8439 §2.5) as arithmetic on non-negative big numbers (base 2^32 digits, little-endian).
enum ReferencePoly1305 {
    typealias Big = [UInt64]  // each element one base-2^32 digit

    static func number(_ bytes: ArraySlice<UInt8>) -> Big {
        var digits = Big(repeating: 0, count: (bytes.count + 3) / 4)
        for (i, byte) in bytes.enumerated() { digits[i / 4] |= UInt64(byte) << (8 * UInt64(i % 4)) }
        return digits
    }

    static func trimmed(_ a: Big) -> Big {
        var a = a
        while let last = a.last, last == 0 { a.removeLast() }
        return a
    }

    static func add(_ a: Big, _ b: Big) -> Big {
        var out = Big(repeating: 0, count: max(a.count, b.count) + 1)
        var carry: UInt64 = 0
        for i in 0..<out.count {
            let sum = (i < a.count ? a[i] : 0) + (i < b.count ? b[i] : 0) + carry
            out[i] = sum & 0xFFFF_FFFF
            carry = sum >> 32
        }
        return trimmed(out)
    }

    static func multiply(_ a: Big, _ b: Big) -> Big {
        var out = Big(repeating: 0, count: a.count + b.count + 1)
        for i in 0..<a.count {
            var carry: UInt64 = 0
            for j in 0..<b.count {
                let t = out[i + j] + a[i] * b[j] + carry  // < 2^64: each term below 2^32 or (2^32 - 1)^2
                out[i + j] = t & 0xFFFF_FFFF
                carry = t >> 32
            }
            var k = i + b.count
            while carry > 0 {
                let t = out[k] + carry
                out[k] = t & 0xFFFF_FFFF
                carry = t >> 32
                k += 1
            }
        }
        return trimmed(out)
    }

    /// a = high * 2^130 + low.
    static func split130(_ a: Big) -> (high: Big, low: Big) {
        var low = Array(a.prefix(5))
        if low.count == 5 { low[4] &= 0x3 }
        var high = Big(repeating: 0, count: max(0, a.count - 4))
        for i in 0..<high.count {
            let here = a[4 + i] >> 2
            let next = 4 + i + 1 < a.count ? (a[4 + i + 1] & 0x3) << 30 : 0
            high[i] = here | next
        }
        return (trimmed(high), trimmed(low))
    }

    /// 2^130 - 5.
    static let p: Big = [0xFFFF_FFFB, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0x3]

    static func isLess(_ a: Big, _ b: Big) -> Bool {
        let a = trimmed(a), b = trimmed(b)
        if a.count != b.count { return a.count < b.count }
        for i in stride(from: a.count - 1, through: 0, by: -1) where a[i] != b[i] { return a[i] < b[i] }
        return false
    }

    static func subtract(_ a: Big, _ b: Big) -> Big {  // a >= b
        var out = a
        var borrow: UInt64 = 0
        for i in 0..<out.count {
            let sub = (i < b.count ? b[i] : 0) + borrow
            if out[i] >= sub { out[i] -= sub; borrow = 0 } else { out[i] = out[i] + (1 << 32) - sub; borrow = 1 }
        }
        return trimmed(out)
    }

    /// a mod 2^130 - 5, by folding 2^130 = 5 until below 2^130, then one conditional subtraction.
    static func reduce(_ a: Big) -> Big {
        var x = trimmed(a)
        while true {
            let (high, low) = split130(x)
            if high.isEmpty { break }
            x = add(low, multiply(high, [5]))
        }
        return isLess(x, p) ? x : subtract(x, p)
    }

    static func tag(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var rBytes = Array(key[0..<16])
        for i in [3, 7, 11, 15] { rBytes[i] &= 15 }
        for i in [4, 8, 12] { rBytes[i] &= 252 }
        let r = number(rBytes[...]), s = number(key[16..<32])
        var acc: Big = []
        var i = 0
        while i < message.count {
            let end = min(i + 16, message.count)
            let n = number((Array(message[i..<end]) + [1])[...])
            acc = reduce(multiply(add(acc, n), r))
            i = end
        }
        let total = add(acc, s)
        var out: [UInt8] = []
        for k in 0..<16 { out.append(UInt8(((k / 4) < total.count ? total[k / 4] : 0) >> (8 * UInt64(k % 4)) & 0xFF)) }
        return out
    }
}

@Suite struct WidePathTests {
    static let lengths = [0, 1, 15, 16, 17, 63, 64, 65, 127, 128, 129, 255, 256, 257, 511, 512, 513, 4096 + 13]

    /// The reference itself, on RFC 8439 §2.3.2's block and §2.5.2's tag.
    @Test func referencesMatchTheRFC() {
        let key = (0..<32).map { UInt8($0) }
        let nonce = hex("00:00:00:09:00:00:00:4a:00:00:00:00")
        #expect(hexString(Array(ReferenceChaCha20.block(key: key, counter: 1, nonce: nonce).prefix(16)))
                == "10f1e7e4d13b5915500fdd1fa32071c4")
        let polyKey = hex("""
            85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8:01:0
            3:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b
            """)
        #expect(ReferencePoly1305.tag(key: polyKey, message: Array("Cryptographic Forum Research Group".utf8))
                == hex("a8:06:1d:c1:30:51:36:c6:c2:2b:8b:af:0c:01:27:a9"))
    }

    /// The four-block path and its one-block tail equal one block at a time, from several starting counters
    /// (including one whose four lanes run up to the last counter values, 2^32 - 1).
    @Test func chaCha20MatchesTheOneBlockReference() {
        let keyBytes = pattern(32, seed: 21), nonceBytes = pattern(12, seed: 4)
        let cipher = ChaCha20(key: SymmetricKey(bytes: keyBytes)!, nonce: Nonce(bytes: nonceBytes)!)
        for counter: UInt32 in [0, 1, 7, UInt32.max - 70] {
            for length in Self.lengths {
                var fast = pattern(length, seed: 3)
                cipher.xorKeystream(&fast, counter: counter)
                let reference = ReferenceChaCha20.xor(key: keyBytes, nonce: nonceBytes, counter: counter,
                                                      pattern(length, seed: 3))
                #expect(fast == reference, "length \(length), counter \(counter)")
            }
        }
    }

    /// The same, on data at every offset from an aligned address (the wide path loads and stores unaligned).
    @Test func chaCha20MatchesAtEveryAlignment() {
        let keyBytes = pattern(32, seed: 8), nonceBytes = pattern(12, seed: 9)
        let cipher = ChaCha20(key: SymmetricKey(bytes: keyBytes)!, nonce: Nonce(bytes: nonceBytes)!)
        let length = 600
        let reference = ReferenceChaCha20.xor(key: keyBytes, nonce: nonceBytes, counter: 1, pattern(length))
        for shift in 0..<16 {
            var buffer = [UInt8](repeating: 0xEE, count: shift) + pattern(length) + [0xEE]
            buffer.withUnsafeMutableBytes { raw in
                cipher.xorKeystream(into: UnsafeMutableRawBufferPointer(rebasing: raw[shift..<(shift + length)]), counter: 1)
            }
            #expect(Array(buffer[shift..<(shift + length)]) == reference, "offset \(shift)")
            #expect(buffer[..<shift].allSatisfy { $0 == 0xEE } && buffer.last == 0xEE, "bytes outside touched, offset \(shift)")
        }
    }

    /// One-time keys: a clamped r with every allowed bit set, a random-looking one, and the smallest; messages of
    /// all-ones bytes (the largest limbs) and of a pattern.
    static let polyKeys: [[UInt8]] = [
        [UInt8](repeating: 0xFF, count: 32),
        pattern(32, seed: 77),
        [1] + [UInt8](repeating: 0, count: 15) + [UInt8](repeating: 0xFF, count: 16),
    ]

    /// The four-way path (with and without a tail, in one update or split at odd places) equals the reference.
    @Test func poly1305MatchesTheBigNumberReference() {
        for (k, key) in Self.polyKeys.enumerated() {
            for length in Self.lengths {
                for message in [[UInt8](repeating: 0xFF, count: length), pattern(length, seed: 5)] {
                    let expected = ReferencePoly1305.tag(key: key, message: message)
                    #expect(Poly1305.authenticationCode(key: key, message: message)?.bytes == expected,
                            "key \(k), length \(length)")
                    for cut in [1, 17, 131] where cut < length {
                        var mac = Poly1305(key: key)!
                        mac.update(Array(message[..<cut]))
                        mac.update(Array(message[cut...]))
                        #expect(mac.finalize().bytes == expected, "key \(k), length \(length), cut at \(cut)")
                    }
                }
            }
        }
    }

    /// Sealing, built from both fast paths, equals the reference construction of RFC 8439 §2.8.
    @Test func sealMatchesTheReferenceConstruction() {
        let keyBytes = pattern(32, seed: 12), nonceBytes = pattern(12, seed: 13)
        for length in Self.lengths + [16 * 1024 + 5, 40_000] {
            let aad = pattern(length % 41, seed: 14), plaintext = pattern(length, seed: 15)
            let ciphertext = ReferenceChaCha20.xor(key: keyBytes, nonce: nonceBytes, counter: 1, plaintext)
            let otk = Array(ReferenceChaCha20.block(key: keyBytes, counter: 0, nonce: nonceBytes).prefix(32))
            func pad16(_ b: [UInt8]) -> [UInt8] { b + [UInt8](repeating: 0, count: (16 - b.count % 16) % 16) }
            func le64(_ n: Int) -> [UInt8] { (0..<8).map { UInt8((UInt64(n) >> (8 * UInt64($0))) & 0xFF) } }
            let tag = ReferencePoly1305.tag(key: otk, message: pad16(aad) + pad16(ciphertext) + le64(aad.count) + le64(length))
            let sealed = ChaCha20Poly1305.seal(key: SymmetricKey(bytes: keyBytes)!, nonce: Nonce(bytes: nonceBytes)!,
                                               aad: aad, plaintext: plaintext)
            #expect(sealed == ciphertext + tag, "length \(length)")
        }
    }

    /// Opening in place gives the plaintext back for every length, and a message with a wrong tag, a flipped
    /// ciphertext bit in the first or the last byte, or a wrong AAD is refused with the buffer still the exact
    /// ciphertext.
    @Test func openInPlaceAcceptsOrLeavesTheCiphertext() {
        let key = SymmetricKey(bytes: pattern(32, seed: 16))!, nonce = Nonce(bytes: pattern(12, seed: 17))!
        for length in Self.lengths + [16 * 1024 + 5] {
            let aad = pattern(length % 23, seed: 18), plaintext = pattern(length, seed: 19)
            let sealed = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: aad, plaintext: plaintext)
            let ciphertext = Array(sealed.prefix(length))
            let tag = AuthenticationTag(bytes: Array(sealed.suffix(16)))!
            func open(_ text: [UInt8], aad: [UInt8], tag: AuthenticationTag) -> (ok: Bool, buffer: [UInt8]) {
                var buffer = text
                let ok = aad.withUnsafeBytes { a in
                    buffer.withUnsafeMutableBytes { b in
                        (try? ChaCha20Poly1305.open(key: key, nonce: nonce, aad: a, inPlace: b, tag: tag)) != nil
                    }
                }
                return (ok, buffer)
            }
            let good = open(ciphertext, aad: aad, tag: tag)
            #expect(good.ok && good.buffer == plaintext, "length \(length)")
            var badTag = tag.bytes
            badTag[15] ^= 0x40
            var forgeries: [(String, [UInt8], [UInt8], AuthenticationTag)] = [
                ("tag", ciphertext, aad, AuthenticationTag(bytes: badTag)!),
                ("aad", ciphertext, aad + [0], tag),
            ]
            if length > 0 {
                for i in [0, length - 1] {
                    var flipped = ciphertext
                    flipped[i] ^= 0x01
                    forgeries.append(("byte \(i)", flipped, aad, tag))
                }
            }
            for (what, text, a, t) in forgeries {
                let result = open(text, aad: a, tag: t)
                #expect(!result.ok && result.buffer == text, "length \(length), changed \(what)")
            }
        }
    }
}
