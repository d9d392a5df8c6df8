/// Reassembles frames from a TCP byte stream.
///
/// Feed it chunks as `read` returns them (`append`), then take frames with `nextFrame()` until it returns nil.
/// A frame may arrive over many chunks and a chunk may hold several frames. The magic is checked byte by byte as
/// it arrives, the rest of the header as soon as its 32 bytes are in (version, type, flags, swarm, and the
/// payload length against the channel's frame limit), so an oversized or foreign frame is rejected before its
/// body is buffered. Memory stays bounded by one maximal frame plus one chunk, provided the caller drains
/// `nextFrame()` after every `append`: room for a frame is reserved only once its header has passed those checks
/// (so at most `limits.maxStreamFrameBytes`; untouched pages of a large reservation are not even resident on
/// Linux).
///
/// The first error poisons the accumulator: the stream's framing is lost, every later `nextFrame()` rethrows
/// the same error, and the caller should count the reason and close the connection. Returned frames still go
/// through `WireCodec.decode` (checksum and payload checks happen there).
public struct FrameAccumulator: Sendable {
    public let limits: WireLimits
    public let expectedSwarmID: UInt32?
    private var buffer: [UInt8] = []
    /// Start of the first unconsumed byte in `buffer`.
    private var start = 0
    private var failure: DecodeError?

    public init(limits: WireLimits = .default, expectedSwarmID: UInt32? = nil) {
        self.limits = limits
        self.expectedSwarmID = expectedSwarmID
    }

    /// Bytes received but not yet returned as frames.
    public var bufferedByteCount: Int { buffer.count - start }

    /// The error that poisoned this stream, if any.
    public var error: DecodeError? { failure }

    /// Adds the next chunk read from the stream (ignored once the stream is poisoned).
    public mutating func append(_ chunk: [UInt8]) {
        guard failure == nil else { return }
        if buffer.isEmpty {
            buffer = chunk  // shares the chunk's storage: no copy until more bytes are appended
        } else {
            compact()
            buffer.append(contentsOf: chunk)
        }
    }

    /// Adds the next chunk read from the stream, from foreign memory.
    public mutating func append(_ chunk: UnsafeRawBufferPointer) {
        guard failure == nil else { return }
        compact()
        buffer.append(contentsOf: chunk)
    }

    /// The next complete frame, nil if more bytes are needed, or the error that makes this stream unusable.
    ///
    /// Copies: once a frame's length is known and it is still incomplete, the buffer is compacted to start with
    /// the frame and its capacity reserved for the whole frame, so the rest of its chunks are appended without
    /// regrowing (each byte is copied in once). A complete frame that fills the buffer is handed out as the
    /// buffer itself; if other bytes follow it, whichever is smaller (the frame, or the bytes after it) is
    /// copied.
    public mutating func nextFrame() throws(DecodeError) -> [UInt8]? {
        if let failure { throw failure }
        do {
            guard let total = try frameLengthAtStart() else { return nil }
            guard bufferedByteCount >= total else {
                if start > 0 { buffer.removeSubrange(0..<start); start = 0 }
                if buffer.capacity < total { buffer.reserveCapacity(total) }
                return nil
            }
            let end = start + total
            let rest = buffer.count - end
            if start == 0 && rest < total {
                // Hand out the buffer itself; keep only the (smaller) bytes after the frame.
                var frame: [UInt8] = []
                swap(&frame, &buffer)
                if rest > 0 {
                    buffer = Array(frame[end...])
                    frame.removeSubrange(end...)
                }
                return frame
            }
            let frame = Array(buffer[start..<end])
            start = end
            if start == buffer.count { buffer.removeAll(keepingCapacity: true); start = 0 }
            return frame
        } catch {
            failure = error
            buffer = []
            start = 0
            throw error
        }
    }

    /// Length of the frame at `start`, once its header (and tag length, if flagged) has arrived.
    private func frameLengthAtStart() throws(DecodeError) -> Int? {
        guard bufferedByteCount >= FrameHeader.byteCount else {
            // Fail fast on a stream that is not GossipRec at all (e.g. an HTTP probe) without waiting for 32 bytes.
            for k in 0..<min(bufferedByteCount, FrameHeader.magic.count) where buffer[start + k] != FrameHeader.magic[k] {
                throw .badMagic
            }
            return nil
        }
        let header = try FrameHeader.parse(buffer, at: start, limits: limits)
        if let expectedSwarmID, header.swarmID != expectedSwarmID {
            throw .wrongSwarm(expected: expectedSwarmID, found: header.swarmID)
        }
        return try WireCodec.frameByteCountIfKnown(header, in: buffer, at: start, limits: limits)
    }

    /// Drops consumed bytes once they are the larger part of the buffer (amortized O(1) per byte).
    private mutating func compact() {
        if start > 0 && start >= buffer.count / 2 {
            buffer.removeSubrange(0..<start)
            start = 0
        }
    }
}
