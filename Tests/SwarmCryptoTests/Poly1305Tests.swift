import Testing
@testable import SwarmCrypto

@Suite struct Poly1305Tests {
    /// RFC 8439 §2.5.2: "Cryptographic Forum Research Group".
    @Test func matchesSection2_5_2() {
        let key = hex("""
            85:d6:be:78:57:55:6d:33:7f:44:52:fe:42:d5:06:a8:01:0
            3:80:8a:fb:0d:b2:fd:4a:bf:f6:af:41:49:f5:1b
            """)
        let message = dump("""
            000  43 72 79 70 74 6f 67 72 61 70 68 69 63 20 46 6f  Cryptographic Fo
            016  72 75 6d 20 52 65 73 65 61 72 63 68 20 47 72 6f  rum Research Gro
            032  75 70                                            up
            """)
        #expect(key.count == 32 && message.count == 34)
        let tag = Poly1305.authenticationCode(key: key, message: message)
        #expect(tag?.bytes == hex("a8:06:1d:c1:30:51:36:c6:c2:2b:8b:af:0c:01:27:a9"))
    }

    /// RFC 8439 Appendix A.3, test vectors #1-#4 (hex dumps): (one-time key, text to MAC, tag).
    static let dumpVectors: [(key: String, text: String, tag: String)] = [
        (ChaCha20Tests.zeroKey, """
            000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            032  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            048  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            """, "000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................"),
        ("""
            000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e  6.....`p...."z.>
            """, RFC8439Texts.ietfContribution,
         #"000  36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e  6.....`p...."z.>"#),
        ("""
            000  36 e5 f6 b5 c5 e0 60 70 f0 ef ca 96 22 7a 86 3e  6.....`p...."z.>
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            """, RFC8439Texts.ietfContribution,
         "000  f3 47 7e 7c d9 54 17 af 89 a6 b8 79 4c 31 0c f0  .G~|.T.....yL1.."),
        (RFC8439Texts.key1c92, RFC8439Texts.jabberwocky,
         "000  45 41 66 9a 7e aa ee 61 e7 08 dc 7c bc c5 eb 62  EAf.~..a...|...b"),
    ]

    @Test func matchesAppendixA_3Vectors1To4() {
        for (i, v) in Self.dumpVectors.enumerated() {
            let tag = Poly1305.authenticationCode(key: dump(v.key), message: dump(v.text))
            #expect(tag?.bytes == dump(v.tag), "RFC 8439 A.3 test vector #\(i + 1)")
        }
    }

    /// RFC 8439 Appendix A.3, test vectors #5-#11 (the edge cases of partial reduction): R, S, data, tag.
    static let edgeVectors: [(name: String, r: String, s: String, data: String, tag: String)] = [
        ("#5: partially reduced final result not fully reduced",
         "02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
         "03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
        ("#6: addition of s overflows modulo 2^128",
         "02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
         "02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
        ("#7: data limb all ones with carry from lower limb",
         "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         """
         FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF
         F0 FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF
         11 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         """,
         "05 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
        ("#8: final result from polynomial part exactly 2^130-5",
         "01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         """
         FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF
         FB FE FE FE FE FE FE FE FE FE FE FE FE FE FE FE
         01 01 01 01 01 01 01 01 01 01 01 01 01 01 01 01
         """,
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
        ("#9: final result from polynomial part exactly 2^130-6",
         "02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         "FD FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF",
         "FA FF FF FF FF FF FF FF FF FF FF FF FF FF FF FF"),
        ("#10: 5*H+L-type reduction produces 131-bit intermediate result",
         "01 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         """
         E3 35 94 D7 50 5E 43 B9 00 00 00 00 00 00 00 00
         33 94 D7 50 5E 43 79 CD 01 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         """,
         "14 00 00 00 00 00 00 00 55 00 00 00 00 00 00 00"),
        ("#11: 5*H+L-type reduction produces 131-bit final result",
         "01 00 00 00 00 00 00 00 04 00 00 00 00 00 00 00",
         "00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
         """
         E3 35 94 D7 50 5E 43 B9 00 00 00 00 00 00 00 00
         33 94 D7 50 5E 43 79 CD 01 00 00 00 00 00 00 00
         00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
         """,
         "13 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00"),
    ]

    @Test func matchesAppendixA_3EdgeCases5To11() {
        for v in Self.edgeVectors {
            let tag = Poly1305.authenticationCode(key: hex(v.r) + hex(v.s), message: hex(v.data))
            #expect(tag?.bytes == hex(v.tag), "RFC 8439 A.3 test vector \(v.name)")
        }
    }

    /// Feeding a message in pieces of any size gives the tag of the whole.
    @Test func incrementalUpdatesEqualOneShot() {
        let key = pattern(32, seed: 3), message = pattern(500)
        let expected = Poly1305.authenticationCode(key: key, message: message)
        for step in [1, 5, 15, 16, 17, 33, 499] {
            var mac = Poly1305(key: key)!
            var i = 0
            while i < message.count {
                mac.update(Array(message[i..<min(i + step, message.count)]))
                i += step
            }
            #expect(mac.finalize() == expected, "step \(step)")
        }
    }

    @Test func tagsCompareWhole() {
        let a = AuthenticationTag(bytes: pattern(16))!
        #expect(a == AuthenticationTag(bytes: pattern(16))!)
        for i in 0..<16 {
            var b = pattern(16)
            b[i] ^= 0x80
            #expect(a != AuthenticationTag(bytes: b)!, "byte \(i)")
        }
        #expect(AuthenticationTag(bytes: pattern(15)) == nil)
        #expect(a.description == hexString(pattern(16)))
    }
}
