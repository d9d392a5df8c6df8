import Testing
@testable import SwarmCrypto

@Suite struct ChaCha20Poly1305Tests {
    /// RFC 8439 §2.8.2: the "sunscreen" text sealed with AAD 50 51 52 53 c0..c7, key 80..9f,
    /// nonce = 32-bit fixed-common part 07 00 00 00 ‖ IV 40..47.
    @Test func sealMatchesSection2_8_2() {
        let plaintext = dump("""
            000  4c 61 64 69 65 73 20 61 6e 64 20 47 65 6e 74 6c  Ladies and Gentl
            016  65 6d 65 6e 20 6f 66 20 74 68 65 20 63 6c 61 73  emen of the clas
            032  73 20 6f 66 20 27 39 39 3a 20 49 66 20 49 20 63  s of '99: If I c
            048  6f 75 6c 64 20 6f 66 66 65 72 20 79 6f 75 20 6f  ould offer you o
            064  6e 6c 79 20 6f 6e 65 20 74 69 70 20 66 6f 72 20  nly one tip for
            080  74 68 65 20 66 75 74 75 72 65 2c 20 73 75 6e 73  the future, suns
            096  63 72 65 65 6e 20 77 6f 75 6c 64 20 62 65 20 69  creen would be i
            112  74 2e                                            t.
            """)
        let aad = dump("000  50 51 52 53 c0 c1 c2 c3 c4 c5 c6 c7              PQRS........")
        let key = SymmetricKey(bytes: dump("""
            000  80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f  ................
            016  90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f  ................
            """))!
        let iv = dump("000  40 41 42 43 44 45 46 47                          @ABCDEFG")
        let fixed = dump("000  07 00 00 00                                      ....")
        let ciphertext = dump("""
            000  d3 1a 8d 34 64 8e 60 db 7b 86 af bc 53 ef 7e c2  ...4d.`.{...S.~.
            016  a4 ad ed 51 29 6e 08 fe a9 e2 b5 a7 36 ee 62 d6  ...Q)n......6.b.
            032  3d be a4 5e 8c a9 67 12 82 fa fb 69 da 92 72 8b  =..^..g....i..r.
            048  1a 71 de 0a 9e 06 0b 29 05 d6 a5 b6 7e cd 3b 36  .q.....)....~.;6
            064  92 dd bd 7f 2d 77 8b 8c 98 03 ae e3 28 09 1b 58  ....-w......(..X
            080  fa b3 24 e4 fa d6 75 94 55 85 80 8b 48 31 d7 bc  ..$...u.U...H1..
            096  3f f4 de f0 8e 4b 7a 9d e5 76 d2 65 86 ce c6 4b  ?....Kz..v.e...K
            112  61 16                                            a.
            """)
        let tag = hex("1a:e1:0b:59:4f:09:e2:6a:7e:90:2e:cb:d0:60:06:91")
        #expect(plaintext.count == 114 && aad.count == 12 && iv.count == 8 && ciphertext.count == 114)
        let nonce = Nonce(bytes: fixed + iv)!
        // The frame-nonce layout is the same shape: epoch = the fixed part, sequence = the IV, both little-endian.
        #expect(nonce == Nonce(epoch: 7, sequence: 0x4746_4544_4342_4140))
        let sealed = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: aad, plaintext: plaintext)
        #expect(sealed == ciphertext + tag)
        #expect((try? ChaCha20Poly1305.open(key: key, nonce: nonce, aad: aad, sealed: sealed)) == plaintext)
    }

    /// RFC 8439 Appendix A.5: decryption of the "Internet-Drafts" text (ciphertext, nonce, AAD and received tag
    /// given; the tag is checked before decrypting).
    @Test func openMatchesAppendixA_5() throws {
        let key = SymmetricKey(bytes: dump(RFC8439Texts.key1c92))!
        let ciphertext = dump("""
            000  64 a0 86 15 75 86 1a f4 60 f0 62 c7 9b e6 43 bd  d...u...`.b...C.
            016  5e 80 5c fd 34 5c f3 89 f1 08 67 0a c7 6c 8c b2  ^.\\.4\\....g..l..
            032  4c 6c fc 18 75 5d 43 ee a0 9e e9 4e 38 2d 26 b0  Ll..u]C....N8-&.
            048  bd b7 b7 3c 32 1b 01 00 d4 f0 3b 7f 35 58 94 cf  ...<2.....;.5X..
            064  33 2f 83 0e 71 0b 97 ce 98 c8 a8 4a bd 0b 94 81  3/..q......J....
            080  14 ad 17 6e 00 8d 33 bd 60 f9 82 b1 ff 37 c8 55  ...n..3.`....7.U
            096  97 97 a0 6e f4 f0 ef 61 c1 86 32 4e 2b 35 06 38  ...n...a..2N+5.8
            112  36 06 90 7b 6a 7c 02 b0 f9 f6 15 7b 53 c8 67 e4  6..{j|.....{S.g.
            128  b9 16 6c 76 7b 80 4d 46 a5 9b 52 16 cd e7 a4 e9  ..lv{.MF..R.....
            144  90 40 c5 a4 04 33 22 5e e2 82 a1 b0 a0 6c 52 3e  .@...3"^.....lR>
            160  af 45 34 d7 f8 3f a1 15 5b 00 47 71 8c bc 54 6a  .E4..?..[.Gq..Tj
            176  0d 07 2b 04 b3 56 4e ea 1b 42 22 73 f5 48 27 1a  ..+..VN..B"s.H'.
            192  0b b2 31 60 53 fa 76 99 19 55 eb d6 31 59 43 4e  ..1`S.v..U..1YCN
            208  ce bb 4e 46 6d ae 5a 10 73 a6 72 76 27 09 7a 10  ..NFm.Z.s.rv'.z.
            224  49 e6 17 d9 1d 36 10 94 fa 68 f0 ff 77 98 71 30  I....6...h..w.q0
            240  30 5b ea ba 2e da 04 df 99 7b 71 4d 6c 6f 2c 29  0[.......{qMlo,)
            256  a6 ad 5c b4 02 2b 02 70 9b                       ..\\..+.p.
            """)
        let nonce = Nonce(bytes: dump("000  00 00 00 00 01 02 03 04 05 06 07 08              ............"))!
        let aad = dump("000  f3 33 88 86 00 00 00 00 00 00 4e 91              .3........N.")
        let tag = dump(#"000  ee ad 9d 67 89 0c bb 22 39 23 36 fe a1 85 1f 38  ...g..."9#6....8"#)
        let plaintext = dump("""
            000  49 6e 74 65 72 6e 65 74 2d 44 72 61 66 74 73 20  Internet-Drafts
            016  61 72 65 20 64 72 61 66 74 20 64 6f 63 75 6d 65  are draft docume
            032  6e 74 73 20 76 61 6c 69 64 20 66 6f 72 20 61 20  nts valid for a
            048  6d 61 78 69 6d 75 6d 20 6f 66 20 73 69 78 20 6d  maximum of six m
            064  6f 6e 74 68 73 20 61 6e 64 20 6d 61 79 20 62 65  onths and may be
            080  20 75 70 64 61 74 65 64 2c 20 72 65 70 6c 61 63   updated, replac
            096  65 64 2c 20 6f 72 20 6f 62 73 6f 6c 65 74 65 64  ed, or obsoleted
            112  20 62 79 20 6f 74 68 65 72 20 64 6f 63 75 6d 65   by other docume
            128  6e 74 73 20 61 74 20 61 6e 79 20 74 69 6d 65 2e  nts at any time.
            144  20 49 74 20 69 73 20 69 6e 61 70 70 72 6f 70 72   It is inappropr
            160  69 61 74 65 20 74 6f 20 75 73 65 20 49 6e 74 65  iate to use Inte
            176  72 6e 65 74 2d 44 72 61 66 74 73 20 61 73 20 72  rnet-Drafts as r
            192  65 66 65 72 65 6e 63 65 20 6d 61 74 65 72 69 61  eference materia
            208  6c 20 6f 72 20 74 6f 20 63 69 74 65 20 74 68 65  l or to cite the
            224  6d 20 6f 74 68 65 72 20 74 68 61 6e 20 61 73 20  m other than as
            240  2f e2 80 9c 77 6f 72 6b 20 69 6e 20 70 72 6f 67  /...work in prog
            256  72 65 73 73 2e 2f e2 80 9d                       ress./...
            """)
        #expect(ciphertext.count == 265 && plaintext.count == 265 && aad.count == 12 && tag.count == 16)
        let opened = try ChaCha20Poly1305.open(key: key, nonce: nonce, aad: aad, sealed: ciphertext + tag)
        #expect(opened == plaintext)
        #expect(ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: aad, plaintext: plaintext) == ciphertext + tag)
    }

    /// Longer than one 16 KB chunk of the sealing loop: SHA-256 of the sealed output and its tag, computed outside
    /// this code base with pyca/cryptography 48 (OpenSSL 3.0) `ChaCha20Poly1305(key).encrypt(nonce, pt, aad)`, key =
    /// pattern(32, seed: 11), nonce = struct.pack('<IQ', 7, 0x0102030405060708), aad = pattern(13, seed: 5).
    @Test func longMessagesMatchAnIndependentImplementation() throws {
        let key = SymmetricKey(bytes: pattern(32, seed: 11))!
        let nonce = Nonce(epoch: 7, sequence: 0x0102_0304_0506_0708)
        let aad = pattern(13, seed: 5)
        let expected: [(Int, String, String)] = [
            (40_000, "dbb79d6736d080d22fabede9e4a00b0b61bf21f16a0caee96782e1dad13337ef", "0a125533af3d64a3644c23895417b6d2"),
            (230_000, "79df6606a0056176268e48fce962ae03ff40d1685c77d3053a440812866e7089", "bc176ec5726ba558e953927f932db2d0"),
        ]
        for (length, digest, tag) in expected {
            let sealed = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: aad, plaintext: pattern(length))
            #expect(hexString(SHA256.hash(sealed)) == digest, "length \(length)")
            #expect(hexString(Array(sealed.suffix(16))) == tag, "length \(length)")
            #expect(try ChaCha20Poly1305.open(key: key, nonce: nonce, aad: aad, sealed: sealed) == pattern(length))
        }
    }

    static let key = SymmetricKey(bytes: pattern(32, seed: 42))!
    static let nonce = Nonce(epoch: 1, sequence: 77)

    /// Seal then open gives the plaintext back, for every length 0...300 (every partial-block case of both
    /// ChaCha20 and Poly1305, with and without AAD) and for a 230,000-byte model frame.
    @Test func roundTripsEveryLength() throws {
        for length in Array(0...300) + [230_000] {
            let aad = pattern(length % 37, seed: 9)
            let plaintext = pattern(length)
            let sealed = ChaCha20Poly1305.seal(key: Self.key, nonce: Self.nonce, aad: aad, plaintext: plaintext)
            #expect(sealed.count == length + 16)
            #expect(try ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: aad, sealed: sealed) == plaintext,
                    "length \(length)")
        }
    }

    /// Any single flipped bit of the ciphertext, the tag or the AAD makes `open` fail.
    @Test func everySingleBitFlipIsRejected() {
        let aad = pattern(32, seed: 2)  // the size of a frame header
        let sealed = ChaCha20Poly1305.seal(key: Self.key, nonce: Self.nonce, aad: aad, plaintext: pattern(100))
        var accepted = 0
        for bit in 0..<(sealed.count * 8) {
            var bad = sealed
            bad[bit / 8] ^= 1 << UInt8(bit % 8)
            if (try? ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: aad, sealed: bad)) != nil { accepted += 1 }
        }
        for bit in 0..<(aad.count * 8) {
            var bad = aad
            bad[bit / 8] ^= 1 << UInt8(bit % 8)
            if (try? ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: bad, sealed: sealed)) != nil { accepted += 1 }
        }
        #expect(accepted == 0)
    }

    /// The wrong key, the wrong nonce, a truncated message and a dropped or added byte all fail.
    @Test func wrongKeyNonceOrLengthIsRejected() {
        let sealed = ChaCha20Poly1305.seal(key: Self.key, nonce: Self.nonce, aad: [1], plaintext: pattern(50))
        let otherKey = SymmetricKey(bytes: pattern(32, seed: 43))!
        #expect(throws: AEADError.authenticationFailed) {
            try ChaCha20Poly1305.open(key: otherKey, nonce: Self.nonce, aad: [1], sealed: sealed)
        }
        #expect(throws: AEADError.authenticationFailed) {
            try ChaCha20Poly1305.open(key: Self.key, nonce: Nonce(epoch: 1, sequence: 78), aad: [1], sealed: sealed)
        }
        #expect(throws: AEADError.authenticationFailed) {
            try ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: [1], sealed: Array(sealed.dropLast()))
        }
        #expect(throws: AEADError.authenticationFailed) {
            try ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: [1], sealed: sealed + [0])
        }
        #expect(throws: AEADError.truncated(length: 15)) {
            try ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: [1], sealed: Array(sealed.prefix(15)))
        }
    }

    /// The in-place, detached-tag form (what a frame uses: header as AAD, payload encrypted where it lies) agrees
    /// with the array form, and a rejected open leaves the ciphertext untouched.
    @Test func inPlaceFormAgreesAndLeavesRejectedDataAlone() {
        var frame = pattern(32 + 500, seed: 4)  // 32-byte header, then the payload
        let plaintext = Array(frame[32...])
        let expected = ChaCha20Poly1305.seal(key: Self.key, nonce: Self.nonce, aad: Array(frame[..<32]), plaintext: plaintext)
        let tag = frame.withUnsafeMutableBytes { raw in
            ChaCha20Poly1305.seal(key: Self.key, nonce: Self.nonce, aad: UnsafeRawBufferPointer(rebasing: raw[..<32]),
                                  inPlace: UnsafeMutableRawBufferPointer(rebasing: raw[32...]))
        }
        #expect(Array(frame[32...]) + tag.bytes == expected)
        let sealedFrame = frame
        var badTag = tag.bytes
        badTag[0] ^= 1
        let rejected: Bool = frame.withUnsafeMutableBytes { raw in
            do {
                try ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: UnsafeRawBufferPointer(rebasing: raw[..<32]),
                                          inPlace: UnsafeMutableRawBufferPointer(rebasing: raw[32...]),
                                          tag: AuthenticationTag(bytes: badTag)!)
                return false
            } catch { return true }
        }
        #expect(rejected && frame == sealedFrame)
        let opened: Bool = frame.withUnsafeMutableBytes { raw in
            (try? ChaCha20Poly1305.open(key: Self.key, nonce: Self.nonce, aad: UnsafeRawBufferPointer(rebasing: raw[..<32]),
                                        inPlace: UnsafeMutableRawBufferPointer(rebasing: raw[32...]), tag: tag)) != nil
        }
        #expect(opened && Array(frame[32...]) == plaintext)
    }
}
