import Dispatch
import Glibc

/// A POSIX signal this module can watch (C `SIGINT`, `SIGTERM`, ...).
public struct Signal: Hashable, Sendable, CustomStringConvertible {
    let rawValue: Int32
    /// SIGINT (Ctrl-C).
    public static let interrupt = Signal(rawValue: SIGINT)
    /// SIGTERM (orderly shutdown request).
    public static let terminate = Signal(rawValue: SIGTERM)
    /// SIGHUP.
    public static let hangup = Signal(rawValue: SIGHUP)
    /// SIGUSR1 (free for applications; used by the tests).
    public static let user1 = Signal(rawValue: SIGUSR1)

    public var description: String {
        switch rawValue {
        case SIGINT: return "SIGINT"
        case SIGTERM: return "SIGTERM"
        case SIGHUP: return "SIGHUP"
        case SIGUSR1: return "SIGUSR1"
        default: return "signal \(rawValue)"
        }
    }

    /// Sends this signal to the current process (kill(getpid(), sig)); for tests and self-shutdown.
    public func raiseInProcess() throws(TransportError) {
        _ = try syscallValue("kill") { Glibc.kill(getpid(), rawValue) }
    }
}

/// Turns signals into handler calls on a queue (swift-service-lifecycle's approach): the default
/// disposition is replaced by SIG_IGN (so the process is not killed) and a
/// `DispatchSource.makeSignalSource` per signal calls `handler` on `queue`.
///
/// Linux detail (swift-corelibs-libdispatch `event_epoll.c`): a signal source is registered
/// asynchronously, and registration replaces the disposition with libdispatch's own handler feeding
/// a signalfd. A signal arriving before that is ignored (SIG_IGN), not fatal and not delivered; call
/// `waitUntilReady(timeout:)` when it matters (tests, or a supervisor that signals right after start).
///
/// `cancel()` stops delivery; the signals stay caught/ignored (restoring the default while a signal
/// may be in flight would kill the process). Thread-safe: Dispatch sources may be cancelled from anywhere.
public final class SignalWatcher: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]
    private let registered = DispatchSemaphore(value: 0)
    private let count: Int

    public init(signals: [Signal] = [.interrupt, .terminate], queue: DispatchQueue,
                handler: @escaping @Sendable (Signal) -> Void) {
        var sources: [DispatchSourceSignal] = []
        for sig in signals {
            _ = Glibc.signal(sig.rawValue, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig.rawValue, queue: queue)
            source.setEventHandler { handler(sig) }
            source.setRegistrationHandler { [registered] in registered.signal() }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
        self.count = sources.count
    }

    /// Blocks until every signal source is registered with the kernel (so a signal sent from now on
    /// is delivered), or `timeout` passes; returns whether all are registered. Call it from a thread
    /// other than the watcher's queue (the registration handlers run on that queue). Call at most once.
    public func waitUntilReady(timeout: Duration = .seconds(5)) -> Bool {
        let deadline = DispatchTime.now() + timeout.dispatchInterval
        for _ in 0..<count where registered.wait(timeout: deadline) != .success { return false }
        return true
    }

    /// Stops delivering signals (idempotent).
    public func cancel() { for source in sources { source.cancel() } }
}
