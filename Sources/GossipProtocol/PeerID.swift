import RecommenderModel

/// A peer's identity: a 64-bit number, stable across restarts (it is part of the peer's checkpoint).
/// Peers are plain values (swift-cluster-membership replaced its peer protocols with a value type).
public struct PeerID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var raw: UInt64
    public init(_ raw: UInt64) { self.raw = raw }
    public static func < (a: PeerID, b: PeerID) -> Bool { a.raw < b.raw }
    public var description: String { "p\(raw)" }
}

/// Where a peer listens: an IPv4 or IPv6 address and a port, as a pure value (no sockaddr here;
/// SocketTransport converts). The same port serves UDP (membership) and TCP (model exchange).
///
/// The address is stored inline as two integers, not as an array: every membership record, view entry and
/// rumour holds one, and a heap-allocated `[UInt8]` per address made a 10,000-peer simulation spend its time
/// on reference counting and gigabytes on array headers.
public struct PeerAddress: Hashable, Sendable, CustomStringConvertible {
    /// The address bytes in network order, packed big-endian: IPv6 bytes 0-7 in `high` and 8-15 in `low`;
    /// IPv4 in the low 32 bits of `low`, `high` zero.
    var high: UInt64
    var low: UInt64
    public var port: UInt16
    public private(set) var isIPv6: Bool

    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public var ip: [UInt8] {
        get {
            if !isIPv6 { return (0..<4).map { UInt8(truncatingIfNeeded: low >> (24 - 8 * $0)) } }
            return (0..<8).map { UInt8(truncatingIfNeeded: high >> (56 - 8 * $0)) }
                + (0..<8).map { UInt8(truncatingIfNeeded: low >> (56 - 8 * $0)) }
        }
        set {
            precondition(newValue.count == 4 || newValue.count == 16, "an IP address has 4 or 16 bytes")
            isIPv6 = newValue.count == 16
            high = 0; low = 0
            if isIPv6 {
                for k in 0..<8 { high = high << 8 | UInt64(newValue[k]) }
                for k in 8..<16 { low = low << 8 | UInt64(newValue[k]) }
            } else {
                for b in newValue { low = low << 8 | UInt64(b) }
            }
        }
    }

    public init(ip: [UInt8], port: UInt16) {
        precondition(ip.count == 4 || ip.count == 16, "an IP address has 4 or 16 bytes")
        high = 0; low = 0; isIPv6 = false
        self.port = port
        self.ip = ip
    }

    /// An IPv4 address given as one big-endian integer (10.0.0.1 is 0x0A00_0001).
    public init(ipv4 value: UInt32, port: UInt16) {
        high = 0; low = UInt64(value); isIPv6 = false
        self.port = port
    }

    /// The IPv4 address as one big-endian integer, or nil for IPv6.
    public var ipv4Value: UInt32? { isIPv6 ? nil : UInt32(truncatingIfNeeded: low) }

    /// 4 or 16.
    public var ipByteCount: Int { isIPv6 ? 16 : 4 }

    public static func ipv4(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8, port: UInt16) -> PeerAddress {
        PeerAddress(ipv4: UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d), port: port)
    }

    /// "127.0.0.1:7000" or "[::1]:7000".
    public var description: String { (isIPv6 ? "[\(host)]" : host) + ":\(port)" }

    /// The address alone, without brackets or port: "127.0.0.1" or "0:0:0:0:0:0:0:1" (the form of topology
    /// files' `host=` and checkpoints' known peers; `init?(host:port:)` reads it back).
    public var host: String {
        let ip = self.ip
        if ip.count == 4 { return ip.map(String.init).joined(separator: ".") }
        var groups: [String] = []
        for i in stride(from: 0, to: 16, by: 2) {
            groups.append(String(UInt16(ip[i]) << 8 | UInt16(ip[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":")
    }

    /// A numeric host ("10.0.0.5", "::1" or "[::1]") and a port; nil if the host is not an IP literal.
    public init?(host: some StringProtocol, port: UInt16) {
        var h = Substring(host)
        if h.hasPrefix("[") && h.hasSuffix("]") { h = h.dropFirst().dropLast() }
        self.init(parsing: h.contains(":") ? "[\(h)]:\(port)" : "\(h):\(port)")
    }

    /// Parses "a.b.c.d:port" or "[ipv6]:port" (IPv6 with "::" compression). Host names are not
    /// resolved here (that is I/O); returns nil on anything else.
    public init?(parsing text: String) {
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            let host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":"), let port = UInt16(rest.dropFirst()),
                  let bytes = PeerAddress.parseIPv6(host) else { return nil }
            self.init(ip: bytes, port: port)
            return
        }
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let port = UInt16(parts[1]) else { return nil }
        let octets = parts[0].split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for o in octets {
            guard !o.isEmpty, o.count <= 3, let v = UInt8(o) else { return nil }
            bytes.append(v)
        }
        self.init(ip: bytes, port: port)
    }

    static func parseIPv6(_ s: String) -> [UInt8]? {
        let halves = s.split(separator: "::", omittingEmptySubsequences: false).map(String.init)
        guard halves.count <= 2 else { return nil }
        func groups(_ part: String) -> [UInt16]? {
            if part.isEmpty { return [] }
            var out: [UInt16] = []
            for g in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard !g.isEmpty, g.count <= 4, let v = UInt16(g, radix: 16) else { return nil }
                out.append(v)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count < 8 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
    }
}
