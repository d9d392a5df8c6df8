// A read cursor and a write cursor over byte arrays, in the style of swift-nio's `ByteBuffer`
// (`readInteger(endianness:as:)`, `writeInteger`): explicit byte order, and reads that return nil on short
// input without moving the cursor. GossipRec's wire order is little-endian throughout, so the byte order is
// fixed rather than a parameter; on little-endian hosts (x86-64, arm64) arrays of floats and integers are
// bulk-copied with one memcpy, on big-endian hosts they are byte-swapped element by element.

/// Appends little-endian values to a growing byte array.
public struct ByteWriter: Sendable {
    /// Everything written so far.
    public private(set) var bytes: [UInt8]

    public init(reservingCapacity capacity: Int = 0) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    /// Index at which the next write lands (= bytes written).
    public var writerIndex: Int { bytes.count }

    /// Appends `value` little-endian (`MemoryLayout<T>.size` bytes).
    public mutating func writeInteger<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Overwrites `MemoryLayout<T>.size` already-written bytes at `index` with `value`, little-endian
    /// (for back-patching a length once the body is written).
    public mutating func setInteger<T: FixedWidthInteger>(_ value: T, at index: Int) {
        precondition(index >= 0 && index + MemoryLayout<T>.size <= bytes.count, "setInteger outside written bytes")
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: index, as: T.self) }
    }

    /// The written bytes, mutable in place (sealing encrypts the payload where it was written).
    public mutating func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) -> R) -> R {
        bytes.withUnsafeMutableBytes(body)
    }

    /// Appends raw bytes as they are.
    public mutating func writeBytes(_ raw: [UInt8]) {
        bytes.append(contentsOf: raw)
    }

    /// Appends `value` as unsigned LEB128: 7 bits per byte, low bits first, the high bit set on every byte but the
    /// last; the shortest such encoding (1 to 5 bytes), which is the only one `ByteReader.readVarUInt32` accepts.
    public mutating func writeVarUInt32(_ value: UInt32) {
        var v = value
        while v >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        bytes.append(UInt8(v))
    }

    /// Appends `count` bytes that `fill` writes (they start zeroed).
    public mutating func writeRaw(count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: count))
        bytes.withUnsafeMutableBytes { fill(UnsafeMutableRawBufferPointer(rebasing: $0[start..<start + count])) }
    }

    /// Appends each float's IEEE-754 bit pattern little-endian: one bulk copy on little-endian hosts.
    public mutating func writeFloats(_ values: [Float]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { writeInteger(v.bitPattern) }
        #endif
    }

    /// Appends each integer little-endian: one bulk copy on little-endian hosts.
    public mutating func writeIntegers<T: FixedWidthInteger>(_ values: [T]) {
        #if _endian(little)
        values.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        for v in values { writeInteger(v) }
        #endif
    }
}

/// Reads little-endian values from a byte array, front to back, within `readerIndex..<endIndex`.
///
/// The non-throwing reads return nil on short input and leave the cursor where it was; the `throws`
/// variants turn that into `DecodeError.truncated`. Counts are checked against the readable bytes before
/// any array is allocated.
///
/// Memory safety rests on one invariant, `0 <= readerIndex <= endIndex <= bytes.count`: the initializers
/// establish it with a guard (never an assertion, so it holds in every build configuration), and every read
/// advances `readerIndex` only by a count it has just checked against `readableBytes`. The raw-pointer loads
/// below (whose own bounds checks are debug-only) therefore never leave the array.
public struct ByteReader: Sendable {
    /// The underlying bytes (shared copy-on-write, never copied by the reader).
    public let bytes: [UInt8]
    /// Next byte to read.
    public private(set) var readerIndex: Int
    /// One past the last byte this reader may read.
    public let endIndex: Int

    /// A reader over all of `bytes`.
    public init(_ bytes: [UInt8]) {
        self.bytes = bytes; readerIndex = 0; endIndex = bytes.count
    }

    /// A reader over `bytes[range]` only. Throws `DecodeError.truncated` if `range` ends past the buffer (and
    /// `.invalid` if it starts before it).
    public init(_ bytes: [UInt8], range: Range<Int>) throws(DecodeError) {
        guard range.lowerBound >= 0 else { throw .invalid("reader range \(range) starts before the buffer") }
        guard range.upperBound <= bytes.count else {
            throw .truncated(needed: range.upperBound, available: bytes.count)
        }
        self.bytes = bytes; readerIndex = range.lowerBound; endIndex = range.upperBound
    }

    /// Bytes left to read.
    public var readableBytes: Int { endIndex - readerIndex }

    /// Reads a little-endian integer, or returns nil (cursor unmoved) if fewer than its size remain.
    public mutating func readInteger<T: FixedWidthInteger>(as type: T.Type = T.self) -> T? {
        let size = MemoryLayout<T>.size
        guard readableBytes >= size else { return nil }
        let i = readerIndex
        let v = bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: i, as: T.self)) }
        readerIndex = i + size
        return v
    }

    /// Reads `count` raw bytes, or nil if fewer remain (or `count` is negative).
    public mutating func readBytes(count: Int) -> [UInt8]? {
        guard count >= 0, readableBytes >= count else { return nil }
        let out = Array(bytes[readerIndex..<readerIndex + count])
        readerIndex += count
        return out
    }

    /// Skips `count` bytes, or returns false (cursor unmoved) if fewer remain.
    public mutating func skip(_ count: Int) -> Bool {
        guard count >= 0, readableBytes >= count else { return false }
        readerIndex += count
        return true
    }

    /// Reads `count` little-endian floats in one bulk copy (little-endian hosts), or nil if the bytes are not
    /// there. Values are returned as found, NaN included: finiteness is the codec's check.
    public mutating func readFloats(count: Int) -> [Float]? {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        guard count >= 0, !overflow, readableBytes >= byteCount else { return nil }
        let start = readerIndex
        let out = bytes.withUnsafeBytes { src in
            [Float](unsafeUninitializedCapacity: count) { buf, n in
                let from = UnsafeRawBufferPointer(rebasing: src[start..<start + byteCount])
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: from)
                #else
                for k in 0..<count {
                    buf[k] = Float(bitPattern: UInt32(littleEndian: from.loadUnaligned(fromByteOffset: 4 * k, as: UInt32.self)))
                }
                #endif
                n = count
            }
        }
        readerIndex = start + byteCount
        return out
    }

    /// Reads `count` little-endian integers in one bulk copy (little-endian hosts), or nil if the bytes are not
    /// there. The byte count is checked (overflow included) before the array is allocated.
    public mutating func readIntegers<T: FixedWidthInteger>(count: Int, as type: T.Type = T.self) -> [T]? {
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: MemoryLayout<T>.size)
        guard count >= 0, !overflow, readableBytes >= byteCount else { return nil }
        let start = readerIndex
        let out = bytes.withUnsafeBytes { src in
            [T](unsafeUninitializedCapacity: count) { buf, n in
                let from = UnsafeRawBufferPointer(rebasing: src[start..<start + byteCount])
                #if _endian(little)
                UnsafeMutableRawBufferPointer(buf).copyMemory(from: from)
                #else
                for k in 0..<count {
                    buf[k] = T(littleEndian: from.loadUnaligned(fromByteOffset: k * MemoryLayout<T>.size, as: T.self))
                }
                #endif
                n = count
            }
        }
        readerIndex = start + byteCount
        return out
    }

    // MARK: Throwing variants

    /// `readInteger`, or `DecodeError.truncated`.
    public mutating func read<T: FixedWidthInteger>(_ type: T.Type = T.self) throws(DecodeError) -> T {
        guard let v = readInteger(as: T.self) else {
            throw .truncated(needed: MemoryLayout<T>.size, available: readableBytes)
        }
        return v
    }

    /// Reads an unsigned LEB128 integer of at most 32 bits written by `ByteWriter.writeVarUInt32`. Overlong encodings
    /// (a trailing zero group, or a sixth byte) and values over UInt32.max are rejected as `.invalid` (naming
    /// `field`), so every value has one encoding.
    public mutating func readVarUInt32(field: String) throws(DecodeError) -> UInt32 {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        let start = readerIndex
        while true {
            guard readerIndex < endIndex else { readerIndex = start; throw .truncated(needed: 1, available: 0) }
            let b = bytes[readerIndex]
            readerIndex += 1
            value |= UInt64(b & 0x7F) << shift
            if b & 0x80 == 0 {
                if b == 0 && shift > 0 { throw .invalid("\(field) has an overlong varint") }
                guard value <= UInt64(UInt32.max) else { throw .invalid("\(field) = \(value) is over 2^32 - 1") }
                return UInt32(value)
            }
            shift += 7
            guard shift < 35 else { throw .invalid("\(field) has a varint longer than 5 bytes") }
        }
    }

    /// Hands the next `count` bytes to `body` and moves past them, or throws `DecodeError.truncated`.
    public mutating func readRaw<R>(count: Int, _ body: (UnsafeRawBufferPointer) throws(DecodeError) -> R) throws(DecodeError) -> R {
        guard count >= 0, readableBytes >= count else { throw .truncated(needed: count, available: readableBytes) }
        let start = readerIndex
        readerIndex += count
        // `withUnsafeBytes` rethrows untyped errors: carry the typed one out in a Result.
        let result: Result<R, DecodeError> = bytes.withUnsafeBytes { all in
            do throws(DecodeError) { return .success(try body(UnsafeRawBufferPointer(rebasing: all[start..<start + count]))) }
            catch { return .failure(error) }
        }
        return try result.get()
    }

    /// `readBytes`, or `DecodeError.truncated`.
    public mutating func read(byteCount count: Int) throws(DecodeError) -> [UInt8] {
        guard let v = readBytes(count: count) else { throw .truncated(needed: count, available: readableBytes) }
        return v
    }

    /// Throws `DecodeError.truncated` unless `count` more bytes are readable (to check a whole
    /// variable-length section before allocating for it).
    public func require(_ count: Int) throws(DecodeError) {
        guard readableBytes >= count else { throw .truncated(needed: count, available: readableBytes) }
    }
}
