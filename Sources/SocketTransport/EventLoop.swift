import Dispatch
import Glibc

/// One peer's event loop: ONE serial DispatchQueue on which all of that peer's I/O callbacks, timers
/// and state changes run (STYLE.md point 8; swift-nio's `EventLoop` is the model, Dispatch sources
/// stand in for epoll).
///
/// Concurrency contract. `EventLoop` and the objects it hands out (`ReadWatcher`, `LoopTimer`,
/// `ConnectAttempt`, `TCPStream`) are `@unchecked Sendable` because their mutable state is confined
/// to `queue`; every state-touching method checks `dispatchPrecondition(condition: .onQueue(queue))`.
/// All handlers are `@Sendable` and are always invoked on `queue`. Form handler closures in
/// non-isolated code: a closure written in a `@MainActor` context (main.swift, a main-actor test) is
/// main-actor isolated and traps when Dispatch runs it on this queue.
///
/// Typical use by one peer (everything inside `loop.execute { ... }` or a handler):
///
///     let loop = EventLoop(label: "peer-\(id)") { error in metrics.count(error) }
///     let sockets = try PeerSockets.bind(.loopbackIPv4(port: 0))     // any thread, before start
///     loop.execute {
///         let udp = loop.watchDatagrams(on: sockets.udp) { bytes, from in node.onDatagram(bytes, from) }
///         let tcp = loop.watchAccepts(on: sockets.tcp) { conn in
///             _ = TCPStream(connection: conn, loop: loop, limits: limits,
///                           onBytes: { node.onBytes($0) }, onClose: { node.onClosed($0) })
///         }
///         let tick = loop.scheduleRepeating(every: .milliseconds(200), jitter: .milliseconds(40),
///                                           rng: seeded.split()) { node.onTick() }
///         // shutdown, also on the queue: tick.cancel(); udp.cancel(); tcp.cancel(); stream.close()
///     }
///
/// Errors. Failures that have no caller to throw to (a recvfrom error inside a read source, a close
/// failing in a cancel handler) go to `report(_:)`, which counts them and calls the `onError` sink
/// given at init; nothing is printed and dropped.
public final class EventLoop: @unchecked Sendable {
    /// The serial queue that owns this peer's state.
    public let queue: DispatchQueue
    private let onError: @Sendable (TransportError) -> Void
    private var errorCount = 0

    /// - Parameters:
    ///   - label: the queue label (e.g. "peer-7").
    ///   - onError: called on `queue` for every error reported by sources and streams of this loop.
    ///   - target: the queue this loop's queue targets (nil: the default global queue). Hundreds of peers
    ///     in one process share one non-overcommitting target so they use about as many threads as cores.
    public init(label: String, target: DispatchQueue? = nil, onError: @escaping @Sendable (TransportError) -> Void = { _ in }) {
        self.queue = DispatchQueue(label: label, target: target)
        self.onError = onError
    }

    /// Runs `work` on the loop's queue, asynchronously.
    public func execute(_ work: @escaping @Sendable () -> Void) { queue.async(execute: work) }

    /// Traps unless called on the loop's queue.
    public func preconditionOnLoop() { dispatchPrecondition(condition: .onQueue(queue)) }

    /// Counts `error` and passes it to the `onError` sink. On the loop's queue.
    public func report(_ error: TransportError) {
        preconditionOnLoop()
        errorCount += 1
        onError(error)
    }

    /// How many errors `report(_:)` has seen. On the loop's queue.
    public var reportedErrorCount: Int {
        preconditionOnLoop()
        return errorCount
    }

    /// Monotonic nanoseconds (CLOCK_MONOTONIC via Dispatch), the clock the loop's timers use.
    public static func monotonicNanoseconds() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    // MARK: Timers

    /// `base` plus a uniform random extra in `[0, jitter]` (nanosecond resolution). Jitter only ever
    /// delays, so a timer never fires before `base`; it de-synchronizes peers that started together
    /// (the usual gossip-period jitter, as in hashicorp/memberlist's randomized stagger).
    public static func jitteredDelay(_ base: Duration, jitter: Duration,
                                     using rng: inout some RandomNumberGenerator) -> Duration {
        precondition(base >= .zero, "timer delay must not be negative: \(base)")
        precondition(jitter >= .zero, "timer jitter must not be negative: \(jitter)")
        let j = jitter.nanoseconds
        guard j > 0 else { return base }
        return base + .nanoseconds(Int64.random(in: 0...j, using: &rng))
    }

    /// A one-shot timer firing `handler` on the queue after `delay` plus up to `jitter` (drawn from
    /// `rng`, e.g. the peer's seeded SplitMix64). Cancellable until it fires.
    @discardableResult
    public func schedule(after delay: Duration, jitter: Duration = .zero, using rng: inout some RandomNumberGenerator,
                         _ handler: @escaping @Sendable () -> Void) -> LoopTimer {
        let actual = EventLoop.jitteredDelay(delay, jitter: jitter, using: &rng)
        let timer = LoopTimer(loop: self, firstDelay: actual, period: nil, jitter: .zero, rng: nil, handler: handler)
        timer.start()
        return timer
    }

    /// `schedule(after:jitter:using:_:)` with the system generator (non-reproducible jitter).
    @discardableResult
    public func schedule(after delay: Duration, jitter: Duration = .zero,
                         _ handler: @escaping @Sendable () -> Void) -> LoopTimer {
        var rng = SystemRandomNumberGenerator()
        return schedule(after: delay, jitter: jitter, using: &rng, handler)
    }

    /// A repeating timer: each period is `every` plus a fresh jitter in `[0, jitter]` drawn from
    /// `rng` (the timer owns this generator; pass e.g. `peerRNG.split()` for reproducible runs). The
    /// first firing is one jittered period from now. Runs until cancelled.
    @discardableResult
    public func scheduleRepeating(every period: Duration, jitter: Duration = .zero,
                                  rng: some RandomNumberGenerator & Sendable = SystemRandomNumberGenerator(),
                                  _ handler: @escaping @Sendable () -> Void) -> LoopTimer {
        precondition(period > .zero, "a repeating timer needs a positive period, got \(period)")
        var generator: any RandomNumberGenerator = rng
        let first = EventLoop.jitteredDelay(period, jitter: jitter, using: &generator)
        let timer = LoopTimer(loop: self, firstDelay: first, period: period, jitter: jitter, rng: generator, handler: handler)
        timer.start()
        return timer
    }

    // MARK: Read sources

    /// Watches `socket` for datagrams: each time its read source fires, receives datagrams until
    /// would-block and calls `handler(bytes, sender)` on the queue for each. One receive buffer of
    /// `bufferBytes` is allocated per watcher; a longer datagram is dropped and reported as
    /// `.limitExceeded("datagram", ...)`. Receive errors are reported, not thrown.
    ///
    /// The watcher takes ownership of `socket`: it stays usable for `send`, but only
    /// `ReadWatcher.cancel()` closes it (after the Dispatch source is torn down).
    public func watchDatagrams(on socket: UDPSocket, bufferBytes: Int = UDPSocket.maxDatagramBytes,
                               _ handler: @escaping @Sendable (_ bytes: [UInt8], _ sender: SocketAddress) -> Void) -> ReadWatcher {
        preconditionOnLoop()
        precondition(!socket.isWatched, "UDPSocket \(socket.localAddress) is already watched")
        precondition(bufferBytes > 0, "bufferBytes must be positive")
        socket.isWatched = true
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferBytes, alignment: 16)
        let source = DispatchSource.makeReadSource(fileDescriptor: socket.handle.fd.rawValue, queue: queue)
        source.setEventHandler { [self] in
            while socket.handle.isOpen {
                let received: UDPSocket.Received?
                do throws(TransportError) { received = try socket.receive(into: buffer) } catch {
                    self.report(error)
                    return
                }
                guard let received else { return }
                if received.truncated {
                    self.report(.limitExceeded(what: "datagram from \(received.sender.map { "\($0)" } ?? "?")",
                                               limit: bufferBytes, attempted: bufferBytes + 1))
                    continue
                }
                guard let sender = received.sender else { continue }
                handler(Array(buffer[0..<received.count]), sender)
            }
        }
        let watcher = ReadWatcher(loop: self, source: source)
        source.setCancelHandler { [self] in
            buffer.deallocate()
            socket.isWatched = false
            do throws(TransportError) { try socket.close() } catch { self.report(error) }
            watcher.didClose()
        }
        watcher.activate()
        return watcher
    }

    /// Watches `listener`: each time it is readable, accepts connections until would-block and hands
    /// each (non-blocking, TCP_NODELAY) to `handler` on the queue; the handler owns it (wrap it in a
    /// `TCPStream` or close it). Accept errors are reported. `cancel()` closes the listener.
    public func watchAccepts(on listener: TCPListener,
                             _ handler: @escaping @Sendable (TCPConnection) -> Void) -> ReadWatcher {
        preconditionOnLoop()
        precondition(!listener.isWatched, "TCPListener \(listener.localAddress) is already watched")
        listener.isWatched = true
        let source = DispatchSource.makeReadSource(fileDescriptor: listener.handle.fd.rawValue, queue: queue)
        source.setEventHandler { [self] in
            while listener.handle.isOpen {
                do throws(TransportError) {
                    guard let connection = try listener.accept() else { return }
                    handler(connection)
                } catch {
                    // e.g. EMFILE: report and wait for the next readiness rather than spin here.
                    self.report(error)
                    return
                }
            }
        }
        let watcher = ReadWatcher(loop: self, source: source)
        source.setCancelHandler { [self] in
            listener.isWatched = false
            do throws(TransportError) { try listener.close() } catch { self.report(error) }
            watcher.didClose()
        }
        watcher.activate()
        return watcher
    }

    // MARK: Connect

    /// Connects to `address` without blocking: a non-blocking connect(2), then writability, then
    /// SO_ERROR (swift-nio `BaseSocketChannel.connect`). `completion` runs exactly once on the queue:
    /// `.success` with a connected, non-blocking, TCP_NODELAY connection (the caller owns it), or
    /// `.failure(.failed(call: "connect", errno:, address: address))` — ECONNREFUSED etc., ETIMEDOUT
    /// if `timeout` passes first, ECANCELED if the attempt is cancelled.
    @discardableResult
    public func connect(to address: SocketAddress, timeout: Duration, selector: IOSelector = .shared,
                        _ completion: @escaping @Sendable (Result<TCPConnection, TransportError>) -> Void) -> ConnectAttempt {
        preconditionOnLoop()
        let attempt = ConnectAttempt(loop: self, address: address, completion: completion)
        attempt.start(timeout: timeout, selector: selector)
        return attempt
    }
}

extension Duration {
    /// Whole nanoseconds (saturating).
    var nanoseconds: Int64 {
        let (s, a) = components
        let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return s < 0 ? .min : .max }
        return ns.addingReportingOverflow(a / 1_000_000_000).overflow ? .max : ns + a / 1_000_000_000
    }

    var dispatchInterval: DispatchTimeInterval { .nanoseconds(Int(clamping: max(0, nanoseconds))) }
}

/// A Dispatch read source registered by `watchDatagrams` / `watchAccepts`. `cancel()` stops it and
/// then, on the queue, closes the watched socket.
public final class ReadWatcher: @unchecked Sendable {
    private let source: DispatchSourceRead
    private let loop: EventLoop
    private var closeCompletions: [@Sendable () -> Void] = []
    private var closed = false

    init(loop: EventLoop, source: DispatchSourceRead) {
        self.loop = loop
        self.source = source
    }

    func activate() { source.resume() }

    /// Called from the source's cancel handler, after the socket is closed.
    func didClose() {
        loop.preconditionOnLoop()
        closed = true
        let pending = closeCompletions
        closeCompletions = []
        for completion in pending { completion() }
    }

    /// Stops watching and closes the socket (idempotent). On the loop's queue. `completion`, if
    /// given, runs on the queue once the socket is closed.
    public func cancel(completion: (@Sendable () -> Void)? = nil) {
        loop.preconditionOnLoop()
        if let completion {
            if closed { loop.execute(completion) } else { closeCompletions.append(completion) }
        }
        source.cancel()
    }

    /// True once the socket has been closed. On the loop's queue.
    public var isClosed: Bool {
        loop.preconditionOnLoop()
        return closed
    }
}

/// A one-shot or repeating timer on an `EventLoop`'s queue. `cancel()` is safe from any thread and
/// idempotent; after it returns on the queue, the handler will not run again.
public final class LoopTimer: @unchecked Sendable {
    private let loop: EventLoop
    private let source: DispatchSourceTimer
    private let period: Duration?
    private let jitter: Duration
    private var rng: (any RandomNumberGenerator)?
    private let handler: @Sendable () -> Void
    /// The (jittered) delay chosen for the first firing.
    public let firstDelay: Duration

    init(loop: EventLoop, firstDelay: Duration, period: Duration?, jitter: Duration,
         rng: (any RandomNumberGenerator)?, handler: @escaping @Sendable () -> Void) {
        self.loop = loop
        self.firstDelay = firstDelay
        self.period = period
        self.jitter = jitter
        self.rng = rng
        self.handler = handler
        self.source = DispatchSource.makeTimerSource(queue: loop.queue)
    }

    func start() {
        source.schedule(deadline: .now() + firstDelay.dispatchInterval, leeway: .milliseconds(1))
        source.setEventHandler { [self] in fire() }
        source.resume()
    }

    private func fire() {
        loop.preconditionOnLoop()
        guard !source.isCancelled else { return }
        if let period {
            // Re-arm before running the handler so a handler that cancels wins.
            var generator = rng ?? SystemRandomNumberGenerator()
            let next = EventLoop.jitteredDelay(period, jitter: jitter, using: &generator)
            rng = generator
            source.schedule(deadline: .now() + next.dispatchInterval, leeway: .milliseconds(1))
        } else {
            source.cancel()
        }
        handler()
    }

    public func cancel() { source.cancel() }
    public var isCancelled: Bool { source.isCancelled }
}

/// An outgoing TCP connect in progress (see `EventLoop.connect`). Waits for writability and the timeout
/// through the process's `IOSelector` (no Dispatch source or timer per attempt).
public final class ConnectAttempt: @unchecked Sendable {
    private let loop: EventLoop
    public let address: SocketAddress
    private let completion: @Sendable (Result<TCPConnection, TransportError>) -> Void
    private var connection: TCPConnection?
    private var registration: IORegistration?
    private var done = false

    init(loop: EventLoop, address: SocketAddress,
         completion: @escaping @Sendable (Result<TCPConnection, TransportError>) -> Void) {
        self.loop = loop
        self.address = address
        self.completion = completion
    }

    func start(timeout: Duration, selector: IOSelector) {
        let started: (connection: TCPConnection, connected: Bool)
        do throws(TransportError) { started = try TCPConnection.startConnect(to: address) } catch {
            finish(.failure(error))
            return
        }
        connection = started.connection
        if started.connected {
            finish(.success(started.connection))
            return
        }
        started.connection.isWatched = true
        do throws(TransportError) {
            let registration = try selector.register(fd: started.connection.handle.fd.rawValue, queue: loop.queue) { [self] events in
                guard !done, let connection else { return }
                if events.contains(.writable) {
                    do throws(TransportError) {
                        try connection.finishConnect()
                        finish(.success(connection))
                    } catch {
                        finish(.failure(error))
                    }
                } else if events.contains(.deadline) {
                    finish(.failure(.failed(call: "connect", errno: .timedOut, address: address)))
                }
            }
            self.registration = registration
            registration.setDeadline(EventLoop.monotonicNanoseconds() &+ UInt64(max(0, timeout.nanoseconds)))
            registration.arm(.write)
        } catch {
            finish(.failure(error))
        }
    }

    /// Abandons the attempt: the completion gets ECANCELED (unless it already ran).
    public func cancel() {
        loop.execute { [self] in
            finish(.failure(.failed(call: "connect", errno: Errno(rawValue: ECANCELED), address: address)))
        }
    }

    /// Completes once, asynchronously on the queue; the descriptor is removed from the selector first, then
    /// handed over (success) or closed (failure).
    private func finish(_ result: Result<TCPConnection, TransportError>) {
        loop.preconditionOnLoop()
        guard !done else { return }
        done = true
        registration?.deregister()
        registration = nil
        let connection = self.connection
        self.connection = nil
        connection?.isWatched = false
        if case .failure = result, let connection {
            do throws(TransportError) { try connection.close() } catch { loop.report(error) }
        }
        loop.execute { [completion] in completion(result) }
    }
}
