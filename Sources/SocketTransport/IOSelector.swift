import CEpollShim
import Dispatch
import Glibc
import Synchronization

/// What a registration wants to hear about next (`IORegistration.arm`).
public struct IOInterest: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let read = IOInterest(rawValue: 1)
    public static let write = IOInterest(rawValue: 2)
}

/// What happened to a registration, delivered to its handler on its queue.
public struct IOEvents: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    /// Readable, or an error/hang-up that a read will report.
    public static let readable = IOEvents(rawValue: 1)
    /// Writable, or an error/hang-up that a write (or SO_ERROR) will report.
    public static let writable = IOEvents(rawValue: 2)
    /// The deadline set with `setDeadline` has passed (it is cleared; set a new one to be told again).
    public static let deadline = IOEvents(rawValue: 4)
}

/// One epoll(7) instance and one thread per process that watches the short-lived sockets: model-exchange
/// TCP connections (connect, read, write) and their deadlines. Readiness is delivered to each socket's
/// owner as a closure on the owner's serial queue (a peer's event loop), so the protocol code still runs
/// on one queue per peer; only *waiting* moved off Dispatch.
///
/// Why not Dispatch sources: a swarm opens and closes hundreds of TCP connections a second per process,
/// each with a read and a write source. libdispatch on Linux multiplexes sources per descriptor in its
/// own epoll bookkeeping ("muxnotes"), and under that register/cancel churn processes crashed in
/// `_dispatch_unote_unregister_muxed` after minutes (swift-corelibs-libdispatch issues #833 and #949).
/// Long-lived sockets (a peer's UDP socket and TCP listener) stay on Dispatch read sources.
///
/// Design (swift-nio's `SelectableEventLoop` + `Selector`, reduced): every registration is armed
/// EPOLLONESHOT, so one readiness produces one delivery and the descriptor stays quiet until its owner,
/// on its queue, re-arms it with the interest it has then. The epoll event carries a registration id, not
/// the descriptor: a delivery that races with `deregister` finds the id gone (or the registration
/// inactive when the closure runs on the queue) and is dropped, so a descriptor number reused by a new
/// socket can never receive an old socket's events. Deregistration removes the descriptor from epoll
/// before the owner closes it. Deadlines are swept by the selector thread every `sweepInterval`, which
/// keeps the per-connection cost at zero timers.
public final class IOSelector: @unchecked Sendable {
    /// The process-wide selector, started on first use. Traps if epoll_create1 fails (the process
    /// cannot do TCP model exchange at all then; it happens only when out of descriptors at start).
    public static let shared: IOSelector = {
        do throws(TransportError) { return try IOSelector() } catch {
            fatalError("cannot start the I/O selector: \(error)")
        }
    }()

    /// How often deadlines are checked; a deadline fires at most this much late.
    public static let sweepInterval: Int32 = 20  // milliseconds

    private let epollFD: Int32
    private let registrations = Mutex<[UInt64: IORegistration]>([:])
    private let nextID = Atomic<UInt64>(1)
    private let delivered = Atomic<Int>(0)

    public init() throws(TransportError) {
        epollFD = try syscallValue("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) }
        let context = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { context in
            let selector = Unmanaged<IOSelector>.fromOpaque(context!).takeRetainedValue()
            selector.run()
            return nil
        }, context)
        precondition(rc == 0, "pthread_create for the I/O selector failed: \(Errno(rawValue: rc))")
        pthread_detach(thread)
    }

    /// Registrations currently watched (for tests and stats).
    public var registrationCount: Int { registrations.withLock { $0.count } }
    /// Readiness and deadline deliveries so far.
    public var deliveryCount: Int { delivered.load(ordering: .relaxed) }

    /// Starts watching `fd` for its owner on `queue` (disarmed: call `arm`). `handler` runs on `queue` for
    /// each delivery until `deregister()`; the registration keeps `handler` alive until then.
    public func register(fd: Int32, queue: DispatchQueue,
                         handler: @escaping @Sendable (IOEvents) -> Void) throws(TransportError) -> IORegistration {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        let registration = IORegistration(selector: self, id: id, fd: fd, queue: queue, handler: handler)
        registrations.withLock { $0[id] = registration }
        var event = epoll_event()
        event.events = EPOLLONESHOT.rawValue
        event.data.u64 = id
        do throws(TransportError) {
            _ = try syscallValue("epoll_ctl(ADD)") { epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) }
        } catch {
            _ = registrations.withLock { $0.removeValue(forKey: id) }
            throw error
        }
        return registration
    }

    func modify(_ registration: IORegistration, interest: IOInterest) {
        var event = epoll_event()
        event.events = EPOLLONESHOT.rawValue
            | (interest.contains(.read) ? EPOLLIN.rawValue : 0)
            | (interest.contains(.write) ? EPOLLOUT.rawValue : 0)
        event.data.u64 = registration.id
        let fd = registration.fd
        do throws(TransportError) {
            _ = try syscallValue("epoll_ctl(MOD)") { epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event) }
        } catch {
            // Only ENOMEM/ENOSPC are possible for a registered descriptor: tell the owner now rather than
            // leave it waiting for an event that will never come.
            deliver(registration, [.readable, .writable])
        }
    }

    func remove(_ registration: IORegistration) {
        _ = registrations.withLock { $0.removeValue(forKey: registration.id) }
        let fd = registration.fd
        var event = epoll_event()
        // ENOENT cannot happen (ADD succeeded and only this removes); ignore errors rather than trap.
        _ = try? syscallValue("epoll_ctl(DEL)") { epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event) }
    }

    private func deliver(_ registration: IORegistration, _ events: IOEvents) {
        delivered.wrappingAdd(1, ordering: .relaxed)
        registration.queue.async { registration.fire(events) }
    }

    private func run() {
        let capacity = 256
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        var lastSweep = EventLoop.monotonicNanoseconds()
        while true {
            let n: Int32
            do throws(TransportError) {
                n = try syscallValue("epoll_wait") { epoll_wait(epollFD, events, Int32(capacity), IOSelector.sweepInterval) }
            } catch {
                preconditionFailure("the I/O selector cannot wait: \(error)")  // EINVAL: a programmer error
            }
            if n > 0 {
                let ready: [(IORegistration, IOEvents)] = registrations.withLock { table in
                    (0..<Int(n)).compactMap { i in
                        let e = events[i]
                        guard let registration = table[e.data.u64] else { return nil }
                        var got: IOEvents = []
                        if e.events & (EPOLLIN.rawValue | EPOLLRDHUP.rawValue) != 0 { got.insert(.readable) }
                        if e.events & EPOLLOUT.rawValue != 0 { got.insert(.writable) }
                        if e.events & (EPOLLERR.rawValue | EPOLLHUP.rawValue) != 0 { got.formUnion([.readable, .writable]) }
                        return (registration, got)
                    }
                }
                for (registration, got) in ready { deliver(registration, got) }
            }
            let now = EventLoop.monotonicNanoseconds()
            if now &- lastSweep >= UInt64(IOSelector.sweepInterval) * 1_000_000 {
                lastSweep = now
                let due: [IORegistration] = registrations.withLock { table in
                    table.values.filter { $0.takeDeadline(ifDueAt: now) }
                }
                for registration in due { deliver(registration, .deadline) }
            }
        }
    }
}

/// One descriptor watched by an `IOSelector`. `arm`, `setDeadline` and `deregister` are called on the
/// owner's queue (the queue given at registration); the handler runs there too.
public final class IORegistration: @unchecked Sendable {
    unowned let selector: IOSelector
    let id: UInt64
    let fd: Int32
    let queue: DispatchQueue
    /// Owner-queue state: nil after `deregister()`, so late deliveries are dropped.
    private var handler: (@Sendable (IOEvents) -> Void)?
    /// Monotonic nanoseconds; 0: none. Written on the owner's queue, taken by the selector thread.
    private let deadline = Atomic<UInt64>(0)

    init(selector: IOSelector, id: UInt64, fd: Int32, queue: DispatchQueue, handler: @escaping @Sendable (IOEvents) -> Void) {
        self.selector = selector
        self.id = id
        self.fd = fd
        self.queue = queue
        self.handler = handler
    }

    /// Asks for one delivery when any of `interest` holds (level-triggered, one shot). Re-arming replaces the
    /// previous interest. Empty interest: stay quiet (deadlines still fire).
    public func arm(_ interest: IOInterest) {
        dispatchPrecondition(condition: .onQueue(queue))
        guard handler != nil, !interest.isEmpty else { return }
        selector.modify(self, interest: interest)
    }

    /// One `.deadline` delivery at `monotonicNanoseconds` (`EventLoop.monotonicNanoseconds()` clock), or none.
    public func setDeadline(_ monotonicNanoseconds: UInt64?) {
        deadline.store(monotonicNanoseconds.map { max(1, $0) } ?? 0, ordering: .relaxed)
    }

    /// Stops watching: removes the descriptor from epoll (close it after this) and drops the handler; no
    /// delivery runs after this returns. Idempotent.
    public func deregister() {
        dispatchPrecondition(condition: .onQueue(queue))
        guard handler != nil else { return }
        handler = nil
        deadline.store(0, ordering: .relaxed)
        selector.remove(self)
    }

    public var isRegistered: Bool {
        dispatchPrecondition(condition: .onQueue(queue))
        return handler != nil
    }

    func fire(_ events: IOEvents) {
        guard let handler else { return }
        handler(events)
    }

    /// Selector thread: claims the deadline if it is due.
    func takeDeadline(ifDueAt now: UInt64) -> Bool {
        let d = deadline.load(ordering: .relaxed)
        guard d != 0, d <= now else { return false }
        return deadline.compareExchange(expected: d, desired: 0, ordering: .relaxed).exchanged
    }
}
