import Testing
@testable import SwarmCrypto

@Suite struct HKDFTests {
    static let names: Set<String> = ["Hash", "IKM", "salt", "info", "L", "PRK", "OKM"]

    /// RFC 5869 Appendix A.1-A.3 (the SHA-256 test cases), as printed.
    static let testCases: [(section: String, text: String)] = [
        ("A.1 Test Case 1: basic test case with SHA-256", """
            Hash = SHA-256
            IKM  = 0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b (22 octets)
            salt = 0x000102030405060708090a0b0c (13 octets)
            info = 0xf0f1f2f3f4f5f6f7f8f9 (10 octets)
            L    = 42

            PRK  = 0x077709362c2e32df0ddc3f0dc47bba63
                   90b6c73bb50f9c3122ec844ad7c2b3e5 (32 octets)
            OKM  = 0x3cb25f25faacd57a90434f64d0362f2a
                   2d2d0a90cf1a5a4c5db02d56ecc4c5bf
                   34007208d5b887185865 (42 octets)
            """),
        ("A.2 Test Case 2: test with SHA-256 and longer inputs/outputs", """
            Hash = SHA-256
            IKM  = 0x000102030405060708090a0b0c0d0e0f
                   101112131415161718191a1b1c1d1e1f
                   202122232425262728292a2b2c2d2e2f
                   303132333435363738393a3b3c3d3e3f
                   404142434445464748494a4b4c4d4e4f (80 octets)
            salt = 0x606162636465666768696a6b6c6d6e6f
                   707172737475767778797a7b7c7d7e7f
                   808182838485868788898a8b8c8d8e8f
                   909192939495969798999a9b9c9d9e9f
                   a0a1a2a3a4a5a6a7a8a9aaabacadaeaf (80 octets)
            info = 0xb0b1b2b3b4b5b6b7b8b9babbbcbdbebf
                   c0c1c2c3c4c5c6c7c8c9cacbcccdcecf
                   d0d1d2d3d4d5d6d7d8d9dadbdcdddedf
                   e0e1e2e3e4e5e6e7e8e9eaebecedeeef
                   f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff (80 octets)
            L    = 82

            PRK  = 0x06a6b88c5853361a06104c9ceb35b45c
                   ef760014904671014a193f40c15fc244 (32 octets)
            OKM  = 0xb11e398dc80327a1c8e7f78c596a4934
                   4f012eda2d4efad8a050cc4c19afa97c
                   59045a99cac7827271cb41c65e590e09
                   da3275600c2f09b8367793a9aca3db71
                   cc30c58179ec3e87c14c01d5c1f3434f
                   1d87 (82 octets)
            """),
        ("A.3 Test Case 3: test with SHA-256 and zero-length salt/info", """
            Hash = SHA-256
            IKM  = 0x0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b (22 octets)
            salt = (0 octets)
            info = (0 octets)
            L    = 42

            PRK  = 0x19ef24a32c717b167f33a91d6f648bdf
                   96596776afdb6377ac434c1c293ccb04 (32 octets)
            OKM  = 0x8da4e775a563c18f715f802a063c5a31
                   b8a11f5c5ee1879ec3454e5f3c738d2d
                   9d201395faa4b61a96c8 (42 octets)
            """),
    ]

    @Test func matchesRFC5869TestCases1To3() {
        let octets = [(22, 13, 10), (80, 80, 80), (22, 0, 0)]
        for (i, testCase) in Self.testCases.enumerated() {
            let f = fields(testCase.text, names: Self.names)
            #expect(f["Hash"] == "SHA-256")
            let ikm = hex(f["IKM"]!), salt = hex(f["salt"]!), info = hex(f["info"]!)
            let length = Int(f["L"]!)!
            let prk = hex(f["PRK"]!), okm = hex(f["OKM"]!)
            #expect(ikm.count == octets[i].0 && salt.count == octets[i].1 && info.count == octets[i].2
                    && prk.count == 32 && okm.count == length, "transcription of \(testCase.section)")
            #expect(HKDFSHA256.extract(salt: salt, inputKeyMaterial: ikm) == prk, "PRK, RFC 5869 \(testCase.section)")
            #expect(HKDFSHA256.expand(pseudoRandomKey: prk, info: info, outputByteCount: length) == okm,
                    "OKM, RFC 5869 \(testCase.section)")
            #expect(HKDFSHA256.deriveKey(inputKeyMaterial: ikm, salt: salt, info: info, outputByteCount: length) == okm)
        }
    }

    /// Expanding fewer bytes gives a prefix of a longer expansion (T(1) ‖ T(2) ‖ ... is cut, not recomputed).
    @Test func shorterOutputsArePrefixes() {
        let prk = HKDFSHA256.extract(salt: [1, 2, 3], inputKeyMaterial: pattern(32))
        let long = HKDFSHA256.expand(pseudoRandomKey: prk, info: [9], outputByteCount: 100)
        for n in [0, 1, 31, 32, 33, 64, 99] {
            #expect(HKDFSHA256.expand(pseudoRandomKey: prk, info: [9], outputByteCount: n) == Array(long.prefix(n)))
        }
        #expect(HKDFSHA256.expand(pseudoRandomKey: prk, info: [9], outputByteCount: HKDFSHA256.maxOutputByteCount).count
                == 8160)
    }
}
