import GossipProtocol

/// Admission limits per source, applied by the node before any byte is decoded: one token bucket per source for
/// datagrams, one for new TCP connections, one for inbound bytes (datagram bytes and inbound model-stream bytes
/// together), in a bounded table of sources; and fair sharing of the inbound stream slots among sources
/// (`inboundSlot`). Pure: no clock, no socket; every call takes `now`, and the node counts every `.drop` by its
/// `reason` in the peer's `dropped` counters like a decode failure.
///
/// **A source** is an IP address (`SourceAddress`), never a port: one host can open as many ports as it likes.
/// An IPv4 address and its IPv4-mapped IPv6 form are the same source, and an IPv6 source is its /64 prefix (a host
/// usually holds a whole /64, so per-address buckets would cost an IPv6 attacker nothing).
///
/// **Defaults, and why they are this generous.** Many peers can share one address: a `NodeHost` process hosts
/// hundreds of peers on one IP, and a whole loopback swarm (943 peers in `swarm.sh`) is one source, 127.0.0.1, to
/// every peer. So a default must hold what a receiver gets from a whole swarm behind one address, not from one
/// peer. Honest load per receiver, with the default 1 s periods: about 4 datagrams a second (a ping and its ack, a
/// shuffle and its reply), a join every `rejoinInterval` (30 s) from each peer that names it as seed (943 peers and
/// one seed: 31 joins/s, and a join storm of one join per peer, retried every 2 s, when a swarm starts), and about
/// one model push a second (each peer pushes once a period to one partner; a hub of a static topology or client
/// graph gets a few times that), each of a few hundred KB (230 KB on ML-100K). The defaults
/// (`Settings.default`) sit well above that: 1,000 datagrams/s with a burst of 4,000 (a 943-peer join storm fits in
/// the burst), 50 connections/s with a burst of 200, 64 MiB/s of inbound bytes with a burst of 256 MiB (32
/// full-size 8 MiB streams). With one peer per address these are 100 to 1,000 times what an honest peer sends;
/// deployments like that can tighten them (`node --limit-datagrams`, `--limit-connections`, `--limit-inbound-mib`, each also `off`).
/// Keying by full address (IP and port) on loopback instead would not have helped: each TCP connection comes from a
/// fresh ephemeral port, so connections could not be limited at all.
///
/// **The table** holds at most `maxSources` sources (default 4,096). A new source beyond that replaces the source
/// heard from least recently (O(1): an intrusive LRU list over arrays), so memory is bounded whatever the source
/// addresses; a new source starts with full buckets.
///
/// **What each limit leaves an attacker.**
/// - Datagrams (1,000/s, burst 4,000 per source). An outsider without the key gets at most that many datagrams a
///   second past this check, each refused at the header or the tag (`unknown_key`, `bad_tag`, `unsealed`) for
///   about a microsecond of CPU; it can also starve honest peers that share its source address (on loopback: every
///   peer), since they share its bucket. An outsider that spoofs UDP source addresses is not limited at all: every
///   spoofed address is a new source with a full bucket, and the table churns (bounded, O(1) per datagram). Only a
///   global limit would bound that, at the price of letting the attacker throttle everyone. A key holder gets the
///   same rate of authentic datagrams: joins, pings and rumours, which the membership's own bounds then judge
///   (admission 100 members/s, the member cap, incarnation jumps).
/// - Connections (50/s, burst 200 per source). TCP needs a handshake, so sources cannot be spoofed. Each accepted
///   connection costs an accept, a socket and a read buffer until it sends a bad frame or idles out
///   (`TCPStream.Limits.idleTimeout`). The rate does not stop a slow attacker from holding the inbound slots with
///   silent connections (16 of them every 5 s is far below any rate): `inboundSlot` does, by sharing the slots
///   fairly among sources, so a single source can always be displaced by a source holding fewer slots. An
///   attacker with many addresses gets a share per address. A key holder can push authentic model copies at this
///   rate, each merged (and screened by the merge defences).
/// - Bytes (64 MiB/s, burst 256 MiB per source, datagrams and inbound streams together). Bounds the sustained
///   throughput one source can make a peer read, buffer and open (decryption is about 530 MB/s). A chunk larger
///   than the whole burst is never accepted, so the burst must exceed the stream read chunk (256 KiB). Replies on
///   streams this peer opened are not counted: it chose that partner, and `TCPStream.Limits.maxInboundBytes`
///   bounds each reply.
public struct SourceLimits: Sendable {
    /// A token bucket's shape: `perSecond` tokens come back each second, up to `burst`.
    public struct Rate: Hashable, Sendable, CustomStringConvertible {
        public var perSecond: Double
        public var burst: Double
        public init(perSecond: Double, burst: Double) { self.perSecond = perSecond; self.burst = burst }
        public var description: String { "\(perSecond)/s burst \(burst)" }

        /// "RATE/BURST" or "RATE" (burst: 4 seconds' worth), each a positive number times `unit` (e.g. 1,048,576
        /// for a flag in MiB), or "off" (nil). Returns nil for anything else; `.some(nil)` for "off".
        public static func parse(_ text: String, unit: Double = 1) -> Rate?? {
            if text == "off" { return .some(nil) }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { return nil }
            let numbers = parts.map { Double($0) }
            guard numbers.allSatisfy({ $0 != nil && $0!.isFinite && $0! > 0 }) else { return nil }
            let rate = Rate(perSecond: numbers[0]! * unit, burst: (parts.count == 2 ? numbers[1]! : 4 * numbers[0]!) * unit)
            return rate.burst >= 1 ? .some(rate) : nil
        }
    }

    /// Which limits apply (nil: that limit is off) and how many sources are tracked.
    public struct Settings: Hashable, Sendable {
        public var datagrams: Rate?
        public var connections: Rate?
        /// Bytes of datagrams and of inbound model streams.
        public var inboundBytes: Rate?
        public var maxSources: Int

        public init(datagrams: Rate?, connections: Rate?, inboundBytes: Rate?, maxSources: Int) {
            self.datagrams = datagrams; self.connections = connections; self.inboundBytes = inboundBytes
            self.maxSources = maxSources
        }

        /// See the type's documentation for why these numbers.
        public static let `default` = Settings(datagrams: Rate(perSecond: 1_000, burst: 4_000),
                                               connections: Rate(perSecond: 50, burst: 200),
                                               inboundBytes: Rate(perSecond: 64 * 1_048_576, burst: 256 * 1_048_576),
                                               maxSources: 4_096)
        /// Every limit off (no source is tracked).
        public static let off = Settings(datagrams: nil, connections: nil, inboundBytes: nil, maxSources: 1)

        public var isOff: Bool { datagrams == nil && connections == nil && inboundBytes == nil }

        /// Nil when usable, otherwise a message naming the first bad field.
        public func validate() -> String? {
            for (name, rate) in [("datagrams", datagrams), ("connections", connections), ("inboundBytes", inboundBytes)] {
                guard let rate else { continue }
                if !(rate.perSecond > 0 && rate.perSecond.isFinite) { return "\(name) rate must be positive, got \(rate.perSecond)" }
                if !(rate.burst >= 1 && rate.burst.isFinite) { return "\(name) burst must be at least 1, got \(rate.burst)" }
            }
            if maxSources < 1 { return "maxSources must be at least 1, got \(maxSources)" }
            return nil
        }
    }

    /// Why something was refused; `reason` is the key counted in the peer's `dropped`.
    public enum Drop: String, Hashable, Sendable, CaseIterable {
        case datagrams = "rate_datagrams"
        case connections = "rate_connections"
        case bytes = "rate_bytes"
        public var reason: String { rawValue }
    }

    public enum Verdict: Hashable, Sendable {
        case accept
        case drop(Drop)
    }

    public let settings: Settings

    /// One tracked source: its buckets and its place in the recency list.
    private struct Entry {
        var source: SourceAddress
        var datagrams: TokenBucket
        var connections: TokenBucket
        var bytes: TokenBucket
        var newer: Int   // towards the most recent (-1: none)
        var older: Int   // towards the least recent (-1: none)
    }
    private var entries: [Entry] = []
    private var index: [SourceAddress: Int] = [:]
    private var newest = -1
    private var oldest = -1
    /// Sources forgotten to make room for new ones.
    public private(set) var evictions = 0

    public init(settings: Settings = .default) {
        precondition(settings.validate() == nil, "invalid source limits: \(settings.validate()!)")
        self.settings = settings
    }

    /// Sources tracked now (at most `settings.maxSources`).
    public var trackedSources: Int { entries.count }

    /// Whether `source` is tracked now (for tests).
    public func isTracked(_ source: SourceAddress) -> Bool { index[source] != nil }

    // MARK: Events

    /// A datagram of `bytes` bytes arrived from `source`: it costs one datagram token and `bytes` byte tokens, both
    /// or neither.
    public mutating func onDatagram(from source: SourceAddress, bytes: Int, now: Instant) -> Verdict {
        guard settings.datagrams != nil || settings.inboundBytes != nil else { return .accept }
        let i = touch(source, now: now)
        if settings.datagrams != nil && !entries[i].datagrams.has(1) { return .drop(.datagrams) }
        if settings.inboundBytes != nil && !entries[i].bytes.has(Double(bytes)) { return .drop(.bytes) }
        entries[i].datagrams.take(1)
        entries[i].bytes.take(Double(bytes))
        return .accept
    }

    /// A TCP connection from `source` was accepted by the kernel: keep it (one connection token) or close it.
    public mutating func onConnection(from source: SourceAddress, now: Instant) -> Verdict {
        guard settings.connections != nil else { return .accept }
        let i = touch(source, now: now)
        guard entries[i].connections.has(1) else { return .drop(.connections) }
        entries[i].connections.take(1)
        return .accept
    }

    /// `bytes` more bytes arrived on an inbound model stream from `source`: keep reading or close the stream.
    public mutating func onStreamBytes(from source: SourceAddress, bytes: Int, now: Instant) -> Verdict {
        guard settings.inboundBytes != nil else { return .accept }
        let i = touch(source, now: now)
        guard entries[i].bytes.has(Double(bytes)) else { return .drop(.bytes) }
        entries[i].bytes.take(Double(bytes))
        return .accept
    }

    // MARK: Inbound stream slots

    /// What to do with a new inbound stream when the slots may be full.
    public enum Slot: Hashable, Sendable {
        case accept
        /// Every slot is taken and no source holds more than its share: close the new connection ("busy").
        case refuse
        /// Close the open stream at this position of `open` (the oldest of the source holding the most slots) and
        /// take its slot.
        case replace(Int)
    }

    /// Fair sharing of `capacity` inbound stream slots. `open` lists the sources of the open inbound streams,
    /// oldest first. Below capacity a new stream is accepted; at capacity it takes the slot of the oldest stream of
    /// the source holding the most slots if that source holds at least two more than the newcomer's source (so
    /// the shares get more equal), and is refused otherwise. A source alone can hold every slot, but any other
    /// source takes slots back from it until both hold about half: a source holding slots with silent connections
    /// cannot shut others out. Worst case: with S sources competing, each keeps about `capacity / S` slots, so an
    /// attacker with many addresses still crowds out a single honest source; the idle timeout ends its silent
    /// streams, and the connection rate bounds how fast it refills them.
    public static func inboundSlot(for source: SourceAddress, open: [SourceAddress], capacity: Int) -> Slot {
        guard capacity > 0 else { return .refuse }
        guard open.count >= capacity else { return .accept }
        var counts: [SourceAddress: Int] = [:]
        for s in open { counts[s, default: 0] += 1 }
        guard let heaviest = counts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }) else { return .refuse }
        guard counts[source, default: 0] + 2 <= heaviest.value, let at = open.firstIndex(of: heaviest.key) else { return .refuse }
        return .replace(at)
    }

    // MARK: The table

    /// The entry of `source`, created (evicting the least recently seen when full) and made most recent, its
    /// buckets refilled to `now`.
    private mutating func touch(_ source: SourceAddress, now: Instant) -> Int {
        let i: Int
        if let found = index[source] {
            i = found
            unlink(i)
        } else if entries.count < settings.maxSources {
            i = entries.count
            entries.append(fresh(source, now: now))
            index[source] = i
        } else {
            i = oldest
            unlink(i)
            index.removeValue(forKey: entries[i].source)
            entries[i] = fresh(source, now: now)
            index[source] = i
            evictions += 1
        }
        link(i)
        if let r = settings.datagrams { entries[i].datagrams.refill(r, now: now) }
        if let r = settings.connections { entries[i].connections.refill(r, now: now) }
        if let r = settings.inboundBytes { entries[i].bytes.refill(r, now: now) }
        return i
    }

    private func fresh(_ source: SourceAddress, now: Instant) -> Entry {
        Entry(source: source, datagrams: TokenBucket(full: settings.datagrams, now: now),
              connections: TokenBucket(full: settings.connections, now: now),
              bytes: TokenBucket(full: settings.inboundBytes, now: now), newer: -1, older: -1)
    }

    /// Makes entry `i` the most recent.
    private mutating func link(_ i: Int) {
        entries[i].newer = -1
        entries[i].older = newest
        if newest >= 0 { entries[newest].newer = i }
        newest = i
        if oldest < 0 { oldest = i }
    }

    /// Takes entry `i` out of the recency list (it must be in it).
    private mutating func unlink(_ i: Int) {
        let (newer, older) = (entries[i].newer, entries[i].older)
        if newer >= 0 { entries[newer].older = older } else { newest = older }
        if older >= 0 { entries[older].newer = newer } else { oldest = newer }
        entries[i].newer = -1
        entries[i].older = -1
    }

    /// The tracked sources, most recently seen first (for tests).
    public var sourcesByRecency: [SourceAddress] {
        var out: [SourceAddress] = []
        var i = newest
        while i >= 0 { out.append(entries[i].source); i = entries[i].older }
        return out
    }
}

/// A token bucket: `tokens` as of `last`. Time that runs backwards refills nothing.
struct TokenBucket: Sendable {
    var tokens: Double
    var last: Instant

    init(full rate: SourceLimits.Rate?, now: Instant) {
        tokens = rate?.burst ?? 0
        last = now
    }

    mutating func refill(_ rate: SourceLimits.Rate, now: Instant) {
        guard now > last else { return }
        let seconds = (Double(now.nanoseconds) - Double(last.nanoseconds)) / 1e9
        tokens = min(rate.burst, tokens + seconds * rate.perSecond)
        last = now
    }

    func has(_ n: Double) -> Bool { tokens >= n }
    mutating func take(_ n: Double) { tokens -= n }
}

/// A traffic source as the limits see it: an IPv4 address, or an IPv6 /64 prefix (an IPv4-mapped IPv6 address is
/// its IPv4 address). Ports are ignored.
public struct SourceAddress: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// IPv4: 0 and the 32-bit address; IPv6: the /64 prefix with the top bit of `low` set (so no IPv6 prefix equals
    /// an IPv4 address).
    let high: UInt64
    let low: UInt64

    /// From an address's IP bytes (4 or 16, network order); nil for any other length.
    public init?(ip: [UInt8]) {
        func word(_ bytes: ArraySlice<UInt8>) -> UInt64 { bytes.reduce(0) { $0 << 8 | UInt64($1) } }
        if ip.count == 4 {
            high = 0; low = word(ip[0..<4])
        } else if ip.count == 16 {
            if ip[0..<10].allSatisfy({ $0 == 0 }) && ip[10] == 0xFF && ip[11] == 0xFF {
                high = 0; low = word(ip[12..<16])
            } else {
                high = word(ip[0..<8]); low = 1 << 63
            }
        } else {
            return nil
        }
    }

    public static func < (a: SourceAddress, b: SourceAddress) -> Bool { (a.high, a.low) < (b.high, b.low) }

    public var description: String {
        if high == 0 && low >> 32 == 0 {
            return (0..<4).map { String((low >> (8 * (3 - $0))) & 0xFF) }.joined(separator: ".")
        }
        return (0..<4).map { String((high >> (16 * (3 - $0))) & 0xFFFF, radix: 16) }.joined(separator: ":") + "::/64"
    }
}
