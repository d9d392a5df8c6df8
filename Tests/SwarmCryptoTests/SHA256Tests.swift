import Testing
@testable import SwarmCrypto

@Suite struct SHA256Tests {
    /// FIPS 180-2 Appendix B (the SHA-256 examples, republished by NIST for FIPS 180-4 as "Examples with
    /// Intermediate Values", SHA256.pdf): B.1 one block, B.2 two blocks, B.3 one million "a".
    @Test func matchesTheFIPSExamples() {
        // B.1: "abc"
        #expect(SHA256.hash(Array("abc".utf8))
                == hex("ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad"))
        // B.2: "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" (448 bits)
        #expect(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
                == hex("248d6a61 d20638b8 e5c02693 0c3e6039 a33ce459 64ff2167 f6ecedd4 19db06c1"))
        // B.3: one million repetitions of "a"
        #expect(SHA256.hash([UInt8](repeating: 0x61, count: 1_000_000))
                == hex("cdc76e5c 9914fb92 81a1c7e2 84d73e67 f1809a48 a497200e 046d39cc c7112cd0"))
    }

    /// The empty message (the widely published SHA-256 of "", e.g. NIST's SHA-256 short-message test file, Len = 0).
    @Test func hashesTheEmptyMessage() {
        #expect(SHA256.hash([]) == hex("e3b0c442 98fc1c14 9afbf4c8 996fb924 27ae41e4 649b934c a495991b 7852b855"))
    }

    /// Every length 0...200 (every padding case: 55, 56, 63, 64, 119, 120 ... bytes): the SHA-256 of the concatenated
    /// digests of `pattern(n)`, computed outside this code base with python's hashlib (OpenSSL):
    /// `sha256(b"".join(sha256(pattern(n)).digest() for n in range(201))).hexdigest()`.
    @Test func paddingIsRightAtEveryLengthUpTo200() {
        var all: [UInt8] = []
        for n in 0...200 { all += SHA256.hash(pattern(n)) }
        #expect(hexString(SHA256.hash(all)) == "2596dc78bf91fcc2d7cdba569d85e7c20f5d24bdc74fb082da12c7272515aa28")
    }

    /// Feeding a message in pieces of any size gives the digest of the whole.
    @Test func incrementalUpdatesEqualOneShot() {
        let message = pattern(1000)
        let expected = SHA256.hash(message)
        for step in [1, 3, 7, 63, 64, 65, 128, 999] {
            var h = SHA256()
            var i = 0
            while i < message.count {
                h.update(Array(message[i..<min(i + step, message.count)]))
                i += step
            }
            #expect(h.finalize() == expected, "step \(step)")
        }
    }
}
