import GossipProtocol
import RecommenderModel
import Testing
@testable import WireFormat
import WireFuzz

@Suite struct FrameAccumulatorTests {
    /// A stream of frames of every type, cut at random points (1-byte chunks, frame-spanning chunks, chunks
    /// holding several frames), comes out as the same frames in order.
    @Test func randomChunkSplitsYieldTheSameFrames() throws {
        var rng = SplitMix64(seed: 0xACC)
        for trial in 0..<40 {
            let frames = try (0..<rng.int(1...12)).map { _ in try WireCodec.encode(rng.envelope(.small)) }
            let stream = frames.flatMap { $0 }
            var acc = FrameAccumulator()
            var out: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let n = min(stream.count - i, trial % 4 == 0 ? 1 : rng.int(1...150))
                acc.append(Array(stream[i..<i + n]))
                i += n
                while let f = try acc.nextFrame() { out.append(f) }
            }
            #expect(out == frames, "trial \(trial)")
            #expect(acc.bufferedByteCount == 0)
            for f in out { _ = try WireCodec.decode(f) }
        }
    }

    @Test func acceptsChunksFromRawMemory() throws {
        let frame = GoldenFrameTests.pingFrame
        var acc = FrameAccumulator()
        frame.withUnsafeBytes { acc.append(UnsafeRawBufferPointer(rebasing: $0[..<40])) }
        #expect(try acc.nextFrame() == nil)
        frame.withUnsafeBytes { acc.append(UnsafeRawBufferPointer(rebasing: $0[40...])) }
        #expect(try acc.nextFrame() == frame)
    }

    @Test func anOversizedLengthIsRejectedAsSoonAsTheHeaderIsIn() throws {
        var frame = GoldenFrameTests.modelFrame
        frame.replaceSubrange(28..<32, with: le(UInt32(100 << 20)))  // claims a 100 MiB payload
        var acc = FrameAccumulator()
        acc.append(Array(frame[..<39]))
        #expect(try acc.nextFrame() == nil)  // header incomplete: wait
        acc.append([frame[39]])
        #expect(throws: DecodeError.lengthExceedsLimit(field: "frame_length", length: 40 + (100 << 20) + 4,
                                                        limit: 4 << 20)) { try acc.nextFrame() }
        #expect(acc.bufferedByteCount == 0)
        // Poisoned: more bytes are ignored, the same error comes back.
        acc.append(GoldenFrameTests.nackFrame)
        #expect(acc.bufferedByteCount == 0)
        #expect(throws: DecodeError.self) { try acc.nextFrame() }
        #expect(acc.error?.reason == "length_exceeds_limit")
    }

    @Test func foreignSwarmsAndGarbageAreRejectedAtTheHeader() throws {
        var acc = FrameAccumulator(expectedSwarmID: 8)
        acc.append(Array(GoldenFrameTests.modelFrame[..<40]))
        #expect(throws: DecodeError.wrongSwarm(expected: 8, found: 7)) { try acc.nextFrame() }

        var junk = FrameAccumulator()
        junk.append(GoldenFrameTests.nackFrame + Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        #expect(try junk.nextFrame() == GoldenFrameTests.nackFrame)
        #expect(throws: DecodeError.badMagic) { try junk.nextFrame() }
    }

    /// Draining after every chunk keeps the buffer within one frame plus one chunk.
    @Test func memoryStaysBoundedWhileDraining() throws {
        var rng = SplitMix64(seed: 77)
        let big = try WireCodec.encode(rng.envelope(Shape(maxUpdates: 0, maxEntries: 0, maxRows: 300, maxDimension: 32), type: .modelReply))
        let stream = (0..<20).flatMap { _ in big }
        var acc = FrameAccumulator()
        var count = 0, maxBuffered = 0
        var i = 0
        while i < stream.count {
            let n = min(stream.count - i, rng.int(1...4_096))
            acc.append(Array(stream[i..<i + n]))
            i += n
            maxBuffered = max(maxBuffered, acc.bufferedByteCount)
            while try acc.nextFrame() != nil { count += 1 }
        }
        #expect(count == 20)
        #expect(maxBuffered < big.count + 4_096)
    }
}

extension FrameAccumulatorTests {
    @Test func aForeignProtocolIsRejectedBeforeAWholeHeaderArrives() throws {
        var acc = FrameAccumulator()
        acc.append(Array(FrameHeader.magic[..<3]))
        #expect(try acc.nextFrame() == nil)
        var other = FrameAccumulator()
        other.append([0x47, 0x45])  // "GE" of "GET"
        #expect(throws: DecodeError.badMagic) { try other.nextFrame() }
    }
}

extension FrameAccumulatorTests {
    /// Large and small frames mixed, in chunks from 1 byte to two frames long, through both `append`s: every
    /// hand-out path (the buffer itself, with or without bytes after it; a copy of a frame followed by more
    /// bytes) yields the same frames, and each decodes.
    @Test func mixedSizeFramesComeOutIntactWhateverTheChunking() throws {
        var rng = SplitMix64(seed: 0xB16)
        let bigShape = Shape(maxUpdates: 0, maxEntries: 0, maxRows: 200, maxDimension: 16)
        for trial in 0..<12 {
            let frames = try (0..<rng.int(2...8)).map { _ in
                try WireCodec.encode(rng.bool() ? rng.envelope(bigShape, type: .modelPush) : rng.envelope(.small))
            }
            let stream = frames.flatMap { $0 }
            var acc = FrameAccumulator()
            var out: [[UInt8]] = []
            var i = 0
            while i < stream.count {
                let n = min(stream.count - i, rng.int(1...2 * (frames.map(\.count).max() ?? 1)))
                if trial % 2 == 0 {
                    acc.append(Array(stream[i..<i + n]))
                } else {
                    stream.withUnsafeBytes { acc.append(UnsafeRawBufferPointer(rebasing: $0[i..<i + n])) }
                }
                i += n
                while let f = try acc.nextFrame() { out.append(f) }
            }
            #expect(out == frames, "trial \(trial)")
            #expect(acc.bufferedByteCount == 0)
            for f in out { _ = try WireCodec.decode(f) }
        }
    }
}
