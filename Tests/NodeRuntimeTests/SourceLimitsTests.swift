import GossipProtocol
import Testing
@testable import NodeRuntime

/// `SourceLimits` on hand-made timelines: refill, burst, independence of sources, eviction, bounded memory, fair
/// slot sharing, and the worst cases its documentation names.
@Suite struct SourceLimitsTests {
    static func ip(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) -> SourceAddress { SourceAddress(ip: [a, b, c, d])! }
    static func at(_ seconds: Double) -> Instant { Instant(nanoseconds: Int64(seconds * 1e9)) }
    static let a = ip(10, 0, 0, 1), b = ip(10, 0, 0, 2), c = ip(10, 0, 0, 3), d = ip(10, 0, 0, 4)

    static func settings(datagrams: SourceLimits.Rate? = nil, connections: SourceLimits.Rate? = nil,
                         bytes: SourceLimits.Rate? = nil, maxSources: Int = 16) -> SourceLimits.Settings {
        SourceLimits.Settings(datagrams: datagrams, connections: connections, inboundBytes: bytes, maxSources: maxSources)
    }

    /// How many of `count` events at one instant are accepted.
    static func accepted(_ count: Int, _ event: () -> SourceLimits.Verdict) -> Int {
        (0..<count).filter { _ in event() == .accept }.count
    }

    @Test func aBurstPassesThenTheRateRefillsUpToTheBurstOnly() {
        var l = SourceLimits(settings: Self.settings(datagrams: .init(perSecond: 10, burst: 5)))
        #expect(Self.accepted(8) { l.onDatagram(from: Self.a, bytes: 100, now: Self.at(0)) } == 5)
        #expect(l.onDatagram(from: Self.a, bytes: 100, now: Self.at(0)) == .drop(.datagrams))
        // 0.25 s later: 2.5 tokens back, so two datagrams.
        #expect(Self.accepted(5) { l.onDatagram(from: Self.a, bytes: 100, now: Self.at(0.25)) } == 2)
        // A long silence refills to the burst, not beyond.
        #expect(Self.accepted(50) { l.onDatagram(from: Self.a, bytes: 100, now: Self.at(100)) } == 5)
        // A steady 10/s is sustained forever: one every 0.1 s.
        let steady = (1...100).filter { k in l.onDatagram(from: Self.a, bytes: 100, now: Self.at(100 + Double(k) * 0.1)) == .accept }
        #expect(steady.count == 100)
    }

    @Test func timeThatRunsBackwardsRefillsNothing() {
        var l = SourceLimits(settings: Self.settings(connections: .init(perSecond: 1, burst: 2)))
        #expect(Self.accepted(3) { l.onConnection(from: Self.a, now: Self.at(10)) } == 2)
        #expect(l.onConnection(from: Self.a, now: Self.at(5)) == .drop(.connections))
        #expect(l.onConnection(from: Self.a, now: Self.at(10.5)) == .drop(.connections))   // half a token
        #expect(l.onConnection(from: Self.a, now: Self.at(11)) == .accept)
    }

    @Test func aDatagramCostsADatagramTokenAndItsBytesBothOrNeither() {
        var l = SourceLimits(settings: Self.settings(datagrams: .init(perSecond: 1, burst: 3), bytes: .init(perSecond: 1, burst: 1_000)))
        #expect(l.onDatagram(from: Self.a, bytes: 900, now: .zero) == .accept)
        #expect(l.onDatagram(from: Self.a, bytes: 200, now: .zero) == .drop(.bytes))
        // The refused datagram took no datagram token: two more small ones pass, the third is out of datagrams.
        #expect(l.onDatagram(from: Self.a, bytes: 50, now: .zero) == .accept)
        #expect(l.onDatagram(from: Self.a, bytes: 50, now: .zero) == .accept)
        #expect(l.onDatagram(from: Self.a, bytes: 0, now: .zero) == .drop(.datagrams))
        // Stream bytes draw on the same byte bucket (0 left): refused; a second later 1 byte is back.
        #expect(l.onStreamBytes(from: Self.a, bytes: 1, now: .zero) == .drop(.bytes))
        #expect(l.onStreamBytes(from: Self.a, bytes: 1, now: Self.at(1)) == .accept)
        // A chunk larger than the whole burst never passes.
        #expect(l.onStreamBytes(from: Self.b, bytes: 1_001, now: Self.at(1_000)) == .drop(.bytes))
    }

    @Test func sourcesAreIPAddressesEachWithItsOwnBuckets() {
        var l = SourceLimits(settings: Self.settings(connections: .init(perSecond: 1, burst: 1)))
        #expect(l.onConnection(from: Self.a, now: .zero) == .accept)
        #expect(l.onConnection(from: Self.a, now: .zero) == .drop(.connections))
        #expect(l.onConnection(from: Self.b, now: .zero) == .accept)   // another address: untouched by a's flood
        // An IPv4-mapped IPv6 address is its IPv4 address.
        let mapped = SourceAddress(ip: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 10, 0, 0, 1])!
        #expect(mapped == Self.a)
        #expect(l.onConnection(from: mapped, now: .zero) == .drop(.connections))
        // IPv6: one /64 is one source; another /64 is another; no IPv6 source equals an IPv4 one.
        let v6a = SourceAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [0, 0, 0, 0, 0, 0, 0, 1])!
        let v6b = SourceAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 1] + [0xAB, 0xCD, 0, 0, 0, 0, 9, 9])!
        let v6c = SourceAddress(ip: [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 2] + [0, 0, 0, 0, 0, 0, 0, 1])!
        let loop6 = SourceAddress(ip: Array(repeating: 0, count: 15) + [1])!
        #expect(v6a == v6b)
        #expect(v6a != v6c)
        #expect(loop6 != SourceAddress(ip: [0, 0, 0, 1])!)
        #expect(SourceAddress(ip: [1, 2, 3]) == nil)
        #expect(Self.a.description == "10.0.0.1")
        #expect(v6a.description == "2001:db8:0:1::/64")
    }

    @Test func aFullTableForgetsTheSourceHeardFromLeastRecently() {
        var l = SourceLimits(settings: Self.settings(connections: .init(perSecond: 1, burst: 1), maxSources: 3))
        for s in [Self.a, Self.b, Self.c] { #expect(l.onConnection(from: s, now: .zero) == .accept) }
        #expect(l.onConnection(from: Self.a, now: Self.at(0.1)) == .drop(.connections))   // a is now the most recent
        #expect(l.onConnection(from: Self.d, now: Self.at(0.2)) == .accept)                // b goes, not a
        #expect(l.sourcesByRecency == [Self.d, Self.a, Self.c])
        #expect(l.trackedSources == 3 && l.evictions == 1)
        #expect(!l.isTracked(Self.b))
        // a kept its empty bucket; b comes back as a new source, with a full one (and c goes).
        #expect(l.onConnection(from: Self.a, now: Self.at(0.3)) == .drop(.connections))
        #expect(l.onConnection(from: Self.b, now: Self.at(0.3)) == .accept)
        #expect(l.sourcesByRecency == [Self.b, Self.a, Self.d])
    }

    /// The spoofing worst case: every datagram from a new address. The limit cannot hold (each new source has a
    /// full bucket, as documented), but memory stays bounded and the recency list stays whole.
    @Test func memoryStaysBoundedWhateverTheSourceAddresses() {
        var l = SourceLimits(settings: Self.settings(datagrams: .init(perSecond: 1, burst: 1), bytes: .init(perSecond: 1e6, burst: 1e6),
                                                     maxSources: 64))
        var accepted = 0
        for k in 0..<100_000 {
            let s = SourceAddress(ip: [UInt8(k >> 16 & 0xFF), UInt8(k >> 8 & 0xFF), UInt8(k & 0xFF), 7])!
            if l.onDatagram(from: s, bytes: 10, now: Self.at(Double(k) * 1e-6)) == .accept { accepted += 1 }
        }
        #expect(accepted == 100_000)
        #expect(l.trackedSources == 64)
        #expect(l.evictions == 100_000 - 64)
        let order = l.sourcesByRecency
        #expect(order.count == 64 && Set(order).count == 64)
        #expect(order.first == SourceAddress(ip: [1, 134, 159, 7]))   // 99,999 = 0x01869F, the last one seen
    }

    /// The shared-address worst case: an attacker on the honest peers' address (all of a loopback swarm) empties
    /// their common bucket; a source on another address is untouched.
    @Test func anAttackerSharingTheSwarmsAddressStarvesItButNoOtherAddress() {
        var l = SourceLimits(settings: .default)
        let loopback = Self.ip(127, 0, 0, 1), other = Self.ip(127, 0, 0, 2)
        let flood = Self.accepted(100_000) { l.onDatagram(from: loopback, bytes: 64, now: Self.at(1)) }
        #expect(flood == 4_000)
        #expect(l.onDatagram(from: loopback, bytes: 64, now: Self.at(1)) == .drop(.datagrams))
        #expect(l.onDatagram(from: other, bytes: 64, now: Self.at(1)) == .accept)
    }

    /// The defaults hold a 943-peer swarm behind one address: a seed's join storm (every peer joins within a
    /// second and again 2 s later), then a minute of steady traffic (4 datagrams/s from each of 943 peers' share,
    /// 31 rejoins/s, 10 model pushes/s of 1 MB with bursts of 30 connections), without one drop.
    @Test func theDefaultsNeverThrottleA943PeerSwarmBehindOneAddress() {
        var l = SourceLimits(settings: .default)
        let swarm = Self.ip(127, 0, 0, 1)
        var drops = 0
        func count(_ v: SourceLimits.Verdict) { if v != .accept { drops += 1 } }
        for k in 0..<943 { count(l.onDatagram(from: swarm, bytes: 60, now: Self.at(Double(k) / 943))) }
        for k in 0..<943 { count(l.onDatagram(from: swarm, bytes: 60, now: Self.at(2 + Double(k) / 943))) }
        for ms in stride(from: 3_000, to: 63_000, by: 10) {
            let t = Self.at(Double(ms) / 1_000)
            // 35 datagrams a second of ~1,000 bytes (pings, acks, shuffles with piggy-backed rumours, rejoins).
            if ms % 30 == 0 { count(l.onDatagram(from: swarm, bytes: 1_000, now: t)) }
            // 10 pushes a second, each 1 MB in 256 KiB chunks; every 3 s, a burst of 30 at once.
            if ms % 100 == 0 || (ms % 3_000 == 0) {
                for _ in 0..<(ms % 3_000 == 0 ? 30 : 1) {
                    count(l.onConnection(from: swarm, now: t))
                    for _ in 0..<4 { count(l.onStreamBytes(from: swarm, bytes: 262_144, now: t)) }
                }
            }
        }
        #expect(drops == 0)
        #expect(l.trackedSources == 1)
    }

    @Test func limitsThatAreOffAcceptEverythingAndTrackNothing() {
        var l = SourceLimits(settings: .off)
        for k in 0..<10_000 {
            let s = SourceAddress(ip: [10, 0, UInt8(k >> 8 & 0xFF), UInt8(k & 0xFF)])!
            #expect(l.onDatagram(from: s, bytes: 65_000, now: .zero) == .accept)
            #expect(l.onConnection(from: s, now: .zero) == .accept)
            #expect(l.onStreamBytes(from: s, bytes: 1 << 30, now: .zero) == .accept)
        }
        #expect(l.trackedSources == 0)
        #expect(SourceLimits.Settings.default.validate() == nil)
        #expect(SourceLimits.Settings.off.isOff)
        #expect(Self.settings(datagrams: .init(perSecond: 0, burst: 1)).validate() != nil)
        #expect(Self.settings(connections: .init(perSecond: 1, burst: 0.5)).validate() != nil)
        #expect(Self.settings(maxSources: 0).validate() != nil)
    }

    @Test func ratesParseFromFlagText() {
        typealias Rate = SourceLimits.Rate
        #expect(Rate.parse("1000/4000") == .some(Rate(perSecond: 1_000, burst: 4_000)))
        #expect(Rate.parse("50") == .some(Rate(perSecond: 50, burst: 200)))
        #expect(Rate.parse("64/256", unit: 1_048_576) == .some(Rate(perSecond: 64 * 1_048_576, burst: 256 * 1_048_576)))
        #expect(Rate.parse("0.5/2") == .some(Rate(perSecond: 0.5, burst: 2)))
        #expect(Rate.parse("off") == .some(nil))
        for bad in ["", "0", "-1/4", "1/0", "1/2/3", "x", "1/", "inf", "nan/1", "0.1/0.5"] {
            #expect(Rate.parse(bad) == nil, "'\(bad)' parsed")
        }
    }

    @Test func inboundSlotsAreSharedFairlyAmongSources() {
        let (x, h) = (Self.a, Self.b)
        // Below capacity: anyone gets in.
        #expect(SourceLimits.inboundSlot(for: x, open: [x, x, x], capacity: 4) == .accept)
        // A source holding every slot gives its oldest to a source holding none...
        #expect(SourceLimits.inboundSlot(for: h, open: [h, x, x, x], capacity: 4) == .replace(1))
        #expect(SourceLimits.inboundSlot(for: h, open: [x, x, x, x], capacity: 4) == .replace(0))
        // ... but never more than evens the shares: 2 and 2 stay, and a source never displaces itself.
        #expect(SourceLimits.inboundSlot(for: h, open: [x, h, x, h], capacity: 4) == .refuse)
        #expect(SourceLimits.inboundSlot(for: x, open: [x, x, x, x], capacity: 4) == .refuse)
        // 2 against 1 in 3 slots is as even as it gets: no ping-pong of one slot between two sources.
        #expect(SourceLimits.inboundSlot(for: h, open: [x, x, h], capacity: 3) == .refuse)
        // 3 against 1: the one takes one more (2 and 2).
        #expect(SourceLimits.inboundSlot(for: h, open: [h, x, x, x], capacity: 4) == .replace(1))
        // A third source takes from the heaviest.
        #expect(SourceLimits.inboundSlot(for: Self.c, open: [h, x, h, x, x, h, h, h], capacity: 8) == .replace(0))
        #expect(SourceLimits.inboundSlot(for: x, open: [], capacity: 0) == .refuse)
    }

    /// The slow-loris worst case, played out: an attacker refills every slot with silent connections as fast as
    /// slots free up; an honest source's pushes (each done within the round it arrived in) always get a slot; and
    /// when both keep every stream open, they end with half the slots each.
    @Test func aSourceHoldingEverySlotCannotShutOutAnotherSource() {
        let (x, h) = (Self.a, Self.b)
        func arrive(_ s: SourceAddress, _ open: inout [SourceAddress]) -> Bool {
            switch SourceLimits.inboundSlot(for: s, open: open, capacity: 16) {
            case .accept: open.append(s); return true
            case .replace(let at): open.remove(at: at); open.append(s); return true
            case .refuse: return false
            }
        }
        var open: [SourceAddress] = Array(repeating: x, count: 16)
        var honestAdmitted = 0
        for _ in 0..<200 {
            _ = arrive(x, &open)
            if arrive(h, &open) { honestAdmitted += 1 }
            _ = arrive(x, &open)
            open.removeAll { $0 == h }   // the honest push completed
            _ = arrive(x, &open)
        }
        #expect(honestAdmitted == 200)
        #expect(open == Array(repeating: x, count: 16))
        // Both sources hold on to every stream: the shares even out at 8 and 8, and stay there.
        for _ in 0..<100 { _ = arrive(x, &open); _ = arrive(h, &open); _ = arrive(x, &open) }
        #expect(open.filter { $0 == h }.count == 8 && open.count == 16)
    }
}
