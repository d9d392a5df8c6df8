import RecommenderModel
import Testing
@testable import WireFormat

@Suite struct XXH32Tests {
    /// Published check values: the empty input (xxHash specification and reference tests), "a" and "abc"
    /// (reference `xxhsum`), and the example string of python-xxhash's README.
    @Test func matchesThePublishedCheckValues() {
        #expect(XXH32.hash([UInt8]()) == 0x02CC_5D05)
        #expect(XXH32.hash(Array("a".utf8)) == 0x550D_7456)
        #expect(XXH32.hash(Array("abc".utf8)) == 0x32D1_53FF)
        #expect(XXH32.hash(Array("Nobody inspects the spammish repetition".utf8)) == 0xE229_3B2F)
    }

    /// `data[i] = (31 i + 7) mod 256`: the expected values were computed outside this code base, with the reference
    /// C library through python-xxhash 3.x (`xxhash.xxh32(data[:n], seed=s).intdigest()`). Lengths cover every
    /// short-input path (< 16 bytes, 4-byte and 1-byte tails) and stripe boundaries.
    static let vectors: [(length: Int, seed0: UInt32, seedGolden: UInt32)] = [
        (0, 0x02CC_5D05, 0x36B7_8AE7),
        (1, 0x002E_0D32, 0xD40F_E509),
        (2, 0xCEB7_7C10, 0xC0EB_64C4),
        (3, 0xACA1_7380, 0xED89_36D0),
        (4, 0x073F_AA82, 0x893F_71B0),
        (5, 0x16AC_9537, 0x2EF1_AB2C),
        (6, 0x28E6_B74B, 0x9814_3572),
        (7, 0xA9A7_EEBF, 0x1ED7_83D3),
        (8, 0xB989_3C6C, 0x9B08_8FFC),
        (9, 0xEF68_2A43, 0x19BD_78F4),
        (10, 0xDF64_8E86, 0x5077_4D16),
        (11, 0xB798_82EE, 0x3AD9_1CCD),
        (12, 0x9A1B_075B, 0xAB09_F1C4),
        (13, 0x8498_1CCA, 0x3BBF_62C9),
        (14, 0xF0A5_19A1, 0x3DC8_693A),
        (15, 0x9F29_F87B, 0x22DC_4620),
        (16, 0x3F6C_9665, 0x1739_3D4A),
        (17, 0xE048_ECDB, 0x5981_B004),
        (18, 0xE735_AA1B, 0xF347_9599),
        (19, 0x342F_1B7A, 0x120E_6763),
        (20, 0xCD1D_4CF6, 0x2EEF_8985),
        (21, 0xDCB4_DB13, 0xFE14_6975),
        (22, 0x4A95_9FA8, 0x709C_4273),
        (23, 0x0E23_6D9C, 0x3737_915D),
        (24, 0x40E1_BF6C, 0x3A8B_D2DF),
        (25, 0x2CD4_8E6F, 0x30CD_7425),
        (26, 0x9AB2_FA79, 0x6D7E_9177),
        (27, 0xD658_B557, 0x078A_1996),
        (28, 0x932E_E011, 0x03AB_1940),
        (29, 0x0DA6_BA78, 0xB356_87F2),
        (30, 0x70F7_A448, 0xF5DD_04E8),
        (31, 0x00F1_525C, 0x2B78_ECD4),
        (32, 0xEE42_E668, 0xC01E_797E),
        (33, 0x770B_5126, 0x1E57_DD16),
        (47, 0x9B8B_41AE, 0xF6EF_BD34),
        (48, 0xCDDA_F19F, 0x9CFE_A000),
        (49, 0x9FF7_EB17, 0x3C89_68B0),
        (63, 0x4719_25BB, 0x33BA_A8D9),
        (64, 0xF2A7_97FA, 0x589B_1F20),
        (65, 0x832B_0571, 0x5AE1_6657),
        (100, 0x7593_6EB8, 0x81D3_73F5),
        (1000, 0xA793_E7C7, 0xDC51_0912),
    ]

    @Test func matchesTheReferenceLibraryAtEveryPathAndSeed() {
        let data = (0..<1_000).map { UInt8(truncatingIfNeeded: 31 &* $0 &+ 7) }
        for v in Self.vectors {
            #expect(XXH32.hash(Array(data[..<v.length])) == v.seed0, "length \(v.length), seed 0")
            #expect(XXH32.hash(Array(data[..<v.length]), seed: 0x9E37_79B1) == v.seedGolden, "length \(v.length)")
        }
    }

    /// A model-frame-sized input (228,815 bytes, `data[i] = i mod 256`), against python-xxhash.
    @Test func matchesTheReferenceLibraryOnAModelSizedBuffer() {
        let data = (0..<228_815).map { UInt8(truncatingIfNeeded: $0) }
        #expect(XXH32.hash(data) == 0x5760_73FE)
    }

    @Test func aRangeHashesLikeACopyOfIt() {
        var rng = SplitMix64(seed: 0xC3C)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                #expect(XXH32.hash(data, range: start..<end) == XXH32.hash(Array(data[start..<end])))
            }
        }
        #expect(XXH32.hash(data, range: 290..<301) == nil)
        #expect(XXH32.hash(data, range: -1..<3) == nil)
    }

    /// Guaranteed, not just likely (see `XXH32`): every step is a bijection of the state for a fixed input word,
    /// so a change inside one aligned 4-byte word always changes the hash. Checked for every single-bit flip of
    /// a frame-sized-ish buffer (all three input paths: stripes, 4-byte tail, byte tail) and for random
    /// whole-word replacements.
    @Test func detectsEverySingleBitFlipAndEveryOneWordChange() {
        var rng = SplitMix64(seed: 5)
        let data = (0..<71).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let good = XXH32.hash(data)
        for bit in 0..<(data.count * 8) {
            var d = data
            d[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(XXH32.hash(d) != good, "bit \(bit)")
        }
        for _ in 0..<2_000 {
            var d = data
            let word = rng.next(below: data.count / 4) * 4
            let delta = UInt32(truncatingIfNeeded: rng.next()) | 1  // never zero
            for k in 0..<4 { d[word + k] ^= UInt8(truncatingIfNeeded: delta >> (8 * k)) }
            #expect(XXH32.hash(d) != good, "word at \(word)")
        }
    }
}
