import Testing
@testable import SwarmCrypto

@Suite struct HMACSHA256Tests {
    static let names: Set<String> = ["Key", "Data", "HMAC-SHA-256"]

    /// RFC 4231 §4.2-§4.8, test cases 1-7, as printed (the HMAC-SHA-224/384/512 lines left out). Test case 5's
    /// output is truncated to 128 bits (§4.6).
    static let testCases: [(section: String, text: String)] = [
        ("4.2 Test Case 1", """
            Key =          0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b
                           0b0b0b0b                          (20 bytes)
            Data =         4869205468657265                  ("Hi There")

            HMAC-SHA-256 = b0344c61d8db38535ca8afceaf0bf12b
                           881dc200c9833da726e9376c2e32cff7
            """),
        ("4.3 Test Case 2", """
            Key =          4a656665                          ("Jefe")
            Data =         7768617420646f2079612077616e7420  ("what do ya want ")
                           666f72206e6f7468696e673f          ("for nothing?")

            HMAC-SHA-256 = 5bdcc146bf60754e6a042426089575c7
                           5a003f089d2739839dec58b964ec3843
            """),
        ("4.4 Test Case 3", """
            Key            aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaa                          (20 bytes)
            Data =         dddddddddddddddddddddddddddddddd
                           dddddddddddddddddddddddddddddddd
                           dddddddddddddddddddddddddddddddd
                           dddd                              (50 bytes)

            HMAC-SHA-256 = 773ea91e36800e46854db8ebd09181a7
                           2959098b3ef8c122d9635514ced565fe
            """),
        ("4.5 Test Case 4", """
            Key =          0102030405060708090a0b0c0d0e0f10
                           111213141516171819                (25 bytes)
            Data =         cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
                           cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
                           cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd
                           cdcd                              (50 bytes)

            HMAC-SHA-256 = 82558a389a443c0ea4cc819899f2083a
                           85f0faa3e578f8077a2e3ff46729665b
            """),
        ("4.6 Test Case 5", """
            Key =          0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c
                           0c0c0c0c                          (20 bytes)
            Data =         546573742057697468205472756e6361  ("Test With Trunca")
                           74696f6e                          ("tion")

            HMAC-SHA-256 = a3b6167473100ee06e0c796c2955552b
            """),
        ("4.7 Test Case 6", """
            Key =          aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaa                            (131 bytes)
            Data =         54657374205573696e67204c61726765  ("Test Using Large")
                           72205468616e20426c6f636b2d53697a  ("r Than Block-Siz")
                           65204b6579202d2048617368204b6579  ("e Key - Hash Key")
                           204669727374                      (" First")

            HMAC-SHA-256 = 60e431591ee0b67f0d8a26aacbf5b77f
                           8e0bc6213728c5140546040f0ee37f54
            """),
        ("4.8 Test Case 7", """
            Key =          aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
                           aaaaaa                            (131 bytes)
            Data =         54686973206973206120746573742075  ("This is a test u")
                           73696e672061206c6172676572207468  ("sing a larger th")
                           616e20626c6f636b2d73697a65206b65  ("an block-size ke")
                           7920616e642061206c61726765722074  ("y and a larger t")
                           68616e20626c6f636b2d73697a652064  ("han block-size d")
                           6174612e20546865206b6579206e6565  ("ata. The key nee")
                           647320746f2062652068617368656420  ("ds to be hashed ")
                           6265666f7265206265696e6720757365  ("before being use")
                           642062792074686520484d414320616c  ("d by the HMAC al")
                           676f726974686d2e                  ("gorithm.")

            HMAC-SHA-256 = 9b09ffa71b942fcb27635fbcd5b0e944
                           bfdc63644f0713938a7f51535c3a35e2
            """),
    ]

    @Test func matchesRFC4231TestCases1To7() {
        let lengths = [(20, 8), (4, 28), (20, 50), (25, 50), (20, 20), (131, 54), (131, 152)]
        for (i, testCase) in Self.testCases.enumerated() {
            let f = fields(testCase.text, names: Self.names)
            let key = hex(f["Key"]!), data = hex(f["Data"]!), expected = hex(f["HMAC-SHA-256"]!)
            #expect(key.count == lengths[i].0 && data.count == lengths[i].1, "transcription of \(testCase.section)")
            let mac = HMACSHA256.authenticationCode(key: key, message: data)
            #expect(Array(mac.prefix(expected.count)) == expected, "RFC 4231 \(testCase.section)")
        }
    }

    /// A keyed value reused for several messages gives each message's own tag (the precomputed key blocks are not
    /// consumed by a first use).
    @Test func aKeyedValueIsReusable() {
        let keyed = HMACSHA256(key: Array("key".utf8))
        for message in [pattern(0), pattern(10), pattern(100)] {
            var mac = keyed
            mac.update(message)
            #expect(mac.finalize() == HMACSHA256.authenticationCode(key: Array("key".utf8), message: message))
        }
    }

    @Test func constantTimeEqualsComparesWholeArrays() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([0, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2], [1, 2, 3]))
        #expect(ConstantTime.equals([], []))
    }
}
