import Testing
@testable import WireFormat

@Suite struct ByteCursorTests {
    @Test func integersAreWrittenLittleEndian() {
        var w = ByteWriter()
        w.writeInteger(UInt16(0x0102))
        w.writeInteger(UInt32(0x0304_0506))
        w.writeInteger(UInt64(0x0708_090A_0B0C_0D0E))
        w.writeInteger(Int8(-1))
        #expect(w.bytes == [0x02, 0x01, 0x06, 0x05, 0x04, 0x03, 0x0E, 0x0D, 0x0C, 0x0B, 0x0A, 0x09, 0x08, 0x07, 0xFF])
    }

    @Test func setIntegerBackPatchesInPlace() {
        var w = ByteWriter()
        w.writeInteger(UInt32(0))
        w.writeInteger(UInt8(9))
        w.setInteger(UInt32(0xAABB_CCDD), at: 0)
        #expect(w.bytes == [0xDD, 0xCC, 0xBB, 0xAA, 9])
    }

    @Test func readsReturnNilOnShortInputWithoutMoving() {
        var r = ByteReader([1, 2, 3])
        #expect(r.readInteger(as: UInt32.self) == nil)
        #expect(r.readerIndex == 0)
        #expect(r.readInteger(as: UInt16.self) == 0x0201)
        #expect(r.readBytes(count: 2) == nil)
        #expect(r.readFloats(count: 1) == nil)
        #expect(r.readIntegers(count: Int.max, as: UInt64.self) == nil)  // byte count overflows: still nil
        #expect(r.readBytes(count: -1) == nil)
        #expect(r.readerIndex == 2)
        #expect(r.readInteger(as: UInt8.self) == 3)
        #expect(r.readableBytes == 0)
    }

    @Test func throwingReadsReportWhatWasMissing() {
        var r = ByteReader([1, 2, 3])
        #expect(throws: DecodeError.truncated(needed: 8, available: 3)) { try r.read(UInt64.self) }
        #expect(throws: DecodeError.truncated(needed: 4, available: 3)) { try r.read(byteCount: 4) }
    }

    @Test func aRangedReaderStopsAtItsEnd() throws {
        var r = try ByteReader([1, 2, 3, 4, 5], range: 1..<3)
        #expect(r.readInteger(as: UInt16.self) == 0x0302)
        #expect(r.readInteger(as: UInt8.self) == nil)
    }

    /// A range outside the buffer is an error, not a trap (and never a reader that could load past the array).
    @Test func aRangeOutsideTheBufferIsRejected() {
        #expect(throws: DecodeError.truncated(needed: 6, available: 5)) { try ByteReader([1, 2, 3, 4, 5], range: 2..<6) }
        #expect(throws: DecodeError.self) { try ByteReader([1, 2, 3], range: -1..<2) }
        #expect((try? ByteReader([1, 2, 3], range: 3..<3))?.readableBytes == 0)
    }

    @Test func floatAndIntegerArraysRoundTripBitExactly() {
        let floats: [Float] = [1, -2.5, 0, -0.0, .leastNonzeroMagnitude, .greatestFiniteMagnitude, .nan, -.infinity]
        let ints: [UInt32] = [0, 1, 0xDEAD_BEEF, .max]
        var w = ByteWriter()
        w.writeInteger(UInt8(7))  // misalign what follows
        w.writeFloats(floats)
        w.writeIntegers(ints)
        #expect(Array(w.bytes[1..<5]) == [0x00, 0x00, 0x80, 0x3F])  // 1.0f = 0x3F800000, little-endian
        var r = ByteReader(w.bytes)
        _ = r.readInteger(as: UInt8.self)
        let back = r.readFloats(count: floats.count)
        #expect(back?.map(\.bitPattern) == floats.map(\.bitPattern))
        #expect(r.readIntegers(count: ints.count, as: UInt32.self) == ints)
        #expect(r.readableBytes == 0)
    }
}
