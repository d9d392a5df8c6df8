import GossipProtocol
import RecommenderModel

/// What a simulation measures: the curve's points, counters, and every peer's state for paired comparisons.
extension EventSimulation {
    // MARK: Measuring

    /// Traffic and event counters so far (without the gossip counters: `summary.counters` has those too).
    public var counters: Counters {
        var c = Counters()
        for p in peers { c.add(p.counters) }
        c.events += globalEvents
        return c
    }

    var totals: Counters {
        var c = counters
        var g = retired
        for p in peers { if let x = p.core { g.add(x.gossip.counters) } }
        c.gossip = g
        return c
    }

    /// HR@10 of one group of online peers now (`breakdown`).
    public struct GroupResult: Sendable, Hashable {
        public var group: String
        public var peers: Int
        public var hr10: Double
        public var meanRound: Double
    }

    /// One peer's state now (`peerResults`).
    public struct PeerResult: Sendable, Hashable {
        public var index: Int
        public var online: Bool
        /// Compute factor above 1 (a straggler).
        public var straggler: Bool
        /// Stopped at least once since its first start (a returning peer).
        public var returned: Bool
        /// Rank of its held-out item under its own model (nil when offline or without a test item).
        public var rank: Int?
        public var round: UInt64
        /// Copies merged and exchanges failed since its latest start (`GossipCounters`; 0 when offline).
        public var merges: Int
        public var exchangesFailed: Int
        /// Hits and evaluations at the curve samples of the final window (`Settings.finalWindow`) while it was running.
        public var windowHits: Int
        public var windowSamples: Int
        /// Runs the attack harness (`Settings.malicious`).
        public var malicious: Bool = false
    }

    /// Every peer's state now, in index order: what `breakdown` groups, and what a paired comparison of two runs
    /// of the same swarm (`gossiprec simulate --ranks`) reads.
    public func peerResults() -> [PeerResult] {
        peers.indices.map { i in
            let p = peers[i]
            let live = fabric.state[i] == .online && p.core != nil
            // `generation` counts starts and stops: 1 for a peer that has run since its first start.
            return PeerResult(index: i, online: live, straggler: fabric.slowdown[i] > 1, returned: fabric.generation[i] > 1,
                              rank: live ? p.core!.learner.testRank() : nil, round: p.core?.learner.round ?? 0,
                              merges: live ? p.core!.gossip.counters.mergesApplied : 0,
                              exchangesFailed: live ? p.core!.gossip.counters.exchangesFailed : 0,
                              windowHits: Int(windowHits[i]), windowSamples: Int(windowSamples[i]), malicious: fabric.malicious[i])
        }
    }

    /// The share of benign running peers whose top 10 over all their unseen items holds `item` (ER@10, PipAttack's
    /// exposure ratio at 10).
    public func exposure(of item: Int) -> Double {
        var hits = 0, users = 0
        for (i, p) in peers.enumerated() where fabric.state[i] == .online && !fabric.malicious[i] {
            guard let learner = p.core?.learner else { continue }
            users += 1
            if learner.recommend(k: 10).contains(where: { $0.item == item }) { hits += 1 }
        }
        return users == 0 ? 0 : Double(hits) / Double(users)
    }

    /// The online benign peers' HR@10 now, split by straggler or not (slowdown above 1) and by whether the peer
    /// was ever stopped (a returning peer): where a profile's cost comes from.
    public func breakdown() -> [GroupResult] { Self.breakdown(peerResults()) }

    /// `breakdown` of results already taken (`peerResults`), so a caller that also needs them ranks every peer once.
    public static func breakdown(_ results: [PeerResult]) -> [GroupResult] {
        var groups: [String: (RankingSummary, Int, Double)] = [:]
        for p in results where p.online && !p.malicious {
            let name = (p.straggler ? "stragglers" : "others") + (p.returned ? ", returned" : ", never stopped")
            var g = groups[name] ?? (RankingSummary(k: 10), 0, 0)
            if let r = p.rank { g.0.add(rank: r) }
            g.1 += 1
            g.2 += Double(p.round)
            groups[name] = g
        }
        return groups.keys.sorted().map { k in
            let g = groups[k]!
            return GroupResult(group: k, peers: g.1, hr10: g.0.hitRate, meanRound: g.2 / Double(max(1, g.1)))
        }
    }

    /// The curve's point now; in the final window it also counts every running peer's hit or miss.
    mutating func samplePoint() -> Point {
        var s = RankingSummary(k: 10)
        var online = 0
        var rounds = 0.0
        var g = retired
        let inWindow = settings.finalWindow > .zero && now >= settings.duration.wholeNanoseconds - settings.finalWindow.wholeNanoseconds
        for (i, p) in peers.enumerated() where !fabric.malicious[i] {
            guard fabric.state[i] == .online, let gossip = p.core?.gossip else { continue }
            online += 1
            rounds += Double(gossip.learner.round)
            g.add(gossip.counters)
            if let r = gossip.learner.testRank() {
                s.add(rank: r)
                if inWindow {
                    windowSamples[i] += 1
                    if r < 10 { windowHits[i] += 1 }
                }
            }
        }
        return Point(seconds: Double(now) / 1e9, hr10: s.hitRate, ndcg10: s.ndcg, evaluated: s.count,
                     mbPerPeer: Double(peers.reduce(0) { $0 + $1.counters.bytesSent }) / Double(peers.count) / 1e6, online: online,
                     meanRound: online == 0 ? 0 : rounds / Double(online),
                     exchangesCompleted: g.exchangesCompleted, exchangesFailed: g.exchangesFailed)
    }
}
