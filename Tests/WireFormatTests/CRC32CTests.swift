import RecommenderModel
import Testing
@testable import WireFormat

/// Bit-at-a-time CRC-32C, straight from the definition: the reference the sliced tables must agree with.
func referenceCRC32C(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
        crc ^= UInt32(b)
        for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    }
    return ~crc
}

@Suite struct CRC32CTests {
    @Test func matchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum([]) == 0)
    }

    /// RFC 3720 (iSCSI), appendix B.4, CRC-32C examples over 32-byte buffers.
    @Test func matchesTheRFC3720Vectors() {
        #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
        #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
        #expect(CRC32C.checksum((0..<32).map { UInt8($0) }) == 0x46DD_794E)
        #expect(CRC32C.checksum((0..<32).reversed().map { UInt8($0) }) == 0x113F_DB5C)
    }

    @Test func slicingAgreesWithTheBitwiseDefinitionAtEveryLengthAndOffset() {
        var rng = SplitMix64(seed: 0xC3C)
        let data = (0..<300).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for start in 0..<9 {
            for end in stride(from: start, through: data.count, by: 7) {
                let slice = Array(data[start..<end])
                #expect(CRC32C.checksum(data, range: start..<end) == referenceCRC32C(slice))
            }
        }
    }

    @Test func continuingOverPiecesEqualsTheWhole() {
        var rng = SplitMix64(seed: 17)
        let data = (0..<1_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for _ in 0..<50 {
            let cut = rng.next(below: data.count + 1)
            let first = CRC32C.checksum(Array(data[..<cut]))
            #expect(CRC32C.checksum(Array(data[cut...]), continuing: first) == CRC32C.checksum(data))
        }
    }

    @Test func detectsEverySingleBitFlip() {
        var rng = SplitMix64(seed: 5)
        let data = (0..<64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let good = CRC32C.checksum(data)
        for bit in 0..<(data.count * 8) {
            var d = data
            d[bit / 8] ^= 1 << UInt8(bit % 8)
            #expect(CRC32C.checksum(d) != good)
        }
    }
}
