import Foundation
import Glibc
import GossipProtocol
import RecommenderModel
import SocketTransport
import SwarmCrypto
import Testing
import WireFormat
@testable import NodeRuntime
import PeerCore

/// One hostile host on loopback (127.0.0.2; the swarm is on 127.0.0.1) against a peer of a live keyed swarm.
/// Bounded in time and count, and everything it opens is closed.
@Suite(.serialized) struct FloodTests {
    static let key = SwarmKey(bytes: [UInt8](repeating: 0xA1, count: 32))!
    static let otherKey = SwarmKey(bytes: [UInt8](repeating: 0xB2, count: 32))!
    static let attackerIP: [UInt8] = [127, 0, 0, 2]

    /// Limits tight enough for the flood to reach every one of them within seconds, yet above what this fast swarm
    /// (40 ms rounds: about 25 pushes and 50 datagrams a second into each peer, all from 127.0.0.1) sends.
    static let testLimits = SourceLimits.Settings(datagrams: .init(perSecond: 500, burst: 1_000),
                                                  connections: .init(perSecond: 100, burst: 100),
                                                  inboundBytes: .init(perSecond: 1_048_576, burst: 2_097_152), maxSources: 64)

    /// The flood: 4,000 datagrams mixing garbage, frames under another key, unsealed frames and replays of one
    /// authentic frame (a key holder's); 200 connections, 10 at a time, each sending 64 KiB of garbage; 40 silent
    /// connections, held open to the end (the slow-loris attack on the inbound slots); then 20,000 garbage
    /// datagrams as fast as the socket takes them. Meanwhile the
    /// flooded peer must keep training, completing its own exchanges and answering the swarm's pushes; every part
    /// of the flood must show in its drop counters by reason; its tables stay bounded; and the other peers, which
    /// the flood never touched, drop nothing for rate.
    @Test func aFloodedPeerKeepsExchangingAndCountsTheFloodByReason() throws {
        let log = SyntheticData.planted(users: 6, items: 40, groups: 2, perUser: 10, seed: 5)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
        let ring = try Keyring(primary: Self.key)
        let nodes = try makeSwarm(split: split, count: 5, period: .milliseconds(40), lines: Lines()) {
            $0.keyring = ring
            $0.sourceLimits = Self.testLimits
        }
        let target = nodes[1]
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        defer { host.stop() }
        let before = pollSnapshots(host, timeout: 5) { snaps in
            snaps.count == 5 && snaps.allSatisfy { $0.counters.exchangesCompleted > 3 && $0.livePeers == 4 }
        }
        let t0 = Date()
        let flood = try Flooder(target: target.address)
        defer { flood.close() }
        try flood.mixedDatagrams(4_000, swarmID: 7, ring: ring)
        for _ in 0..<20 { flood.garbageConnections(10, bytes: 64 << 10); Thread.sleep(forTimeInterval: 0.02) }
        Thread.sleep(forTimeInterval: 0.3)   // some connection tokens back, for the silent connections to take slots
        flood.holdSilentConnections(40)
        let holding = host.snapshots()
        flood.garbageDatagrams(20_000)
        let floodSeconds = Date().timeIntervalSince(t0)
        // The swarm keeps going with the silent connections still held: wait (at most 20 s, for a loaded machine)
        // until the flooded peer has trained and answered pushes well beyond where it stood.
        func servedNow(_ s: [PeerSnapshot]) -> Int {
            s.filter { $0.peer != target.config.id }.map { $0.stats.completedWith[target.config.id, default: 0] }.reduce(0, +)
        }
        let servedBefore = servedNow(before), servedHolding = servedNow(holding)
        let roundBefore = before.first { $0.peer == target.config.id }?.round ?? 0
        let exchangesBefore = before.first { $0.peer == target.config.id }?.counters.exchangesCompleted ?? 0
        let during = pollSnapshots(host, timeout: 20, interval: 0.25) { snaps in
            guard let t = snaps.first(where: { $0.peer == target.config.id }) else { return false }
            let served = servedNow(snaps)
            return served > servedBefore + 10 && served > servedHolding + 10 && t.round > roundBefore + 10
                && t.counters.exchangesCompleted > exchangesBefore + 10
        }
        flood.close()
        let after = pollSnapshots(host, timeout: 2, interval: 0.5) { _ in false }

        func snap(_ s: [PeerSnapshot], _ peer: PeerNode) -> PeerSnapshot? { s.first { $0.peer == peer.config.id } }
        let (t0s, t1s, t2s) = (try #require(snap(before, target)), try #require(snap(during, target)), try #require(snap(after, target)))
        let servedBy = { (s: [PeerSnapshot]) in s.filter { $0.peer != target.config.id }.map { $0.stats.completedWith[target.config.id, default: 0] }.reduce(0, +) }
        let d = t2s.stats.dropped
        print("flood: \(String(format: "%.2f", floodSeconds)) s; target round \(t0s.round) -> \(t1s.round) -> \(t2s.round), "
              + "own exchanges \(t0s.counters.exchangesCompleted) -> \(t2s.counters.exchangesCompleted), "
              + "pushes served \(servedBy(before)) -> \(servedBy(holding)) -> \(servedBy(during)) -> \(servedBy(after)); tracked \(t2s.tracked); "
              + "dropped \(d.sorted { $0.key < $1.key })")
        // It kept learning and exchanging through the flood, both ways.
        #expect(t1s.round > t0s.round + 10 && t2s.round > t1s.round)
        #expect(t1s.counters.exchangesCompleted > t0s.counters.exchangesCompleted + 10)
        #expect(servedBy(during) > servedBy(before) + 10, "the flooded peer stopped answering the swarm's pushes")
        // Including while 40 silent connections tried to hold every inbound slot. (On a loaded machine the wait can
        // outlast their 5 s idle timeout; the `displaced` count below is what shows that slots were taken back from
        // them: plain first-come 'busy' slots never displace.)
        #expect(servedBy(during) > servedBy(holding) + 10, "silent connections shut the swarm's pushes out")
        // Every part of the flood, by reason.
        for reason in ["bad_magic", "unknown_key", "unsealed", "replayed", "rate_datagrams", "rate_connections", "rate_bytes", "displaced"] {
            #expect(d[reason, default: 0] > 0, "no \(reason) drop")
        }
        #expect(d["bad_tag", default: 0] == 0)
        // Bounded: two sources, at most the slots, the swarm plus the one key holder's identity.
        #expect(t2s.tracked.sources == 2)
        #expect(t1s.tracked.inboundStreams <= 16)
        #expect(t2s.tracked.members <= 5 && t2s.livePeers <= 5)
        #expect(t2s.tracked.replaySenders <= 5)
        // The honest peers were never limited (their sources are all 127.0.0.1, untouched by the flood).
        for s in after where s.peer != target.config.id {
            #expect(SourceLimits.Drop.allCases.allSatisfy { s.stats.dropped[$0.reason, default: 0] == 0 }, "peer \(s.peer): \(s.stats.dropped)")
        }
        #expect(floodSeconds < 15)   // the flooder stops by itself after 10 s
    }
}

/// The hostile host: sockets bound to 127.0.0.2, sending to one peer. Every descriptor is closed by `close()`.
final class Flooder: @unchecked Sendable {
    let target: SocketAddress
    let udp: UDPSocket
    private var held: [Int32] = []
    private var closed = false
    /// Nothing more is sent or opened after this: the flood stays bounded in time even if connects stall.
    private let deadline = Date().addingTimeInterval(10)
    private var rng = SplitMix64(seed: 0xF100D)

    init(target: PeerAddress) throws {
        self.target = SocketAddress(ipBytes: target.ip, port: target.port)
        udp = try UDPSocket(bindingTo: SocketAddress(ipBytes: FloodTests.attackerIP, port: 0))
    }

    /// Sends `bytes`, retrying briefly while the socket buffer is full (at most 10 ms per datagram).
    func send(_ bytes: [UInt8]) {
        guard Date() < deadline else { return }
        for _ in 0..<100 {
            if (try? udp.send(bytes, to: target)) == true { return }
            usleep(100)
        }
    }

    /// 64 KiB of random bytes, made once (a debug build is slow at making them per datagram).
    private lazy var noise: [UInt8] = (0..<(64 << 10)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }

    /// `n` (at most 64 KiB) random bytes: a random window of `noise`.
    func garbage(_ n: Int) -> [UInt8] {
        let at = Int(rng.next() % UInt64(noise.count - n + 1))
        return Array(noise[at..<(at + n)])
    }

    func garbageDatagrams(_ count: Int) {
        for _ in 0..<count { send(garbage(200)) }
    }

    /// Round robin: random bytes, a ping sealed under another key, an unsealed ping, and the same authentic ping
    /// (sealed under the swarm key by a key holder calling itself peer 99) again and again.
    func mixedDatagrams(_ count: Int, swarmID: UInt32, ring: Keyring) throws {
        var stranger = FrameSecurity(keyring: try Keyring(primary: FloodTests.otherKey), swarmID: swarmID, epoch: 1)
        var holder = FrameSecurity(keyring: ring, swarmID: swarmID, epoch: 1)
        var sequence: UInt64 = 0
        func ping() -> Envelope {
            sequence += 1
            return Envelope(swarmID: swarmID, sender: PeerID(99), sequence: sequence, message: .ping(seq: sequence, updates: []))
        }
        let replayed = try WireCodec.encode(ping(), security: &holder)
        for k in 0..<count {
            switch k % 4 {
            case 0: send(garbage(120))
            case 1: send(try WireCodec.encode(ping(), security: &stranger))
            case 2: send(try WireCodec.encode(ping()))
            default: send(replayed)
            }
        }
    }

    /// A blocking TCP connection from 127.0.0.2 (1 s send timeout, which bounds connect too); nil if it failed.
    func connect() -> Int32? {
        guard Date() < deadline else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var timeout = timeval(tv_sec: 1, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        withUnsafeMutableBytes(of: &local.sin_addr) { $0.copyBytes(from: FloodTests.attackerIP) }
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = target.port.bigEndian
        withUnsafeMutableBytes(of: &remote.sin_addr) { $0.copyBytes(from: target.ipBytes) }
        let ok = withUnsafePointer(to: &local) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        } && withUnsafePointer(to: &remote) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        if !ok { Glibc.close(fd); return nil }
        return fd
    }

    /// Opens `count` connections that never send a byte, kept until `close()`.
    func holdSilentConnections(_ count: Int) {
        for _ in 0..<count { if let fd = connect() { held.append(fd) } }
    }

    /// Opens `count` connections at once, then sends `bytes` random bytes on each (as much as the peer takes
    /// without blocking) and closes them.
    func garbageConnections(_ count: Int, bytes: Int) {
        let fds = (0..<count).compactMap { _ in connect() }
        for fd in fds {
            let data = garbage(bytes)
            _ = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT)) }
        }
        for fd in fds { Glibc.close(fd) }
    }

    func close() {
        for fd in held { Glibc.close(fd) }
        held = []
        if !closed { try? udp.close() }
        closed = true
    }
}
