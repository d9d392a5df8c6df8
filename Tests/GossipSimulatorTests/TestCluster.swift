import RecommenderModel
@testable import GossipProtocol
import GossipSimulator

/// TEST-ONLY harness: N `MembershipInstance`s wired together by a virtual clock and a lossy in-memory network, for
/// membership-only cluster tests (`MembershipClusterTests`). It interprets directives the way a shell must (send,
/// schedule, memberUp/Down) and nothing more; whole peers run in `EventSimulation`. Its events wait in the
/// simulator's `EventQueue`, so events at equal times run in insertion order, as they do there.
struct TestCluster {
    enum Event {
        case deliver(to: Int, message: Message, from: PeerID, fromAddress: PeerAddress)
        case timer(node: Int, generation: Int, MembershipTimer)
    }

    struct Node {
        var instance: MembershipInstance
        /// Bumped at every crash and restart, so timers of an earlier incarnation of the process are dropped.
        var generation = 0
        var up = false
        /// Live members according to the memberUp / memberDown directives received so far.
        var announced: [PeerID: PeerAddress] = [:]
        var downs: [(PeerID, MemberDownReason, Instant)] = []
    }

    let settings: MembershipSettings
    var now = Instant.zero
    var nodes: [Node] = []
    var events = EventQueue<Event>()
    var net: SplitMix64
    var lossRate = 0.0
    /// Directed links (from, to) whose datagrams are dropped.
    var blocked: Set<[Int]> = []
    var latency: ClosedRange<Int64> = 1_000_000...5_000_000  // 1-5 ms
    var trace: [String]? = nil
    /// Messages that broke a size limit of the settings (must stay empty).
    var oversized: [String] = []
    var messagesSent = 0

    static func peer(_ i: Int) -> PeerID { PeerID(UInt64(1000 + i)) }
    static func address(_ i: Int) -> PeerAddress { .ipv4(10, 0, UInt8(i / 250), UInt8(i % 250 + 1), port: 7000) }
    static func index(of address: PeerAddress) -> Int { Int(address.ip[2]) * 250 + Int(address.ip[3]) - 1 }
    static func index(of peer: PeerID) -> Int { Int(peer.raw) - 1000 }

    init(count: Int, seed: UInt64, settings: MembershipSettings = MembershipSettings()) {
        self.settings = settings
        net = SplitMix64(seed: seed ^ 0xABCD)
        for i in 0..<count {
            nodes.append(Node(instance: MembershipInstance(id: Self.peer(i), address: Self.address(i),
                                                           seed: seed &+ UInt64(i) &* 7919, settings: settings)))
        }
    }

    // MARK: Control

    /// Starts node `i`; joins through `seeds` (node indices) unless empty.
    mutating func start(_ i: Int, seeds: [Int] = []) {
        nodes[i].up = true
        let out = seeds.isEmpty ? nodes[i].instance.onStart(now: now)
            : nodes[i].instance.onJoin(seeds: seeds.map(Self.address), now: now)
        interpret(out, node: i)
    }

    /// Crash-stops node `i`: it neither receives nor fires timers.
    mutating func crash(_ i: Int) {
        nodes[i].up = false
        nodes[i].generation += 1
    }

    /// Restarts node `i` as a fresh process that lost its state (incarnation 0 unless given) and joins via `seeds`.
    mutating func restart(_ i: Int, seeds: [Int], incarnation: UInt64 = 0, seed: UInt64) {
        nodes[i].generation += 1
        nodes[i].instance = MembershipInstance(id: Self.peer(i), address: Self.address(i), incarnation: incarnation,
                                               seed: seed, settings: settings)
        nodes[i].announced = [:]
        start(i, seeds: seeds)
    }

    mutating func leave(_ i: Int) {
        interpret(nodes[i].instance.onLeave(now: now), node: i)
        nodes[i].up = false
        nodes[i].generation += 1
    }

    mutating func block(_ a: Int, _ b: Int) { blocked.insert([a, b]); blocked.insert([b, a]) }
    mutating func unblock(_ a: Int, _ b: Int) { blocked.remove([a, b]); blocked.remove([b, a]) }

    /// Runs every event up to `now + d`, calling `probe` after each whole `step` of virtual time.
    mutating func run(for d: Duration, step: Duration = .milliseconds(100),
                      probe: (inout TestCluster) -> Void = { _ in }) {
        let end = now + d
        var nextProbe = now + step
        while true {
            let limit = min(end, nextProbe)
            while let t = events.nextTime, t <= limit.nanoseconds {
                let (time, event) = events.pop()!
                now = Instant(nanoseconds: time)
                dispatch(event)
            }
            now = limit
            if limit == nextProbe {
                probe(&self)
                nextProbe = nextProbe + step
            }
            if limit == end { return }
        }
    }

    // MARK: Observations

    func livePeers(_ i: Int) -> Set<PeerID> { Set(nodes[i].instance.livePeers.map(\.peer)) }
    func aliveIDs(except: Set<Int> = []) -> Set<PeerID> {
        Set(nodes.indices.filter { nodes[$0].up && !except.contains($0) }.map(Self.peer))
    }
    /// True when every up node holds exactly the other up nodes as live members, and its memberUp/Down
    /// announcements agree with its state.
    func converged() -> Bool {
        let all = aliveIDs()
        for i in nodes.indices where nodes[i].up {
            var expected = all
            expected.remove(Self.peer(i))
            if livePeers(i) != expected || Set(nodes[i].announced.keys) != expected { return false }
        }
        return true
    }

    // MARK: Plumbing

    private mutating func dispatch(_ event: Event) {
        switch event {
        case .deliver(let to, let message, let from, let fromAddress):
            guard nodes[to].up else { return }
            let out = nodes[to].instance.onMessage(message, from: from, address: fromAddress, now: now)
            interpret(out, node: to)
        case .timer(let node, let generation, let timer):
            guard nodes[node].up, nodes[node].generation == generation else { return }
            interpret(nodes[node].instance.onTimer(timer, now: now), node: node)
        }
    }

    private mutating func interpret(_ directives: [MembershipDirective], node i: Int) {
        for d in directives {
            if trace != nil { trace!.append("\(now) n\(i) \(d)") }
            switch d {
            case .send(let message, let address):
                messagesSent += 1
                checkSize(message, node: i)
                let j = Self.index(of: address)
                guard j >= 0, j < nodes.count, !blocked.contains([i, j]) else { continue }
                if lossRate > 0, net.nextUnitDouble() < lossRate { continue }
                let delay = latency.lowerBound + Int64(net.next(below: Int(latency.upperBound - latency.lowerBound + 1)))
                push(now + .nanoseconds(delay),
                     .deliver(to: j, message: message, from: Self.peer(i), fromAddress: Self.address(i)))
            case .schedule(let timer, let after):
                precondition(after >= .zero, "negative timer delay \(after) for \(timer)")
                push(now + after, .timer(node: i, generation: nodes[i].generation, timer))
            case .memberUp(let peer, let address):
                nodes[i].announced[peer] = address
            case .memberDown(let peer, let reason):
                nodes[i].announced[peer] = nil
                nodes[i].downs.append((peer, reason, now))
            case .log:
                break
            }
        }
    }

    private mutating func checkSize(_ m: Message, node i: Int) {
        switch m {
        case .ping(_, let u), .pingReq(_, _, _, let u), .ack(_, _, let u):
            if u.count > settings.maxUpdatesPerMessage { oversized.append("n\(i): \(u.count) updates") }
        case .joinReply(let members):
            if members.count > settings.maxJoinReplyMembers { oversized.append("n\(i): joinReply \(members.count)") }
        case .shuffleRequest(_, let e), .shuffleReply(_, let e):
            if e.count > settings.shuffleLength { oversized.append("n\(i): shuffle \(e.count)") }
        default: break
        }
    }

    private mutating func push(_ time: Instant, _ event: Event) {
        events.push(event, at: time.nanoseconds)
    }
}
