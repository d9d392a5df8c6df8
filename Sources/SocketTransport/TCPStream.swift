import Dispatch

/// A TCP connection driven by an `EventLoop`: inbound bytes go to a handler as they arrive, outbound
/// bytes wait in a BOUNDED queue and are written as the socket becomes writable (partial writes
/// resume where they stopped), and two deadlines guarantee that no remote can hold it open forever:
///
///  - idle: no byte read or written for `idleTimeout` (a client that connects and never sends, or a
///    transfer that stalls midway, including a remote that stops reading) -> `.idleTimeout`;
///  - overall: the stream is closed `overallTimeout` after it started, whatever happens -> `.deadlineExceeded`.
///
/// Readiness comes from the process's `IOSelector` (epoll, one shot, delivered on the loop's queue), not
/// from Dispatch sources; see `IOSelector` for why. Lifecycle: created on the loop's queue, it starts at
/// once; its selector registration keeps it alive until it closes, so callers may keep or drop their reference. It closes exactly once, for one
/// `CloseReason`, and `onClose` runs (on the queue) after the descriptor is closed. Orderly close:
/// `finishWriting()` flushes the queue, then half-closes (FIN); the stream ends `.finished` once the
/// remote's FIN has also arrived. If the remote finishes first, `onEndOfStream` runs (default: we
/// finish too).
///
/// Confined to the loop's queue (`@unchecked Sendable` for that reason): every method must be called
/// on `loop.queue`; handlers are invoked there.
public final class TCPStream: @unchecked Sendable {
    /// Bounds for one stream. Every buffer is bounded.
    public struct Limits: Sendable {
        /// Outbound queue bound: `enqueue` fails if the queue would exceed it.
        public var maxQueuedBytes: Int
        /// Total inbound bytes accepted over the stream's life; more closes it (`.inboundLimitExceeded`).
        public var maxInboundBytes: Int
        /// Size of the one read buffer (and so the largest chunk handed to `onBytes`).
        public var readChunkBytes: Int
        /// Close after this long without any byte read or written.
        public var idleTimeout: Duration
        /// Close this long after start regardless of progress; nil: no overall deadline.
        public var overallTimeout: Duration?
        /// If set, SO_SNDBUF/SO_RCVBUF for this socket (set after connect/accept). Keep it >= 64 KiB:
        /// with 16 KiB buffers on loopback, Linux stalls ~200 ms per window (zero-window probes),
        /// turning a 1 MiB echo from 0.1 s into 4 s. nil: kernel defaults with autotuning (best).
        public var socketBufferBytes: Int?

        public init(maxQueuedBytes: Int = 8 << 20, maxInboundBytes: Int = 64 << 20, readChunkBytes: Int = 64 << 10,
                    idleTimeout: Duration = .seconds(10), overallTimeout: Duration? = .seconds(120),
                    socketBufferBytes: Int? = nil) {
            precondition(maxQueuedBytes > 0 && maxInboundBytes > 0 && readChunkBytes > 0, "stream limits must be positive")
            precondition(idleTimeout > .zero, "idleTimeout must be positive, got \(idleTimeout)")
            self.maxQueuedBytes = maxQueuedBytes
            self.maxInboundBytes = maxInboundBytes
            self.readChunkBytes = readChunkBytes
            self.idleTimeout = idleTimeout
            self.overallTimeout = overallTimeout
            self.socketBufferBytes = socketBufferBytes
        }
    }

    /// Why a stream closed.
    public enum CloseReason: Sendable, Hashable, CustomStringConvertible {
        /// Orderly: our queue was flushed and FIN sent, and the remote's FIN arrived.
        case finished
        /// `close()` was called.
        case closedLocally
        /// No byte moved for `idleTimeout`.
        case idleTimeout
        /// `overallTimeout` passed since start.
        case deadlineExceeded
        /// The remote sent more than `maxInboundBytes`.
        case inboundLimitExceeded(limit: Int)
        /// A read or write failed (e.g. ECONNRESET).
        case failed(TransportError)

        public var description: String {
            switch self {
            case .finished: return "finished"
            case .closedLocally: return "closed locally"
            case .idleTimeout: return "idle timeout"
            case .deadlineExceeded: return "overall deadline exceeded"
            case .inboundLimitExceeded(let limit): return "inbound limit of \(limit) bytes exceeded"
            case .failed(let error): return "failed: \(error)"
            }
        }
    }

    /// Counters, for tests and metrics.
    public struct Stats: Sendable, Hashable {
        public var bytesRead = 0
        public var bytesWritten = 0
        public var readCalls = 0
        public var writeCalls = 0
        /// Writes that took only part of what was offered.
        public var partialWrites = 0
        /// Times the socket was not writable while bytes were queued.
        public var writeWouldBlocks = 0
    }

    private enum State { case open, finishing, closing, closed }

    public let loop: EventLoop
    public let remoteAddress: SocketAddress
    public let limits: Limits
    private let connection: TCPConnection
    private let onBytes: @Sendable ([UInt8]) -> Void
    private let onEndOfStream: (@Sendable () -> Void)?
    private let onClose: @Sendable (CloseReason) -> Void

    private var state = State.open
    private var closeReason: CloseReason?
    private let readBuffer: UnsafeMutableRawBufferPointer
    private let selector: IOSelector
    private var registration: IORegistration?
    private var remoteFinished = false
    private var localFinished = false

    private var chunks: [[UInt8]] = []
    private var headIndex = 0
    private var headOffset = 0
    private var queued = 0

    private let startNanos: UInt64
    private var lastActivityNanos: UInt64
    public private(set) var stats = Stats()

    /// Starts driving `connection` (which the stream now owns) on `loop`. On the loop's queue.
    /// - Parameters:
    ///   - onBytes: each inbound chunk (1...readChunkBytes bytes), in order.
    ///   - onEndOfStream: the remote sent FIN while we may still write. nil: call `finishWriting()`.
    ///   - onClose: exactly once, after the descriptor is closed.
    public init(connection: TCPConnection, loop: EventLoop, limits: Limits = Limits(),
                selector: IOSelector = .shared,
                onBytes: @escaping @Sendable ([UInt8]) -> Void,
                onEndOfStream: (@Sendable () -> Void)? = nil,
                onClose: @escaping @Sendable (CloseReason) -> Void) {
        loop.preconditionOnLoop()
        precondition(connection.isOpen && !connection.isWatched, "TCPStream needs an open, unowned connection")
        self.loop = loop
        self.connection = connection
        self.remoteAddress = connection.remoteAddress
        self.limits = limits
        self.onBytes = onBytes
        self.onEndOfStream = onEndOfStream
        self.onClose = onClose
        self.readBuffer = .allocate(byteCount: limits.readChunkBytes, alignment: 16)
        self.startNanos = EventLoop.monotonicNanoseconds()
        self.lastActivityNanos = startNanos
        self.selector = selector
        connection.isWatched = true
        start()
    }

    private func start() {
        if let bytes = limits.socketBufferBytes {
            do throws(TransportError) { try connection.setBufferSizes(bytes: bytes) } catch {
                loop.report(error)
            }
        }
        do throws(TransportError) {
            registration = try selector.register(fd: connection.handle.fd.rawValue, queue: loop.queue) { [self] events in
                handle(events)
            }
        } catch {
            // Out of memory for epoll bookkeeping: close asynchronously, as any other failure.
            loop.execute { [self] in beginClose(.failed(error)) }
            return
        }
        armDeadline()
        rearm()
    }

    /// One delivery from the selector (one shot): act on it, then ask for what is wanted now.
    private func handle(_ events: IOEvents) {
        loop.preconditionOnLoop()
        if events.contains(.deadline) { checkDeadlines() }
        if events.contains(.readable) { readAvailable() }
        if events.contains(.writable) { flush() }
        rearm()
    }

    /// Read interest until the remote's FIN; write interest while bytes are queued (a writable socket
    /// would otherwise be reported forever).
    private func rearm() {
        guard state == .open || state == .finishing, let registration else { return }
        var interest: IOInterest = []
        if !remoteFinished { interest.insert(.read) }
        if queued > 0 { interest.insert(.write) }
        registration.arm(interest)
    }

    // MARK: Public API (on the loop's queue)

    /// Bytes waiting in the outbound queue.
    public var queuedBytes: Int {
        loop.preconditionOnLoop()
        return queued
    }

    /// True until the stream starts closing.
    public var isOpen: Bool {
        loop.preconditionOnLoop()
        return state == .open || state == .finishing
    }

    /// Queues `bytes` for sending. Throws `.limitExceeded("TCP outbound queue to <addr>", ...)` if the
    /// queue would exceed `maxQueuedBytes` (nothing is queued then), `.closed` after
    /// `finishWriting()` or close. Bytes are written asynchronously as the socket becomes writable.
    public func enqueue(_ bytes: [UInt8]) throws(TransportError) {
        loop.preconditionOnLoop()
        guard state == .open, !localFinished else { throw .closed(what: "TCP stream to \(remoteAddress)") }
        guard !bytes.isEmpty else { return }
        guard queued + bytes.count <= limits.maxQueuedBytes else {
            throw .limitExceeded(what: "TCP outbound queue to \(remoteAddress)", limit: limits.maxQueuedBytes,
                                 attempted: queued + bytes.count)
        }
        chunks.append(bytes)
        queued += bytes.count
        if queued == bytes.count { rearm() }  // the queue was empty: add write interest
    }

    /// Orderly close: flush the queue, then send FIN; the stream closes `.finished` once the remote's
    /// FIN has arrived too (or a deadline fires). Idempotent.
    public func finishWriting() {
        loop.preconditionOnLoop()
        guard state == .open else { return }
        state = .finishing
        if queued == 0 { sendFIN() }
    }

    /// Closes now, dropping queued bytes; `onClose(.closedLocally)` follows. Idempotent.
    public func close() {
        loop.preconditionOnLoop()
        beginClose(.closedLocally)
    }

    // MARK: I/O

    private func readAvailable() {
        loop.preconditionOnLoop()
        guard state == .open || state == .finishing, !remoteFinished else { return }
        // Bounded work per wakeup: at most 16 chunks, then let other work on the queue run
        // (re-armed level-triggered, the selector reports the rest at once).
        for _ in 0..<16 {
            let result: TCPConnection.ReadResult
            do throws(TransportError) { result = try connection.read(into: readBuffer) } catch {
                beginClose(.failed(error))
                return
            }
            stats.readCalls += 1
            switch result {
            case .wouldBlock:
                return
            case .endOfStream:
                remoteFinished = true
                if localFinished {
                    beginClose(.finished)
                } else if let onEndOfStream {
                    onEndOfStream()
                } else {
                    finishWriting()
                }
                return
            case .bytes(let n):
                touch()
                stats.bytesRead += n
                if stats.bytesRead > limits.maxInboundBytes {
                    beginClose(.inboundLimitExceeded(limit: limits.maxInboundBytes))
                    return
                }
                onBytes(Array(readBuffer[0..<n]))
                guard state == .open || state == .finishing else { return }
            }
        }
    }

    private func flush() {
        loop.preconditionOnLoop()
        guard state == .open || state == .finishing else { return }
        while headIndex < chunks.count {
            let chunk = chunks[headIndex]
            let offered = chunk.count - headOffset
            let written: Int?
            do throws(TransportError) {
                written = try chunk.withUnsafeBytes { raw in
                    Result { () throws(TransportError) -> Int? in
                        try connection.write(UnsafeRawBufferPointer(rebasing: raw[headOffset...]))
                    }
                }.get()
            } catch {
                beginClose(.failed(error))
                return
            }
            stats.writeCalls += 1
            guard let n = written else {
                stats.writeWouldBlocks += 1
                return  // `handle` re-arms write interest: told again when writable
            }
            touch()
            stats.bytesWritten += n
            queued -= n
            if n < offered {
                stats.partialWrites += 1
                headOffset += n
                return  // the send buffer is full; wait for writability
            }
            headIndex += 1
            headOffset = 0
        }
        chunks.removeAll(keepingCapacity: chunks.count <= 64)
        headIndex = 0
        if state == .finishing { sendFIN() }
    }

    private func sendFIN() {
        guard !localFinished else { return }
        localFinished = true
        do throws(TransportError) { try connection.shutdownWrite() } catch {
            beginClose(.failed(error))
            return
        }
        if remoteFinished { beginClose(.finished) }
    }

    // MARK: Deadlines

    private func touch() { lastActivityNanos = EventLoop.monotonicNanoseconds() }

    private var idleDeadline: UInt64 { lastActivityNanos &+ UInt64(limits.idleTimeout.nanoseconds) }
    private var overallDeadline: UInt64? { limits.overallTimeout.map { startNanos &+ UInt64(max(0, $0.nanoseconds)) } }

    private func armDeadline() {
        registration?.setDeadline(min(idleDeadline, overallDeadline ?? .max))
    }

    private func checkDeadlines() {
        loop.preconditionOnLoop()
        guard state == .open || state == .finishing else { return }
        let now = EventLoop.monotonicNanoseconds()
        if let overall = overallDeadline, now >= overall { beginClose(.deadlineExceeded); return }
        if now >= idleDeadline { beginClose(.idleTimeout); return }
        armDeadline()  // activity happened since the deadline was set: wait for the new one
    }

    // MARK: Closing

    /// Stops watching, closes the descriptor now (the selector no longer knows it, so its number may be
    /// reused at once), and reports `onClose` asynchronously on the queue, never from inside a caller's
    /// `enqueue`/`close`.
    private func beginClose(_ reason: CloseReason) {
        guard state == .open || state == .finishing else { return }
        state = .closing
        closeReason = reason
        chunks = []
        headIndex = 0
        headOffset = 0
        queued = 0
        registration?.deregister()
        registration = nil
        connection.isWatched = false
        do throws(TransportError) { try connection.close() } catch { loop.report(error) }
        loop.execute { [self] in
            readBuffer.deallocate()
            state = .closed
            onClose(closeReason ?? .closedLocally)
        }
    }
}
