import Glibc

/// An IPv4 or IPv6 socket address (C `sockaddr_in` / `sockaddr_in6`), as a value.
///
/// Callers convert from their own value types through `init(ipBytes:port:)` and `ipBytes`/`port`
/// (network byte order IP bytes, host-order port). Text forms: "1.2.3.4:5" and "[::1]:5".
/// IPv6 scope ids (link-local zones) are not supported.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address family (C `AF_INET` / `AF_INET6`).
    public enum Family: Hashable, Sendable {
        case ipv4, ipv6
        var cValue: Int32 { self == .ipv4 ? AF_INET : AF_INET6 }
    }

    /// The IP address, network byte order: 4 bytes (IPv4) or 16 bytes (IPv6).
    public let ipBytes: [UInt8]
    /// The port, host byte order.
    public let port: UInt16

    public var family: Family { ipBytes.count == 4 ? .ipv4 : .ipv6 }

    /// From raw IP bytes (4 or 16, network order) and a port. Traps on any other length: callers hold
    /// validated values (e.g. GossipProtocol's `PeerAddress`, which enforces the same invariant).
    public init(ipBytes: [UInt8], port: UInt16) {
        precondition(ipBytes.count == 4 || ipBytes.count == 16,
                     "an IP address has 4 or 16 bytes, got \(ipBytes.count)")
        self.ipBytes = ipBytes
        self.port = port
    }

    /// 127.0.0.1:port
    public static func loopbackIPv4(port: UInt16) -> SocketAddress { SocketAddress(ipBytes: [127, 0, 0, 1], port: port) }
    /// [::1]:port
    public static func loopbackIPv6(port: UInt16) -> SocketAddress {
        SocketAddress(ipBytes: Array(repeating: 0, count: 15) + [1], port: port)
    }
    /// 0.0.0.0:port (all IPv4 interfaces).
    public static func anyIPv4(port: UInt16) -> SocketAddress { SocketAddress(ipBytes: [0, 0, 0, 0], port: port) }

    /// This address with another port.
    public func withPort(_ port: UInt16) -> SocketAddress { SocketAddress(ipBytes: ipBytes, port: port) }

    /// Parses "a.b.c.d:port" or "[ipv6]:port" (numeric only; see `resolve(host:port:)` for names).
    /// Throws `TransportError.invalidAddress` naming the text.
    public init(parsing text: String) throws(TransportError) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw .invalidAddress(text) }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw .invalidAddress(text) }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw .invalidAddress(text) }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw .invalidAddress(text) } // bare IPv6 needs brackets
        }
        guard let port = UInt16(portText), let bytes = SocketAddress.parseIP(String(host)) else {
            throw .invalidAddress(text)
        }
        self.init(ipBytes: bytes, port: port)
    }

    /// Numeric IPv4 or IPv6 text to network-order bytes, via inet_pton(3) (pure formatting, no I/O).
    static func parseIP(_ text: String) -> [UInt8]? {
        if !text.contains(":") {
            var a = in_addr()
            guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
            return withUnsafeBytes(of: a) { Array($0) }
        }
        var a6 = in6_addr()
        guard inet_pton(AF_INET6, text, &a6) == 1 else { return nil }
        return withUnsafeBytes(of: a6) { Array($0) }
    }

    /// Resolves `host` (a name like "localhost" or a numeric address) with getaddrinfo(3), returning
    /// every IPv4/IPv6 address in resolver order, duplicates removed. Blocking (it may query DNS):
    /// call it at startup, never on a peer's event-loop queue.
    public static func resolve(host: String, port: UInt16) throws(TransportError) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0 else {
            let reason = status == EAI_SYSTEM ? Errno(rawValue: Glibc.errno).description : String(cString: gai_strerror(status))
            throw .resolutionFailed(host: host, reason: reason)
        }
        defer { freeaddrinfo(list) }
        var out: [SocketAddress] = []
        var node = list
        while let info = node {
            if let sa = info.pointee.ai_addr, let address = SocketAddress(sockaddr: sa), !out.contains(address) {
                out.append(address)
            }
            node = info.pointee.ai_next
        }
        if out.isEmpty { throw .resolutionFailed(host: host, reason: "no IPv4 or IPv6 address") }
        return out
    }

    /// From a kernel-filled `sockaddr_storage`; nil for families other than AF_INET/AF_INET6.
    init?(storage: sockaddr_storage) {
        var s = storage
        let result: SocketAddress? = withUnsafePointer(to: &s) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress(sockaddr: $0) }
        }
        guard let result else { return nil }
        self = result
    }

    init?(sockaddr sa: UnsafePointer<sockaddr>) {
        switch Int32(sa.pointee.sa_family) {
        case AF_INET:
            let sin = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in.self)
            self.init(ipBytes: withUnsafeBytes(of: sin.sin_addr) { Array($0) }, port: UInt16(bigEndian: sin.sin_port))
        case AF_INET6:
            let sin6 = UnsafeRawPointer(sa).loadUnaligned(as: sockaddr_in6.self)
            self.init(ipBytes: withUnsafeBytes(of: sin6.sin6_addr) { Array($0) }, port: UInt16(bigEndian: sin6.sin6_port))
        default:
            return nil
        }
    }

    /// Calls `body` with a C `sockaddr` pointer and length for this address.
    func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws(TransportError) -> R) throws(TransportError) -> R {
        if ipBytes.count == 4 {
            var sin = sockaddr_in()
            sin.sin_family = sa_family_t(AF_INET)
            sin.sin_port = port.bigEndian
            withUnsafeMutableBytes(of: &sin.sin_addr) { $0.copyBytes(from: ipBytes) }
            return try withUnsafePointer(to: &sin) { p throws(TransportError) in
                try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(TransportError) in
                    try body(sp, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
        var sin6 = sockaddr_in6()
        sin6.sin6_family = sa_family_t(AF_INET6)
        sin6.sin6_port = port.bigEndian
        withUnsafeMutableBytes(of: &sin6.sin6_addr) { $0.copyBytes(from: ipBytes) }
        return try withUnsafePointer(to: &sin6) { p throws(TransportError) in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp throws(TransportError) in
                try body(sp, socklen_t(MemoryLayout<sockaddr_in6>.size))
            }
        }
    }

    /// The IP alone, canonical text via inet_ntop(3): "127.0.0.1", "::1".
    public var ipText: String {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        let ok: Bool = ipBytes.withUnsafeBytes { raw in
            buffer.withUnsafeMutableBufferPointer { out in
                inet_ntop(family.cValue, raw.baseAddress, out.baseAddress, socklen_t(out.count)) != nil
            }
        }
        guard ok else { return ipBytes.map(String.init).joined(separator: ".") }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// "127.0.0.1:7000" or "[::1]:7000".
    public var description: String {
        family == .ipv4 ? "\(ipText):\(port)" : "[\(ipText)]:\(port)"
    }
}
