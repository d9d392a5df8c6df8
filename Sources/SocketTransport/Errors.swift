// SocketTransport: the only GossipRec target that calls Glibc for I/O.
//
// Shape follows swift-nio (NIOPosix `System.swift` syscall wrappers, `BaseSocket` descriptor
// ownership) and swift-system (`Errno`, `FileDescriptor`): C integers are wrapped in small typed
// values at the boundary and never leave this module.
import Glibc

/// A POSIX error number (the C `errno` value), as in swift-system's `Errno`.
///
/// `description` is `strerror(3)` plus the symbolic number, e.g. "Connection refused (errno 111)".
public struct Errno: Error, Hashable, Sendable, CustomStringConvertible {
    /// The C `errno` value this wraps.
    public let rawValue: Int32

    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// `ECONNREFUSED`: nobody listens on the remote port.
    public static let connectionRefused = Errno(rawValue: ECONNREFUSED)
    /// `EADDRINUSE`: the local address/port is already bound.
    public static let addressInUse = Errno(rawValue: EADDRINUSE)
    /// `ETIMEDOUT`: used for connects that miss their deadline (and by the kernel).
    public static let timedOut = Errno(rawValue: ETIMEDOUT)
    /// `ECONNRESET`: the remote reset the connection.
    public static let connectionReset = Errno(rawValue: ECONNRESET)
    /// `EPIPE`: write after the remote closed.
    public static let brokenPipe = Errno(rawValue: EPIPE)
    /// `EMSGSIZE`: a datagram larger than the socket allows.
    public static let messageTooLarge = Errno(rawValue: EMSGSIZE)
    /// `EADDRNOTAVAIL`: the address is not local / not reachable from here.
    public static let addressNotAvailable = Errno(rawValue: EADDRNOTAVAIL)

    public var description: String {
        guard let text = strerror(rawValue) else { return "errno \(rawValue)" }
        return "\(String(cString: text)) (errno \(rawValue))"
    }
}

/// A file descriptor number (C `int`). A plain value: it does not own anything. Ownership (closing
/// exactly once) belongs to the socket classes in this module; see `SocketHandle`.
public struct FileDescriptor: Hashable, Sendable, CustomStringConvertible {
    /// The number (read-only outside this module, for diagnostics such as /proc/self/fd/N).
    public let rawValue: Int32
    init(rawValue: Int32) { self.rawValue = rawValue }
    public var description: String { "fd \(rawValue)" }
}

/// Every failure this module reports. Each case names what was attempted and on which address, so
/// that a log line alone says what went wrong ("connect to 127.0.0.1:7001 failed: Connection refused").
public enum TransportError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A system call failed. `call` is the libc function ("bind", "connect", "sendto", ...),
    /// `address` the local or remote address involved, if any.
    case failed(call: String, errno: Errno, address: SocketAddress?)
    /// Text that is not "a.b.c.d:port" or "[v6]:port", or IP bytes of the wrong length.
    case invalidAddress(String)
    /// getaddrinfo(3) could not resolve `host`; `reason` is gai_strerror's text.
    case resolutionFailed(host: String, reason: String)
    /// A bounded buffer would overflow: `what` names it, `limit` is its bound in bytes.
    case limitExceeded(what: String, limit: Int, attempted: Int)
    /// The socket or stream was already closed.
    case closed(what: String)

    public var description: String {
        switch self {
        case let .failed(call, errno, address):
            if let address { return "\(call) (\(address)) failed: \(errno)" }
            return "\(call) failed: \(errno)"
        case let .invalidAddress(text):
            return "invalid socket address \"\(text)\" (expected a.b.c.d:port or [ipv6]:port)"
        case let .resolutionFailed(host, reason):
            return "cannot resolve host \"\(host)\": \(reason)"
        case let .limitExceeded(what, limit, attempted):
            return "\(what) limit of \(limit) bytes exceeded (would hold \(attempted) bytes)"
        case let .closed(what):
            return "\(what) is closed"
        }
    }

    /// The errno of a `.failed` error, nil otherwise.
    public var errno: Errno? {
        if case let .failed(_, e, _) = self { return e }
        return nil
    }
}
