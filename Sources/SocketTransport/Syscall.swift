import Glibc

/// The outcome of a non-blocking system call: either it did its work, or the kernel said "not now"
/// (EAGAIN/EWOULDBLOCK, or EINPROGRESS for connect). Would-block is an ordinary result, not an error
/// (swift-nio `IOResult`).
enum IOResult<T> {
    case done(T)
    case wouldBlock
}

/// How the funnel treats a particular call's errno.
enum SyscallKind {
    /// Retry EINTR; EAGAIN/EWOULDBLOCK -> `.wouldBlock`.
    case normal
    /// connect(2): EINPROGRESS (and EINTR, after which the connect continues asynchronously, and
    /// EALREADY) -> `.wouldBlock`; completion is then observed via writability + SO_ERROR.
    case connect
    /// close(2): never retried. On Linux the descriptor is gone even after EINTR (retrying could
    /// close someone else's new descriptor), so EINTR counts as success.
    case close
}

/// The one syscall funnel. Every libc call of this module that reports failure via `-1` + `errno`
/// goes through here (swift-nio `NIOPosix/System.swift` `syscall(blocking:)`, swift-system
/// `valueOrErrno`):
///  - errno is read immediately after the call, before anything else can clobber it;
///  - EINTR is retried (except for close and connect, see `SyscallKind`);
///  - EAGAIN/EWOULDBLOCK (EINPROGRESS for connect) become `.wouldBlock`;
///  - EBADF and EFAULT trap: they mean this process passed a closed descriptor or a bad pointer,
///    a programmer error that must not be "handled";
///  - anything else throws `TransportError.failed(call:errno:address:)` naming the call.
///
/// Not funnelled, because they do not report through `-1` + errno: inet_pton/inet_ntop (pure
/// formatting), getaddrinfo (returns EAI_* codes, mapped to `.resolutionFailed`), signal(2) (SIG_ERR
/// only for invalid signal numbers, which `Signal` cannot hold), strerror.
@inline(never)
func syscall<T: FixedWidthInteger>(
    _ call: StaticString, address: SocketAddress? = nil, kind: SyscallKind = .normal, _ body: () -> T
) throws(TransportError) -> IOResult<T> {
    while true {
        let result = body()
        if result != -1 { return .done(result) }
        let code = Glibc.errno
        switch code {
        case EINTR:
            switch kind {
            case .normal: continue
            case .connect: return .wouldBlock
            case .close: return .done(0)
            }
        case EAGAIN, EWOULDBLOCK:
            if kind == .close { break }
            return .wouldBlock
        case EINPROGRESS, EALREADY:
            if kind == .connect { return .wouldBlock }
        case EBADF, EFAULT:
            preconditionFailure("\(call) failed with \(Errno(rawValue: code)): programmer error (closed descriptor or bad pointer)")
        default:
            break
        }
        throw TransportError.failed(call: "\(call)", errno: Errno(rawValue: code), address: address)
    }
}

/// Like `syscall` for calls that cannot meaningfully would-block (socket, bind, listen, setsockopt):
/// unwraps `.done`, and treats an unexpected would-block as the error it then is.
@inline(__always)
func syscallValue<T: FixedWidthInteger>(
    _ call: StaticString, address: SocketAddress? = nil, _ body: () -> T
) throws(TransportError) -> T {
    switch try syscall(call, address: address, body) {
    case .done(let value): return value
    case .wouldBlock:
        throw TransportError.failed(call: "\(call)", errno: Errno(rawValue: EAGAIN), address: address)
    }
}

/// Thin typed wrappers around the libc socket calls. All go through `syscall`.
enum Posix {
    static let streamType = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    static let datagramType = Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)

    /// A non-blocking, close-on-exec socket for `family`'s address family.
    static func socket(family: SocketAddress.Family, type: Int32) throws(TransportError) -> FileDescriptor {
        let fd = try syscallValue("socket") { Glibc.socket(family.cValue, type, 0) }
        return FileDescriptor(rawValue: fd)
    }

    static func setOption(_ fd: FileDescriptor, level: Int32, name: Int32, value: Int32, call: StaticString) throws(TransportError) {
        var v = value
        _ = try syscallValue(call) {
            Glibc.setsockopt(fd.rawValue, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    static func getOption(_ fd: FileDescriptor, level: Int32, name: Int32, call: StaticString) throws(TransportError) -> Int32 {
        var v: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        _ = try syscallValue(call) { Glibc.getsockopt(fd.rawValue, level, name, &v, &len) }
        return v
    }

    static func bind(_ fd: FileDescriptor, to address: SocketAddress) throws(TransportError) {
        _ = try address.withSockAddr { (ptr, len) throws(TransportError) in
            try syscallValue("bind", address: address) { Glibc.bind(fd.rawValue, ptr, len) }
        }
    }

    static func listen(_ fd: FileDescriptor, backlog: Int32, address: SocketAddress) throws(TransportError) {
        _ = try syscallValue("listen", address: address) { Glibc.listen(fd.rawValue, backlog) }
    }

    /// Returns true if connected at once, false if in progress.
    static func connect(_ fd: FileDescriptor, to address: SocketAddress) throws(TransportError) -> Bool {
        try address.withSockAddr { (ptr, len) throws(TransportError) in
            switch try syscall("connect", address: address, kind: .connect, { Glibc.connect(fd.rawValue, ptr, len) }) {
            case .done: return true
            case .wouldBlock: return false
            }
        }
    }

    static func accept(_ fd: FileDescriptor, local: SocketAddress) throws(TransportError) -> (FileDescriptor, SocketAddress)? {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { p throws(TransportError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(TransportError) in
                try syscall("accept", address: local) { Glibc.accept(fd.rawValue, sp, &len) }
            }
        }
        switch result {
        case .wouldBlock: return nil
        case .done(let newFD):
            let accepted = FileDescriptor(rawValue: newFD)
            do throws(TransportError) {
                // accept(2) does not inherit O_NONBLOCK on Linux (accept4 is not exported to Swift).
                try setNonBlockingCloseOnExec(accepted)
            } catch {
                try? close(accepted)
                throw error
            }
            let peer = SocketAddress(storage: storage) ?? local
            return (accepted, peer)
        }
    }

    static func setNonBlockingCloseOnExec(_ fd: FileDescriptor) throws(TransportError) {
        let flags = try syscallValue("fcntl(F_GETFL)") { Glibc.fcntl(fd.rawValue, F_GETFL) }
        _ = try syscallValue("fcntl(F_SETFL)") { Glibc.fcntl(fd.rawValue, F_SETFL, flags | O_NONBLOCK) }
        _ = try syscallValue("fcntl(F_SETFD)") { Glibc.fcntl(fd.rawValue, F_SETFD, FD_CLOEXEC) }
    }

    static func localAddress(_ fd: FileDescriptor) throws(TransportError) -> SocketAddress {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { p throws(TransportError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(TransportError) in
                try syscallValue("getsockname") { Glibc.getsockname(fd.rawValue, sp, &len) }
            }
        }
        guard let address = SocketAddress(storage: storage) else {
            throw TransportError.failed(call: "getsockname", errno: Errno(rawValue: EAFNOSUPPORT), address: nil)
        }
        return address
    }

    static func sendTo(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, to address: SocketAddress) throws(TransportError) -> IOResult<Int> {
        try address.withSockAddr { (ptr, len) throws(TransportError) in
            try syscall("sendto", address: address) {
                Glibc.sendto(fd.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), ptr, len)
            }
        }
    }

    /// recvfrom with MSG_TRUNC: the returned count is the datagram's real length, which may exceed
    /// the buffer (then the datagram was truncated).
    static func receiveFrom(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, local: SocketAddress)
        throws(TransportError) -> IOResult<(Int, SocketAddress?)> {
        var storage = sockaddr_storage()
        var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = try withUnsafeMutablePointer(to: &storage) { p throws(TransportError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(TransportError) in
                try syscall("recvfrom", address: local) {
                    Glibc.recvfrom(fd.rawValue, buffer.baseAddress, buffer.count, Int32(MSG_TRUNC), sp, &len)
                }
            }
        }
        switch result {
        case .wouldBlock: return .wouldBlock
        case .done(let n): return .done((n, SocketAddress(storage: storage)))
        }
    }

    static func send(_ fd: FileDescriptor, _ bytes: UnsafeRawBufferPointer, address: SocketAddress) throws(TransportError) -> IOResult<Int> {
        try syscall("send", address: address) {
            Glibc.send(fd.rawValue, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL))
        }
    }

    static func receive(_ fd: FileDescriptor, into buffer: UnsafeMutableRawBufferPointer, address: SocketAddress) throws(TransportError) -> IOResult<Int> {
        try syscall("recv", address: address) { Glibc.recv(fd.rawValue, buffer.baseAddress, buffer.count, 0) }
    }

    static func shutdownWrite(_ fd: FileDescriptor, address: SocketAddress) throws(TransportError) {
        _ = try syscall("shutdown", address: address) { Glibc.shutdown(fd.rawValue, Int32(SHUT_WR)) }
    }

    static func close(_ fd: FileDescriptor) throws(TransportError) {
        _ = try syscall("close", kind: .close) { Glibc.close(fd.rawValue) }
    }
}
