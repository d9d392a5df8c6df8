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
/// `cancel()` stops delivery; the signals stay ignored (restoring the default while a signal may be
/// in flight would kill the process). Thread-safe: Dispatch sources may be cancelled from anywhere.
public final class SignalWatcher: @unchecked Sendable {
    private let sources: [DispatchSourceSignal]

    public init(signals: [Signal] = [.interrupt, .terminate], queue: DispatchQueue,
                handler: @escaping @Sendable (Signal) -> Void) {
        var sources: [DispatchSourceSignal] = []
        for sig in signals {
            _ = Glibc.signal(sig.rawValue, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig.rawValue, queue: queue)
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    /// Stops delivering signals (idempotent).
    public func cancel() { for source in sources { source.cancel() } }
}
