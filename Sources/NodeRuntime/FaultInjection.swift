import GossipProtocol

/// Test-only fault injection (documented in the README, "Running peers"): turns a healthy peer into a lossy,
/// slow, duplicating or stalled one without kernel support (these machines' kernels lack `tc netem`), so a test
/// can put a bad link between peers or between network namespaces (`Scripts/test-netns.sh`).
///
/// Everything acts on *outgoing* traffic of this peer, and only towards `destinations` (empty: every destination),
/// which is how one emulates one bad link: give the peers on one side faults towards the other side's subnet,
/// and the other side the same towards this one. Like netem on an egress qdisc:
/// - a datagram is dropped with probability `dropOutgoingDatagrams` (counted as dropped `fault_injected`), else
///   duplicated with probability `duplicateOutgoingDatagrams` (both byte-identical copies leave together), and
///   held back by `outgoingDelay` plus a uniform extra in `[0, outgoingDelayJitter]` (so jitter reorders);
/// - a model exchange this peer starts waits the same delay before it connects, and the reply to a push that
///   arrived from a destination in the set waits it before it is written (TCP is reliable: no drops there);
/// - delays are one-shot timers on the peer's own event loop, never a sleep: the peer's queue keeps running.
///   A delayed packet still pending when the peer stops is discarded.
/// Every draw comes from the peer's seeded fault generator (`PeerConfig.seed`), so runs are reproducible up to
/// the network's own timing; `PeerStats.faultsInjected` counts what was done.
public struct FaultInjection: Sendable {
    /// Probability of dropping each outgoing datagram (to a destination in the set).
    public var dropOutgoingDatagrams: Double = 0
    /// Probability of sending an outgoing datagram twice (to a destination in the set). Counted by the sender as
    /// `duplicated_datagrams`. In a keyed swarm the receiver drops the second copy in its replay window and counts it
    /// as `replayed`: a byte-identical copy cannot be told from a replay, by design, so a fault-injected run's
    /// `replayed` is (up to datagrams lost or in flight) the senders' `duplicated_datagrams` and reads as no attack.
    /// Unkeyed (`--insecure`), both copies reach the protocol, which tolerates duplicates.
    public var duplicateOutgoingDatagrams: Double = 0
    /// Fixed delay added to outgoing datagrams, outgoing model pushes and model replies (to the set).
    public var outgoingDelay: Duration = .zero
    /// Uniform random extra delay in `[0, outgoingDelayJitter]`, drawn per packet or exchange.
    public var outgoingDelayJitter: Duration = .zero
    /// Faults apply only to traffic towards these prefixes; empty: to every destination.
    public var destinations: [IPPrefix] = []
    /// Accept model streams but never read or answer them: a peer that stalls mid-exchange (any source).
    public var silentModelStreams = false
    /// Peers this one cannot reach: datagrams to them are dropped (counted `partitioned`) and model exchanges
    /// with them fail at once. A partition made at the senders: give every peer on each side the addresses of
    /// the other side (`ScenarioDriver` does for a profile's `partition`), and no traffic crosses in either
    /// direction, on one loopback address where routes cannot be cut. Exchanges already open run to their end.
    public var unreachable: Set<PeerAddress> = []
    public init() {}

    /// Whether faults apply to traffic towards `ip` (4 or 16 bytes).
    public func applies(to ip: [UInt8]) -> Bool { destinations.isEmpty || destinations.contains { $0.contains(ip) } }
    /// Whether any delay is configured.
    public var delays: Bool { outgoingDelay > .zero || outgoingDelayJitter > .zero }
}

/// An IPv4 or IPv6 prefix in CIDR notation: "10.77.2.0/24", "fd00::/8", or a bare address (the host alone).
/// Host bits are masked off ("10.77.2.9/24" is 10.77.2.0/24). An IPv4 address never matches an IPv6 prefix.
public struct IPPrefix: Hashable, Sendable, CustomStringConvertible {
    /// The network address (4 or 16 bytes, network order, host bits zero).
    public let network: [UInt8]
    /// Leading bits that must match: 0...32 (IPv4) or 0...128 (IPv6).
    public let length: Int

    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let host = parts.first, !host.isEmpty else { return nil }
        // PeerAddress parses numeric hosts; a port is needed, any will do.
        guard let a = PeerAddress(host: host, port: 0) else { return nil }
        let bits = a.ip.count * 8
        var length = bits
        if parts.count == 2 {
            guard parts[1].utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let l = Int(parts[1]), (0...bits).contains(l) else { return nil }
            length = l
        }
        self.length = length
        network = a.ip.enumerated().map { i, b in b & Self.maskByte(index: i, length: length) }
    }

    /// Whether `ip` (4 or 16 bytes) lies in this prefix.
    public func contains(_ ip: [UInt8]) -> Bool {
        guard ip.count == network.count else { return false }
        for i in 0..<ip.count where ip[i] & Self.maskByte(index: i, length: length) != network[i] { return false }
        return true
    }

    /// "10.77.2.0/24".
    public var description: String { PeerAddress(ip: network, port: 0).host + "/\(length)" }

    private static func maskByte(index: Int, length: Int) -> UInt8 {
        let covered = length - index * 8
        if covered >= 8 { return 0xFF }
        if covered <= 0 { return 0 }
        return UInt8(truncatingIfNeeded: 0xFF << (8 - covered))
    }
}
