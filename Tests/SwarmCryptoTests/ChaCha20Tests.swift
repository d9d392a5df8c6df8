import Testing
@testable import SwarmCrypto

@Suite struct ChaCha20Tests {
    /// RFC 8439 §2.3.2: the block function, key 00..1f, nonce 00:00:00:09:00:00:00:4a:00:00:00:00, block count 1.
    @Test func blockFunctionMatchesSection2_3_2() {
        let key = SymmetricKey(bytes: hex("""
            00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:
            14:15:16:17:18:19:1a:1b:1c:1d:1e:1f
            """))!
        let nonce = Nonce(bytes: hex("00:00:00:09:00:00:00:4a:00:00:00:00"))!
        let serialized = dump("""
            000  10 f1 e7 e4 d1 3b 59 15 50 0f dd 1f a3 20 71 c4  .....;Y.P.... q.
            016  c7 d1 f4 c7 33 c0 68 03 04 22 aa 9a c3 d4 6c 4e  ....3.h.."....lN
            032  d2 82 64 46 07 9f aa 09 14 c2 d7 05 d9 8b 02 a2  ..dF............
            048  b5 12 9c d1 de 16 4e b9 cb d0 83 e8 a2 50 3c 4e  ......N......P<N
            """)
        #expect(serialized.count == 64)
        #expect(ChaCha20(key: key, nonce: nonce).block(counter: 1) == serialized)
    }

    /// RFC 8439 §2.4.2: encryption of the "sunscreen" text, initial counter 1.
    @Test func encryptionMatchesSection2_4_2() {
        let key = SymmetricKey(bytes: hex("""
            00:01:02:03:04:05:06:07:08:09:0a:0b:0c:0d:0e:0f:10:11:12:13:
            14:15:16:17:18:19:1a:1b:1c:1d:1e:1f
            """))!
        let nonce = Nonce(bytes: hex("00:00:00:00:00:00:00:4a:00:00:00:00"))!
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
        let keystream = hex("""
            22:4f:51:f3:40:1b:d9:e1:2f:de:27:6f:b8:63:1d:ed:8c:13:1f:82:3d:2c:06
            e2:7e:4f:ca:ec:9e:f3:cf:78:8a:3b:0a:a3:72:60:0a:92:b5:79:74:cd:ed:2b
            93:34:79:4c:ba:40:c6:3e:34:cd:ea:21:2c:4c:f0:7d:41:b7:69:a6:74:9f:3f
            63:0f:41:22:ca:fe:28:ec:4d:c4:7e:26:d4:34:6d:70:b9:8c:73:f3:e9:c5:3a
            c4:0c:59:45:39:8b:6e:da:1a:83:2c:89:c1:67:ea:cd:90:1d:7e:2b:f3:63
            """)
        let ciphertext = dump("""
            000  6e 2e 35 9a 25 68 f9 80 41 ba 07 28 dd 0d 69 81  n.5.%h..A..(..i.
            016  e9 7e 7a ec 1d 43 60 c2 0a 27 af cc fd 9f ae 0b  .~z..C`..'......
            032  f9 1b 65 c5 52 47 33 ab 8f 59 3d ab cd 62 b3 57  ..e.RG3..Y=..b.W
            048  16 39 d6 24 e6 51 52 ab 8f 53 0c 35 9f 08 61 d8  .9.$.QR..S.5..a.
            064  07 ca 0d bf 50 0d 6a 61 56 a3 8e 08 8a 22 b6 5e  ....P.jaV....".^
            080  52 bc 51 4d 16 cc f8 06 81 8c e9 1a b7 79 37 36  R.QM.........y76
            096  5a f9 0b bf 74 a3 5b e6 b4 0b 8e ed f2 78 5e 42  Z...t.[......x^B
            112  87 4d                                            .M
            """)
        #expect(plaintext.count == 114 && keystream.count == 114 && ciphertext.count == 114)
        let cipher = ChaCha20(key: key, nonce: nonce)
        var zeros = [UInt8](repeating: 0, count: 114)
        cipher.xorKeystream(&zeros, counter: 1)
        #expect(zeros == keystream)
        var text = plaintext
        cipher.xorKeystream(&text, counter: 1)
        #expect(text == ciphertext)
        cipher.xorKeystream(&text, counter: 1)
        #expect(text == plaintext)
    }

    /// RFC 8439 §2.6.2: the Poly1305 key generated from the block for counter 0.
    @Test func poly1305KeyGenerationMatchesSection2_6_2() {
        let key = SymmetricKey(bytes: dump("""
            000  80 81 82 83 84 85 86 87 88 89 8a 8b 8c 8d 8e 8f  ................
            016  90 91 92 93 94 95 96 97 98 99 9a 9b 9c 9d 9e 9f  ................
            """))!
        let nonce = Nonce(bytes: dump("000  00 00 00 00 00 01 02 03 04 05 06 07              ............"))!
        let output = dump("""
            000  8a d5 a0 8b 90 5f 81 cc 81 50 40 27 4a b2 94 71  ....._...P@'J..q
            016  a8 33 b6 37 e3 fd 0d a5 08 db b8 e2 fd d1 a6 46  .3.7...........F
            """)
        #expect(Array(ChaCha20(key: key, nonce: nonce).block(counter: 0).prefix(32)) == output)
    }

    static let zeroKey = """
        000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
        016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
        """
    static let zeroNonce = "000  00 00 00 00 00 00 00 00 00 00 00 00              ............"

    /// RFC 8439 Appendix A.1, test vectors #1-#5 for the block function: (key, nonce, block counter, keystream).
    static let blockVectors: [(key: String, nonce: String, counter: UInt32, keystream: String)] = [
        (zeroKey, zeroNonce, 0, """
            000  76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28  v.....=.@]j.S..(
            016  bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7  .........6...w..
            032  da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37  .AY|QWH.w$.?..J7
            048  6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86  jC.........i..e.
            """),
        (zeroKey, zeroNonce, 1, """
            000  9f 07 e7 be 55 51 38 7a 98 ba 97 7c 73 2d 08 0d  ....UQ8z...|s-..
            016  cb 0f 29 a0 48 e3 65 69 12 c6 53 3e 32 ee 7a ed  ..).H.ei..S>2.z.
            032  29 b7 21 76 9c e6 4e 43 d5 71 33 b0 74 d8 39 d5  ).!v..NC.q3.t.9.
            048  31 ed 1f 28 51 0a fb 45 ac e1 0a 1f 4b 79 4d 6f  1..(Q..E....KyMo
            """),
        ("""
            000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  ................
            """, zeroNonce, 1, """
            000  3a eb 52 24 ec f8 49 92 9b 9d 82 8d b1 ce d4 dd  :.R$..I.........
            016  83 20 25 e8 01 8b 81 60 b8 22 84 f3 c9 49 aa 5a  . %....`."...I.Z
            032  8e ca 00 bb b4 a7 3b da d1 92 b5 c4 2f 73 f2 fd  ......;...../s..
            048  4e 27 36 44 c8 b3 61 25 a6 4a dd eb 00 6c 13 a0  N'6D..a%.J...l..
            """),
        ("""
            000  00 ff 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            """, zeroNonce, 2, """
            000  72 d5 4d fb f1 2e c4 4b 36 26 92 df 94 13 7f 32  r.M....K6&.....2
            016  8f ea 8d a7 39 90 26 5e c1 bb be a1 ae 9a f0 ca  ....9.&^........
            032  13 b2 5a a2 6c b4 a6 48 cb 9b 9d 1b e6 5b 2c 09  ..Z.l..H.....[,.
            048  24 a6 6c 54 d5 45 ec 1b 73 74 f4 87 2e 99 f0 96  $.lT.E..st......
            """),
        (zeroKey, "000  00 00 00 00 00 00 00 00 00 00 00 02              ............", 0, """
            000  c2 c6 4d 37 8c d5 36 37 4a e2 04 b9 ef 93 3f cd  ..M7..67J.....?.
            016  1a 8b 22 88 b3 df a4 96 72 ab 76 5b 54 ee 27 c7  ..".....r.v[T.'.
            032  8a 97 0e 0e 95 5c 14 f3 a8 8e 74 1b 97 c2 86 f7  .....\\....t.....
            048  5f 8f c2 99 e8 14 83 62 fa 19 8a 39 53 1b ed 6d  _......b...9S..m
            """),
    ]

    @Test func blockFunctionMatchesAppendixA_1() {
        for (i, v) in Self.blockVectors.enumerated() {
            let keystream = dump(v.keystream)
            #expect(keystream.count == 64)
            let cipher = ChaCha20(key: SymmetricKey(bytes: dump(v.key))!, nonce: Nonce(bytes: dump(v.nonce))!)
            #expect(cipher.block(counter: v.counter) == keystream, "RFC 8439 A.1 test vector #\(i + 1)")
        }
    }

    /// RFC 8439 Appendix A.2, test vectors #1-#3 for encryption: (key, nonce, initial counter, plaintext, ciphertext).
    static let encryptionVectors: [(key: String, nonce: String, counter: UInt32, plaintext: String, ciphertext: String)] = [
        (zeroKey, zeroNonce, 0, """
            000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            032  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            048  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            """, """
            000  76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28  v.....=.@]j.S..(
            016  bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7  .........6...w..
            032  da 41 59 7c 51 57 48 8d 77 24 e0 3f b8 d8 4a 37  .AY|QWH.w$.?..J7
            048  6a 43 b8 f4 15 18 a1 1c c3 87 b6 69 b2 ee 65 86  jC.........i..e.
            """),
        ("""
            000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
            016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  ................
            """, "000  00 00 00 00 00 00 00 00 00 00 00 02              ............", 1,
         RFC8439Texts.ietfContribution, """
            000  a3 fb f0 7d f3 fa 2f de 4f 37 6c a2 3e 82 73 70  ...}../.O7l.>.sp
            016  41 60 5d 9f 4f 4f 57 bd 8c ff 2c 1d 4b 79 55 ec  A`].OOW...,.KyU.
            032  2a 97 94 8b d3 72 29 15 c8 f3 d3 37 f7 d3 70 05  *....r)....7..p.
            048  0e 9e 96 d6 47 b7 c3 9f 56 e0 31 ca 5e b6 25 0d  ....G...V.1.^.%.
            064  40 42 e0 27 85 ec ec fa 4b 4b b5 e8 ea d0 44 0e  @B.'....KK....D.
            080  20 b6 e8 db 09 d8 81 a7 c6 13 2f 42 0e 52 79 50   ........./B.RyP
            096  42 bd fa 77 73 d8 a9 05 14 47 b3 29 1c e1 41 1c  B..ws....G.)..A.
            112  68 04 65 55 2a a6 c4 05 b7 76 4d 5e 87 be a8 5a  h.eU*....vM^...Z
            128  d0 0f 84 49 ed 8f 72 d0 d6 62 ab 05 26 91 ca 66  ...I..r..b..&..f
            144  42 4b c8 6d 2d f8 0e a4 1f 43 ab f9 37 d3 25 9d  BK.m-....C..7.%.
            160  c4 b2 d0 df b4 8a 6c 91 39 dd d7 f7 69 66 e9 28  ......l.9...if.(
            176  e6 35 55 3b a7 6c 5c 87 9d 7b 35 d4 9e b2 e6 2b  .5U;.l\\..{5....+
            192  08 71 cd ac 63 89 39 e2 5e 8a 1e 0e f9 d5 28 0f  .q..c.9.^.....(.
            208  a8 ca 32 8b 35 1c 3c 76 59 89 cb cf 3d aa 8b 6c  ..2.5.<vY...=..l
            224  cc 3a af 9f 39 79 c9 2b 37 20 fc 88 dc 95 ed 84  .:..9y.+7 ......
            240  a1 be 05 9c 64 99 b9 fd a2 36 e7 e8 18 b0 4b 0b  ....d....6....K.
            256  c3 9c 1e 87 6b 19 3b fe 55 69 75 3f 88 12 8c c0  ....k.;.Uiu?....
            272  8a aa 9b 63 d1 a1 6f 80 ef 25 54 d7 18 9c 41 1f  ...c..o..%T...A.
            288  58 69 ca 52 c5 b8 3f a3 6f f2 16 b9 c1 d3 00 62  Xi.R..?.o......b
            304  be bc fd 2d c5 bc e0 91 19 34 fd a7 9a 86 f6 e6  ...-.....4......
            320  98 ce d7 59 c3 ff 9b 64 77 33 8f 3d a4 f9 cd 85  ...Y...dw3.=....
            336  14 ea 99 82 cc af b3 41 b2 38 4d d9 02 f3 d1 ab  .......A.8M.....
            352  7a c6 1d d2 9c 6f 21 ba 5b 86 2f 37 30 e3 7c fd  z....o!.[./70.|.
            368  c4 fd 80 6c 22 f2 21                             ...l".!
            """),
        (RFC8439Texts.key1c92, "000  00 00 00 00 00 00 00 00 00 00 00 02              ............", 42,
         RFC8439Texts.jabberwocky, """
            000  62 e6 34 7f 95 ed 87 a4 5f fa e7 42 6f 27 a1 df  b.4....._..Bo'..
            016  5f b6 91 10 04 4c 0d 73 11 8e ff a9 5b 01 e5 cf  _....L.s....[...
            032  16 6d 3d f2 d7 21 ca f9 b2 1e 5f b1 4c 61 68 71  .m=..!...._.Lahq
            048  fd 84 c5 4f 9d 65 b2 83 19 6c 7f e4 f6 05 53 eb  ...O.e...l....S.
            064  f3 9c 64 02 c4 22 34 e3 2a 35 6b 3e 76 43 12 a6  ..d.."4.*5k>vC..
            080  1a 55 32 05 57 16 ea d6 96 25 68 f8 7d 3f 3f 77  .U2.W....%h.}??w
            096  04 c6 a8 d1 bc d1 bf 4d 50 d6 15 4b 6d a7 31 b1  .......MP..Km.1.
            112  87 b5 8d fd 72 8a fa 36 75 7a 79 7a c1 88 d1     ....r..6uzyz...
            """),
    ]

    @Test func encryptionMatchesAppendixA_2() {
        let lengths = [64, 375, 127]
        for (i, v) in Self.encryptionVectors.enumerated() {
            let plaintext = dump(v.plaintext), ciphertext = dump(v.ciphertext)
            #expect(plaintext.count == lengths[i] && ciphertext.count == lengths[i], "transcription of A.2 #\(i + 1)")
            let cipher = ChaCha20(key: SymmetricKey(bytes: dump(v.key))!, nonce: Nonce(bytes: dump(v.nonce))!)
            var text = plaintext
            cipher.xorKeystream(&text, counter: v.counter)
            #expect(text == ciphertext, "RFC 8439 A.2 test vector #\(i + 1)")
        }
    }

    /// RFC 8439 Appendix A.4, test vectors #1-#3: the Poly1305 one-time key is the first half of block 0.
    @Test func poly1305KeyGenerationMatchesAppendixA_4() {
        let vectors: [(key: String, nonce: String, otk: String)] = [
            (Self.zeroKey, Self.zeroNonce, """
                000  76 b8 e0 ad a0 f1 3d 90 40 5d 6a e5 53 86 bd 28  v.....=.@]j.S..(
                016  bd d2 19 b8 a0 8d ed 1a a8 36 ef cc 8b 77 0d c7  .........6...w..
                """),
            ("""
                000  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
                016  00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01  ................
                """, "000  00 00 00 00 00 00 00 00 00 00 00 02              ............", """
                000  ec fa 25 4f 84 5f 64 74 73 d3 cb 14 0d a9 e8 76  ..%O._dts......v
                016  06 cb 33 06 6c 44 7b 87 bc 26 66 dd e3 fb b7 39  ..3.lD{..&f....9
                """),
            (RFC8439Texts.key1c92, "000  00 00 00 00 00 00 00 00 00 00 00 02              ............", """
                000  96 5e 3b c6 f9 ec 7e d9 56 08 08 f4 d2 29 f9 4b  .^;...~.V....).K
                016  13 7f f2 75 ca 9b 3f cb dd 59 de aa d2 33 10 ae  ...u..?..Y...3..
                """),
        ]
        for (i, v) in vectors.enumerated() {
            let cipher = ChaCha20(key: SymmetricKey(bytes: dump(v.key))!, nonce: Nonce(bytes: dump(v.nonce))!)
            #expect(Array(cipher.block(counter: 0).prefix(32)) == dump(v.otk), "RFC 8439 A.4 test vector #\(i + 1)")
        }
    }

    /// Encrypting in one call equals encrypting block by block with consecutive counters, for lengths around
    /// block boundaries (the partial last block uses only its first bytes).
    @Test func oneCallEqualsBlockByBlock() {
        let cipher = ChaCha20(key: SymmetricKey(bytes: pattern(32))!, nonce: Nonce(epoch: 3, sequence: 99))
        for length in [0, 1, 63, 64, 65, 127, 128, 129, 1000] {
            var whole = pattern(length, seed: 1)
            cipher.xorKeystream(&whole, counter: 5)
            var expected = pattern(length, seed: 1)
            for b in 0..<(length + 63) / 64 {
                let block = cipher.block(counter: 5 + UInt32(b))
                for i in (64 * b)..<min(64 * b + 64, length) { expected[i] ^= block[i - 64 * b] }
            }
            #expect(whole == expected, "length \(length)")
        }
    }
}

/// Long texts that RFC 8439 uses in several vectors.
enum RFC8439Texts {
    /// The key of Appendix A.2 #3, A.3 #4, A.4 #3 and A.5.
    static let key1c92 = """
        000  1c 92 40 a5 eb 55 d3 8a f3 33 88 86 04 f6 b5 f0  ..@..U...3......
        016  47 39 17 c1 40 2b 80 09 9d ca 5c bc 20 70 75 c0  G9..@+....\\. pu.
        """

    /// The plaintext of Appendix A.2 #2 and the text to MAC of A.3 #2 and #3 (375 bytes).
    static let ietfContribution = """
        000  41 6e 79 20 73 75 62 6d 69 73 73 69 6f 6e 20 74  Any submission t
        016  6f 20 74 68 65 20 49 45 54 46 20 69 6e 74 65 6e  o the IETF inten
        032  64 65 64 20 62 79 20 74 68 65 20 43 6f 6e 74 72  ded by the Contr
        048  69 62 75 74 6f 72 20 66 6f 72 20 70 75 62 6c 69  ibutor for publi
        064  63 61 74 69 6f 6e 20 61 73 20 61 6c 6c 20 6f 72  cation as all or
        080  20 70 61 72 74 20 6f 66 20 61 6e 20 49 45 54 46   part of an IETF
        096  20 49 6e 74 65 72 6e 65 74 2d 44 72 61 66 74 20   Internet-Draft
        112  6f 72 20 52 46 43 20 61 6e 64 20 61 6e 79 20 73  or RFC and any s
        128  74 61 74 65 6d 65 6e 74 20 6d 61 64 65 20 77 69  tatement made wi
        144  74 68 69 6e 20 74 68 65 20 63 6f 6e 74 65 78 74  thin the context
        160  20 6f 66 20 61 6e 20 49 45 54 46 20 61 63 74 69   of an IETF acti
        176  76 69 74 79 20 69 73 20 63 6f 6e 73 69 64 65 72  vity is consider
        192  65 64 20 61 6e 20 22 49 45 54 46 20 43 6f 6e 74  ed an "IETF Cont
        208  72 69 62 75 74 69 6f 6e 22 2e 20 53 75 63 68 20  ribution". Such
        224  73 74 61 74 65 6d 65 6e 74 73 20 69 6e 63 6c 75  statements inclu
        240  64 65 20 6f 72 61 6c 20 73 74 61 74 65 6d 65 6e  de oral statemen
        256  74 73 20 69 6e 20 49 45 54 46 20 73 65 73 73 69  ts in IETF sessi
        272  6f 6e 73 2c 20 61 73 20 77 65 6c 6c 20 61 73 20  ons, as well as
        288  77 72 69 74 74 65 6e 20 61 6e 64 20 65 6c 65 63  written and elec
        304  74 72 6f 6e 69 63 20 63 6f 6d 6d 75 6e 69 63 61  tronic communica
        320  74 69 6f 6e 73 20 6d 61 64 65 20 61 74 20 61 6e  tions made at an
        336  79 20 74 69 6d 65 20 6f 72 20 70 6c 61 63 65 2c  y time or place,
        352  20 77 68 69 63 68 20 61 72 65 20 61 64 64 72 65   which are addre
        368  73 73 65 64 20 74 6f                             ssed to
        """

    /// The plaintext of Appendix A.2 #3 and the text to MAC of A.3 #4 (127 bytes).
    static let jabberwocky = """
        000  27 54 77 61 73 20 62 72 69 6c 6c 69 67 2c 20 61  'Twas brillig, a
        016  6e 64 20 74 68 65 20 73 6c 69 74 68 79 20 74 6f  nd the slithy to
        032  76 65 73 0a 44 69 64 20 67 79 72 65 20 61 6e 64  ves.Did gyre and
        048  20 67 69 6d 62 6c 65 20 69 6e 20 74 68 65 20 77   gimble in the w
        064  61 62 65 3a 0a 41 6c 6c 20 6d 69 6d 73 79 20 77  abe:.All mimsy w
        080  65 72 65 20 74 68 65 20 62 6f 72 6f 67 6f 76 65  ere the borogove
        096  73 2c 0a 41 6e 64 20 74 68 65 20 6d 6f 6d 65 20  s,.And the mome
        112  72 61 74 68 73 20 6f 75 74 67 72 61 62 65 2e     raths outgrabe.
        """
}
