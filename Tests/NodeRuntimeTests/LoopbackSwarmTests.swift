import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SocketTransport
import Testing
@testable import NodeRuntime
import PeerCore

/// Sockets of this process bound to or connected to one of `ports` (Linux: /proc/self/fd inodes matched
/// against /proc/net/{tcp,udp}). Other suites run in parallel in this process, so only the swarm's own ports count.
func socketsTouching(ports: Set<UInt16>) -> [String] {
    let mine = openSocketInodes()
    var out: [String] = []
    for table in ["/proc/net/tcp", "/proc/net/udp"] {
        let text = (try? String(contentsOfFile: table, encoding: .utf8)) ?? ""
        for row in text.split(separator: "\n").dropFirst() {
            let f = row.split(separator: " ")
            guard f.count > 9, mine.contains(String(f[9])) else { continue }
            let local = UInt16(f[1].split(separator: ":").last ?? "", radix: 16) ?? 0
            let remote = UInt16(f[2].split(separator: ":").last ?? "", radix: 16) ?? 0
            if ports.contains(local) || ports.contains(remote) { out.append(table + ": " + row.trimmingCharacters(in: .whitespaces)) }
        }
    }
    return out
}

/// The inode of the socket open on descriptor `fd` in this process, or nil if `fd` is not an open socket.
func socketInode(fd: Int32) -> String? {
    guard let link = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(fd)"),
          link.hasPrefix("socket:[") else { return nil }
    return String(link.dropFirst(8).dropLast())
}

/// Inodes of every socket open in this process now.
func openSocketInodes() -> Set<String> {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return Set(names.compactMap { Int32($0).flatMap(socketInode(fd:)) })
}

/// Polls the host's snapshots every `interval` until `done` holds or `timeout` passes (bounded waits only);
/// returns the last snapshots taken.
func pollSnapshots(_ host: NodeHost, timeout: TimeInterval, interval: TimeInterval = 0.2,
                   until done: ([PeerSnapshot]) -> Bool) -> [PeerSnapshot] {
    let deadline = Date().addingTimeInterval(timeout)
    var snaps: [PeerSnapshot] = []
    repeat {
        Thread.sleep(forTimeInterval: interval)
        snaps = host.snapshots()
    } while Date() < deadline && !done(snaps)
    return snaps
}

/// Collects JSON lines from peers' queues.
final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ s: String) { lock.lock(); items.append(s); lock.unlock() }
    var all: [String] { lock.lock(); defer { lock.unlock() }; return items }
}

/// The small model and fast timers of the loopback swarm tests.
func fastTestSettings(period: Duration) -> (config: TrainingConfig, gossip: GossipSettings, membership: MembershipSettings) {
    var config = TrainingConfig()
    config.dimension = 8
    config.optimizer = .sgd
    config.learningRate = 0.3
    config.l2 = 0.001
    var gossip = GossipSettings()
    gossip.period = period
    gossip.evaluationPeriod = .milliseconds(200)
    var membership = MembershipSettings()
    membership.protocolPeriod = .milliseconds(200)
    membership.pingTimeout = .milliseconds(60)
    membership.shufflePeriod = .milliseconds(200)
    return (config, gossip, membership)
}

/// Builds `count` peers over a planted split on 127.0.0.1 with fast timers; the first is everyone's seed.
func makeSwarm(split: LeaveOneOutSplit, count: Int, period: Duration, lines: Lines,
               configure: (inout PeerConfig) -> Void = { _ in }) throws -> [PeerNode] {
    let (config, gossip, membership) = fastTestSettings(period: period)
    var nodes: [PeerNode] = []
    for u in 0..<count {
        let learner = PeerLearner(shard: split.shards[u], config: config, tableSeed: 99, peerSeed: UInt64(u) + 1)
        var pc = PeerConfig(id: PeerID(UInt64(u)), listen: .loopbackIPv4(port: 0), seeds: nodes.first.map { [$0.address] } ?? [],
                            swarmID: 7, seed: UInt64(u) * 31 + 5)
        pc.peer.gossip = gossip
        pc.peer.membership = membership
        configure(&pc)
        nodes.append(try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                  sink: { lines.add($0) }))
    }
    return nodes
}

@Suite(.serialized) struct LoopbackSwarmTests {
    @Test func aSmallLoopbackSwarmLearnsPlantedTastesBeyondPopularityAndClosesEverything() throws {
        let log = SyntheticData.planted(users: 20, items: 60, groups: 4, perUser: 12, seed: 11)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 5)
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        let lines = Lines()
        let nodes = try makeSwarm(split: split, count: 20, period: .milliseconds(40), lines: lines)
        let ports = Set(nodes.map(\.address.port))
        // The peers' own sockets, by inode: /proc/self/fd/N names "socket:[inode]" exactly (unlike /proc/net/*,
        // which is read page by page and can skip rows while other suites open and close sockets).
        let inodes = Set(nodes.flatMap(\.socketDescriptors).compactMap { socketInode(fd: $0.rawValue) })
        #expect(inodes.count == 40, "each peer holds a UDP and a TCP socket: \(inodes.count) distinct socket inodes")
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        // Bounded wait: poll until the swarm's mean HR@10 clearly beats popularity, at most 20 s.
        let summary = SwarmSummary(pollSnapshots(host, timeout: 20, interval: 0.5) { snaps in
            let s = SwarmSummary(snaps)
            return s.evaluated == 20 && s.hr10 >= pop.hitRate + 0.3 && s.exchangesCompleted > 0
        })
        let t0 = Date()
        host.stop()
        let stopSeconds = Date().timeIntervalSince(t0)
        #expect(summary.evaluated == 20)
        #expect(summary.hr10 >= pop.hitRate + 0.3, "swarm HR@10 \(summary.hr10) vs ItemPop \(pop.hitRate)")
        #expect(summary.exchangesCompleted > 0)
        #expect(stopSeconds < 1.5, "stopping took \(stopSeconds) s")
        // Every peer wrote a final line, and no model message was dropped as malformed.
        let stops = lines.all.filter { $0.contains("\"event\":\"stop\"") }
        #expect(stops.count == 20)
        #expect(!lines.all.contains { $0.contains("bad_checksum") || $0.contains("non_finite") })
        // Sockets are closed asynchronously on each peer's queue after its watchers are cancelled.
        var open = inodes.intersection(openSocketInodes())
        for _ in 0..<50 where !open.isEmpty { Thread.sleep(forTimeInterval: 0.05); open = inodes.intersection(openSocketInodes()) }
        #expect(open.isEmpty, "\(open.count) of the peers' UDP and TCP listening sockets still open after stop")
        // Streams (accepted or connected) to or from the peers' ports, from the kernel's tables (best effort).
        var left = socketsTouching(ports: ports)
        for _ in 0..<50 where !left.isEmpty { Thread.sleep(forTimeInterval: 0.05); left = socketsTouching(ports: ports) }
        for _ in 0..<4 where left.isEmpty { left = socketsTouching(ports: ports) }   // several reads: rows can be skipped
        #expect(left.isEmpty, "sockets left open: \(left)")
    }

    /// The socket side of a silent partner: a model stream the far end accepts and never reads or answers is ended
    /// by the stream's idle timeout and counted as a failed exchange, and the peer's queue runs its rounds meanwhile.
    /// (That rounds never wait on an exchange is a decision of the core: ScenarioDecisionTests in the simulator.)
    @Test func aModelStreamAcceptedAndNeverAnsweredIsEndedByItsTimeoutWhileRoundsGoOn() throws {
        let log = SyntheticData.planted(users: 8, items: 40, groups: 2, perUser: 10, seed: 3)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
        let silent = PeerID(3)
        let nodes = try makeSwarm(split: split, count: 8, period: .milliseconds(30), lines: Lines(), configure: { pc in
            pc.peer.gossip.exchangeTimeout = .milliseconds(400)
            pc.streamLimits.idleTimeout = .milliseconds(300)
            if pc.id == silent { pc.faults.silentModelStreams = true }
        })
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        defer { host.stop() }
        func unanswered(_ snaps: [PeerSnapshot]) -> Int {
            snaps.filter { $0.peer != silent }.map { $0.stats.dropped["exchange_idle_timeout", default: 0] }.reduce(0, +)
        }
        // Bounded wait until a few streams to the silent peer have timed out, then one more second of rounds.
        let first = pollSnapshots(host, timeout: 8, interval: 0.1) { unanswered($0) >= 3 }
        #expect(unanswered(first) >= 3, "streams to the silent peer ended by the idle timeout: \(first.map(\.stats.dropped))")
        Thread.sleep(forTimeInterval: 1)
        let snaps = host.snapshots()
        let healthy = snaps.filter { $0.peer != silent }
        #expect(healthy.count == 7)
        let roundsBefore = Dictionary(uniqueKeysWithValues: first.map { ($0.peer, $0.round) })
        // About 33 rounds in a second at a 30 ms period; a queue blocked on the silent stream would manage far fewer.
        let slowest = healthy.map { $0.round - (roundsBefore[$0.peer] ?? 0) }.min() ?? 0
        #expect(slowest >= 10, "the slowest healthy peer ran \(slowest) rounds in the last second")
        let failed = healthy.map(\.counters.exchangesFailed).reduce(0, +)
        let completed = healthy.map(\.counters.exchangesCompleted).reduce(0, +)
        #expect(failed >= unanswered(snaps) && completed > failed, "completed \(completed), failed \(failed)")
    }
}
