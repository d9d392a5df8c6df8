import Dispatch
@testable import SocketTransport

/// A thread-safe mailbox with bounded waits: handlers (running on an event-loop queue) `put`,
/// the test thread `next(timeout:)`. Tests are non-isolated, so handler closures formed in them
/// are not main-actor isolated.
final class Inbox<T: Sendable>: @unchecked Sendable {
    private let lock = DispatchQueue(label: "inbox")
    private var items: [T] = []
    private let semaphore = DispatchSemaphore(value: 0)

    func put(_ item: T) {
        lock.sync { items.append(item) }
        semaphore.signal()
    }

    /// The next item, or nil if none arrives within `seconds`.
    func next(timeout seconds: Double = 5) -> T? {
        guard semaphore.wait(timeout: .now() + seconds) == .success else { return nil }
        return lock.sync { items.removeFirst() }
    }

    var count: Int { lock.sync { items.count } }
}

/// Mutable state confined to one event loop's queue (only touched from handlers on that queue or
/// inside `onLoop`).
final class LoopBox<T>: @unchecked Sendable {
    var value: T
    init(_ value: T) { self.value = value }
}

/// A tiny seeded generator for reproducible jitter in tests (SplitMix64; the test target does not
/// depend on RecommenderModel).
struct TestRNG: RandomNumberGenerator, Sendable {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// A loop whose reported errors land in `errors`.
func makeLoop(_ label: String) -> (EventLoop, Inbox<TransportError>) {
    let errors = Inbox<TransportError>()
    let loop = EventLoop(label: label) { errors.put($0) }
    return (loop, errors)
}

/// Cancels `watcher` on its loop and waits until its socket is closed.
func cancelAndWait(_ watcher: ReadWatcher, on loop: EventLoop) -> Bool {
    let done = Inbox<Bool>()
    onLoop(loop) { watcher.cancel { done.put(true) } }
    return done.next() ?? false
}

/// Whether [::1] can be bound on this machine (some containers have no IPv6 loopback).
func ipv6LoopbackAvailable() -> Bool {
    do {
        let socket = try UDPSocket(bindingTo: .loopbackIPv6(port: 0))
        try socket.close()
        return true
    } catch {
        return false
    }
}

/// Deterministic pseudo-random bytes.
func patternBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var rng = TestRNG(state: seed)
    var out = [UInt8](repeating: 0, count: count)
    var i = 0
    while i < count {
        var word = rng.next()
        for _ in 0..<8 where i < count {
            out[i] = UInt8(truncatingIfNeeded: word)
            word >>= 8
            i += 1
        }
    }
    return out
}

/// Runs `body` on `loop`'s queue and returns its result, like `queue.sync`, but bounded: if the
/// loop is blocked (a bug: e.g. a blocking socket call on the queue) for 10 s, the test process
/// stops with a message instead of hanging.
func onLoop<T, E: Error>(_ loop: EventLoop, _ body: () throws(E) -> T) throws(E) -> T {
    let slot = OnLoopSlot<T, E>()
    let done = DispatchSemaphore(value: 0)
    let result: Result<T, E> = withoutActuallyEscaping(body) { escapable in
        slot.body = escapable
        loop.queue.async {
            slot.result = Result { () throws(E) -> T in try slot.body!() }
            slot.body = nil
            done.signal()
        }
        precondition(done.wait(timeout: .now() + 10) == .success, "event loop \(loop.queue.label) blocked for 10 s")
        return slot.result!
    }
    return try result.get()
}

/// Hand-off cell for `onLoop`: written on the loop's queue, read after the semaphore signals.
final class OnLoopSlot<T, E: Error>: @unchecked Sendable {
    var result: Result<T, E>?
    var body: (() throws(E) -> T)?
}
