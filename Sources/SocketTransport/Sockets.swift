import Dispatch
import Glibc

/// The single owner of one socket descriptor (swift-nio `BaseSocket`): `close()` closes it exactly
/// once, and dropping an open handle is a bug caught by `deinit`'s assertion ("leaked socket").
///
/// Not synchronized: a handle is used from one thread or serial queue at a time (in GossipRec, its
/// peer's event-loop queue). `@unchecked Sendable` only so it can be handed to that queue.
final class SocketHandle: @unchecked Sendable {
    private(set) var descriptor: FileDescriptor
    private(set) var isOpen = true

    init(_ descriptor: FileDescriptor) { self.descriptor = descriptor }

    /// Closes the descriptor; a second call does nothing (the descriptor is never closed twice).
    func close() throws(TransportError) {
        guard isOpen else { return }
        isOpen = false
        try Posix.close(descriptor)
    }

    /// The open descriptor; traps if closed (using a closed descriptor is a programmer error).
    var fd: FileDescriptor {
        precondition(isOpen, "use of closed socket \(descriptor)")
        return descriptor
    }

    deinit { assert(!isOpen, "leaked socket: \(descriptor) dropped without close()") }
}

/// A non-blocking UDP socket bound to a local address.
///
/// Buffers: a GossipRec host runs hundreds of peers, so the kernel socket buffers are raised to
/// `bufferBytes` (default 4 MiB; Linux silently caps at net.core.rmem_max/wmem_max, read the
/// effective value with `receiveBufferBytes`).
///
/// SO_REUSEADDR is off by default for UDP: on Linux it lets a second socket bind the same port and
/// silently steal unicast datagrams, which is the opposite of what a peer wants.
public final class UDPSocket: @unchecked Sendable {
    /// 4 MiB.
    public static let defaultBufferBytes = 4 << 20
    /// The largest UDP payload (IPv4: 65,507; a 64 KiB buffer holds any datagram).
    public static let maxDatagramBytes = 65_536

    let handle: SocketHandle
    /// The bound address; port 0 at bind time is replaced by the port the kernel chose.
    public let localAddress: SocketAddress
    /// Set while a `ReadWatcher` owns this socket (then only cancelling the watcher closes it).
    var isWatched = false

    /// Binds a new non-blocking UDP socket to `address` (port 0: the kernel picks a free port, see
    /// `localAddress`). IPv6 sockets are IPV6_V6ONLY.
    public init(bindingTo address: SocketAddress, reuseAddress: Bool = false,
                bufferBytes: Int = UDPSocket.defaultBufferBytes) throws(TransportError) {
        let fd = try Posix.socket(family: address.family, type: Posix.datagramType)
        let handle = SocketHandle(fd)
        do throws(TransportError) {
            if reuseAddress {
                try Posix.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, call: "setsockopt(SO_REUSEADDR)")
            }
            if address.family == .ipv6 {
                try Posix.setOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1, call: "setsockopt(IPV6_V6ONLY)")
            }
            let bytes = Int32(clamping: bufferBytes)
            try Posix.setOption(fd, level: SOL_SOCKET, name: SO_RCVBUF, value: bytes, call: "setsockopt(SO_RCVBUF)")
            try Posix.setOption(fd, level: SOL_SOCKET, name: SO_SNDBUF, value: bytes, call: "setsockopt(SO_SNDBUF)")
            try Posix.bind(fd, to: address)
            self.localAddress = try Posix.localAddress(fd)
        } catch {
            try? handle.close()
            throw error
        }
        self.handle = handle
    }

    public var isOpen: Bool { handle.isOpen }
    /// The descriptor number, also after close (diagnostics only: this socket owns it).
    public var descriptor: FileDescriptor { handle.descriptor }

    /// The kernel's effective receive buffer (SO_RCVBUF as reported by getsockopt).
    public var receiveBufferBytes: Int {
        get throws(TransportError) {
            Int(try Posix.getOption(handle.fd, level: SOL_SOCKET, name: SO_RCVBUF, call: "getsockopt(SO_RCVBUF)"))
        }
    }

    /// Sends one datagram. Returns false if the socket buffer is full (would block): the datagram
    /// was not sent; UDP is lossy anyway, so callers count it as a drop rather than queueing.
    @discardableResult
    public func send(_ bytes: UnsafeRawBufferPointer, to address: SocketAddress) throws(TransportError) -> Bool {
        switch try Posix.sendTo(handle.fd, bytes, to: address) {
        case .done: return true
        case .wouldBlock: return false
        }
    }

    /// `send(_:to:)` for an array.
    @discardableResult
    public func send(_ bytes: [UInt8], to address: SocketAddress) throws(TransportError) -> Bool {
        // Array.withUnsafeBytes is `rethrows` (untyped), so carry the typed error out in a Result.
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(TransportError) -> Bool in try send(raw, to: address) }
        }
        return try result.get()
    }

    /// One received datagram: `count` bytes at the start of the caller's buffer, from `sender`.
    /// `truncated`: the datagram was longer than the buffer (the tail is lost; `count` is the buffer size).
    public struct Received: Sendable {
        public var count: Int
        public var sender: SocketAddress?
        public var truncated: Bool
    }

    /// Receives one datagram into `buffer`; nil when none is waiting (would block).
    public func receive(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> Received? {
        switch try Posix.receiveFrom(handle.fd, into: buffer, local: localAddress) {
        case .wouldBlock: return nil
        case .done(let (n, sender)):
            return Received(count: min(n, buffer.count), sender: sender, truncated: n > buffer.count)
        }
    }

    /// Closes the socket. Not allowed while a `ReadWatcher` owns it (cancel the watcher instead,
    /// which closes the socket after its Dispatch source is torn down).
    public func close() throws(TransportError) {
        precondition(!isWatched, "UDPSocket \(localAddress) is owned by a ReadWatcher: cancel the watcher instead")
        try handle.close()
    }
}

/// A non-blocking TCP listening socket. SO_REUSEADDR is on, so a restarted peer can rebind its port
/// while old connections sit in TIME_WAIT (for TCP it does not allow two listeners on one port).
public final class TCPListener: @unchecked Sendable {
    let handle: SocketHandle
    public let localAddress: SocketAddress
    var isWatched = false

    /// Binds and listens on `address` (port 0: the kernel picks, see `localAddress`).
    public init(bindingTo address: SocketAddress, backlog: Int = 256) throws(TransportError) {
        let fd = try Posix.socket(family: address.family, type: Posix.streamType)
        let handle = SocketHandle(fd)
        do throws(TransportError) {
            try Posix.setOption(fd, level: SOL_SOCKET, name: SO_REUSEADDR, value: 1, call: "setsockopt(SO_REUSEADDR)")
            if address.family == .ipv6 {
                try Posix.setOption(fd, level: Int32(IPPROTO_IPV6), name: IPV6_V6ONLY, value: 1, call: "setsockopt(IPV6_V6ONLY)")
            }
            try Posix.bind(fd, to: address)
            let local = try Posix.localAddress(fd)
            try Posix.listen(fd, backlog: Int32(clamping: backlog), address: local)
            self.localAddress = local
        } catch {
            try? handle.close()
            throw error
        }
        self.handle = handle
    }

    public var isOpen: Bool { handle.isOpen }
    /// The descriptor number, also after close (diagnostics only: this listener owns it).
    public var descriptor: FileDescriptor { handle.descriptor }

    /// Accepts one pending connection (non-blocking, TCP_NODELAY set); nil when none is waiting.
    public func accept() throws(TransportError) -> TCPConnection? {
        guard let (fd, peer) = try Posix.accept(handle.fd, local: localAddress) else { return nil }
        let connection = TCPConnection(handle: SocketHandle(fd), remoteAddress: peer)
        do throws(TransportError) { try connection.setNoDelay() } catch {
            try? connection.close()
            throw error
        }
        return connection
    }

    public func close() throws(TransportError) {
        precondition(!isWatched, "TCPListener \(localAddress) is owned by a ReadWatcher: cancel the watcher instead")
        try handle.close()
    }
}

/// A connected (or connecting) non-blocking TCP socket. Reads and writes may be partial; would-block
/// is a result. Use `TCPStream` to drive one from an event loop with bounded buffers and deadlines.
public final class TCPConnection: @unchecked Sendable {
    let handle: SocketHandle
    public let remoteAddress: SocketAddress
    var isWatched = false

    init(handle: SocketHandle, remoteAddress: SocketAddress) {
        self.handle = handle
        self.remoteAddress = remoteAddress
    }

    /// Starts a non-blocking connect. `connected` is true if it completed at once; otherwise wait for
    /// writability and call `finishConnect()` (`EventLoop.connect` does all of this with a timeout).
    public static func startConnect(to address: SocketAddress) throws(TransportError) -> (connection: TCPConnection, connected: Bool) {
        let fd = try Posix.socket(family: address.family, type: Posix.streamType)
        let connection = TCPConnection(handle: SocketHandle(fd), remoteAddress: address)
        do throws(TransportError) {
            try connection.setNoDelay()
            let connected = try Posix.connect(fd, to: address)
            return (connection, connected)
        } catch {
            try? connection.close()
            throw error
        }
    }

    /// After writability: reads SO_ERROR and throws `.failed(call: "connect", ...)` if the connect failed.
    public func finishConnect() throws(TransportError) {
        let code = try Posix.getOption(handle.fd, level: SOL_SOCKET, name: SO_ERROR, call: "getsockopt(SO_ERROR)")
        if code != 0 {
            throw TransportError.failed(call: "connect", errno: Errno(rawValue: code), address: remoteAddress)
        }
    }

    public var isOpen: Bool { handle.isOpen }

    /// Disables Nagle's algorithm (TCP_NODELAY): small protocol frames go out at once.
    public func setNoDelay() throws(TransportError) {
        try Posix.setOption(handle.fd, level: Int32(IPPROTO_TCP), name: TCP_NODELAY, value: 1, call: "setsockopt(TCP_NODELAY)")
    }

    /// Sets SO_SNDBUF and SO_RCVBUF (the kernel may round or cap them).
    public func setBufferSizes(bytes: Int) throws(TransportError) {
        let v = Int32(clamping: bytes)
        try Posix.setOption(handle.fd, level: SOL_SOCKET, name: SO_SNDBUF, value: v, call: "setsockopt(SO_SNDBUF)")
        try Posix.setOption(handle.fd, level: SOL_SOCKET, name: SO_RCVBUF, value: v, call: "setsockopt(SO_RCVBUF)")
    }

    public enum ReadResult: Equatable, Sendable {
        /// This many bytes were read into the start of the buffer (> 0).
        case bytes(Int)
        /// Nothing to read now.
        case wouldBlock
        /// The remote closed its sending side (orderly FIN).
        case endOfStream
    }

    /// Reads up to `buffer.count` bytes.
    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(TransportError) -> ReadResult {
        switch try Posix.receive(handle.fd, into: buffer, address: remoteAddress) {
        case .wouldBlock: return .wouldBlock
        case .done(0): return buffer.count == 0 ? .bytes(0) : .endOfStream
        case .done(let n): return .bytes(n)
        }
    }

    /// Writes a prefix of `bytes`; returns how many were written, or nil if none could be (would block).
    /// Never raises SIGPIPE (MSG_NOSIGNAL); a closed remote is `.failed(call: "send", errno: EPIPE...)`.
    public func write(_ bytes: UnsafeRawBufferPointer) throws(TransportError) -> Int? {
        switch try Posix.send(handle.fd, bytes, address: remoteAddress) {
        case .wouldBlock: return nil
        case .done(let n): return n
        }
    }

    /// Half-close: sends FIN after queued data; reads still work (orderly close).
    public func shutdownWrite() throws(TransportError) {
        try Posix.shutdownWrite(handle.fd, address: remoteAddress)
    }

    /// Closes the descriptor (the remote sees FIN, or RST if unread data was pending).
    public func close() throws(TransportError) {
        precondition(!isWatched, "TCPConnection to \(remoteAddress) is owned by a TCPStream: close the stream instead")
        try handle.close()
    }
}

/// A peer's two sockets on ONE port: TCP (model exchange) and UDP (membership gossip).
public struct PeerSockets: Sendable {
    public let tcp: TCPListener
    public let udp: UDPSocket
    /// The shared port.
    public var port: UInt16 { tcp.localAddress.port }
    /// The listener's and the UDP socket's descriptor numbers (diagnostics: tests match them in /proc/self/fd).
    public var descriptors: [FileDescriptor] { [tcp.descriptor, udp.descriptor] }

    /// Binds TCP and UDP on `address`. With port 0, binds TCP to a kernel-chosen port first, then
    /// UDP to the same port; if that UDP port is taken, closes the listener and retries with a new
    /// port, up to `attempts` times. With a fixed port, both are bound to it (no retry).
    public static func bind(_ address: SocketAddress, attempts: Int = 16,
                            udpBufferBytes: Int = UDPSocket.defaultBufferBytes) throws(TransportError) -> PeerSockets {
        precondition(attempts > 0, "attempts must be positive")
        var lastError: TransportError?
        for _ in 0..<(address.port == 0 ? attempts : 1) {
            let tcp = try TCPListener(bindingTo: address)
            do throws(TransportError) {
                let udp = try UDPSocket(bindingTo: address.withPort(tcp.localAddress.port), bufferBytes: udpBufferBytes)
                return PeerSockets(tcp: tcp, udp: udp)
            } catch {
                try? tcp.close()
                lastError = error
                if address.port != 0 || error.errno != .addressInUse { throw error }
            }
        }
        throw lastError!
    }
}
