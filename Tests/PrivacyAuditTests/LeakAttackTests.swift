import GossipProtocol
import RecommenderModel
import Testing
@testable import PrivacyAudit

/// A small swarm of real `GossipLearningInstance`s in synchronous rounds on planted data (every peer trains, then
/// pushes to a random partner, who merges and answers), with a few curious peers feeding an auditor.
struct PlantedSwarm {
    var peers: [GossipLearningInstance]
    let auditor: PrivacyAuditor
    var rng: SplitMix64

    init(users: Int = 24, items: Int = 120, groups: Int = 4, perUser: Int = 10, curious: Set<Int> = [0, 1, 2, 3],
         privacy: PrivacySettings = .off, budgets: [Int] = [1, 10, 30], seed: UInt64 = 7,
         merge: PushSumVoteMerge = .init(), defences: MergeDefences = .on) throws {
        let log = SyntheticData.planted(users: users, items: items, groups: groups, perUser: perUser, seed: seed)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 50, seed: seed, file: "planted")
        var config = TrainingConfig()
        config.dimension = 8
        var settings = GossipSettings()
        settings.privacy = privacy
        settings.defences = defences
        settings.catchUpRounds = 0
        peers = split.shards.enumerated().map { i, shard in
            let learner = PeerLearner(shard: shard, config: config, tableSeed: seed, peerSeed: seed &+ UInt64(i) &* 7919)
            return GossipLearningInstance(id: PeerID(UInt64(i)), learner: learner, merge: merge, settings: settings,
                                          seed: seed ^ UInt64(i) &* 0x9E37)
        }
        var popularity = [Int](repeating: 0, count: items)
        for s in split.shards { for i in s.trainItemsSorted { popularity[Int(i)] += 1 } }
        auditor = PrivacyAuditor(itemCount: items, truth: split.shards.map { Set($0.trainItemsSorted.map(Int.init)) },
                                 popularity: popularity, curious: curious, budgets: budgets, bucketCount: 4)
        rng = SplitMix64(seed: seed ^ 0xABCD)
        let now = Instant(nanoseconds: 0)
        for i in peers.indices { _ = peers[i].onStart(now: now) }
    }

    static func address(_ i: Int) -> PeerAddress { PeerAddress(ipv4: 0x0A00_0000 | UInt32(i), port: 7000) }

    func observe(_ message: Message, at receiver: Int, from sender: Int) {
        switch message {
        case .modelPush(_, let m, _), .modelReply(_, let m):
            auditor.observe(observer: receiver, sender: sender, copy: m, reference: peers[receiver].learner.items.trainedSteps)
        default: break
        }
    }

    mutating func run(rounds: Int) {
        let n = peers.count
        for r in 0..<rounds {
            let now = Instant(nanoseconds: Int64(r + 1) * 1_000_000_000)
            var order = Array(0..<n)
            order.shuffle(using: &rng)
            for a in order {
                var b = rng.next(below: n - 1)
                if b >= a { b += 1 }
                let out = peers[a].onTimer(.round, partner: (PeerID(UInt64(b)), Self.address(b)), now: now)
                for case .exchange(_, let push, _, _) in out {
                    observe(push, at: b, from: a)
                    for case .reply(let reply) in peers[b].onModelMessage(push, from: PeerID(UInt64(a)), now: now) {
                        observe(reply, at: a, from: b)
                        _ = peers[a].onModelMessage(reply, from: PeerID(UInt64(b)), now: now)
                    }
                }
            }
        }
    }

    /// HR@10 of the held-out items.
    func hitRate() -> Double {
        var s = RankingSummary(k: 10)
        for p in peers { if let r = p.learner.testRank() { s.add(rank: r) } }
        return s.hitRate
    }
}

@Suite struct LeakMetricsTests {
    @Test func aucCountsTiesAsHalfAndIsOneForAPerfectScore() {
        #expect(LeakMetrics.auc([0, 1, 2, 3], truth: [2, 3]) == 1)
        #expect(LeakMetrics.auc([3, 2, 1, 0], truth: [2, 3]) == 0)
        #expect(LeakMetrics.auc([1, 1, 1, 1], truth: [0]) == 0.5)
        #expect(LeakMetrics.auc([1, 1], truth: []) == nil)
    }

    @Test func precisionAtTruthTakesTheTopItems() {
        #expect(LeakMetrics.precisionAtTruth([0.9, 0.1, 0.8, 0.2], truth: [0, 2]) == 1)
        #expect(LeakMetrics.precisionAtTruth([0.9, 0.1, 0.8, 0.2], truth: [0, 1]) == 0.5)
    }

    @Test func samePopularityAUCIgnoresWhatPopularityExplains() {
        // Items 0-3 are unpopular, 4-7 popular; the truth is the popular half of each bucket's... only popularity.
        let popularity = [1, 1, 1, 1, 9, 9, 9, 9]
        let buckets = LeakMetrics.popularityBuckets(popularity, buckets: 2)
        #expect(buckets == [0, 0, 0, 0, 1, 1, 1, 1])
        let truth: Set<Int> = [0, 4, 5]
        let byPopularity = popularity.map(Double.init)
        #expect(LeakMetrics.auc(byPopularity, truth: truth)! > 0.6)
        #expect(LeakMetrics.samePopularityAUC(byPopularity, truth: truth, bucket: buckets) == 0.5)
    }
}

@Suite struct LeakAttackTests {
    @Test func theAttackNamesPlantedInteractionsFromUndefendedCopies() throws {
        var swarm = try PlantedSwarm()
        swarm.run(rounds: 120)
        let s = swarm.auditor.summaries()
        let last = try #require(s.last)
        #expect(last.budget == 30 && last.victims > 10)
        #expect(last.auc[.relative]! > 0.9, "relative AUC \(last.auc[.relative]!)")
        #expect(last.bestSamePopularityAUC > 0.9, "same-popularity AUC \(last.bestSamePopularityAUC)")
        #expect(last.bestPrecision > last.popularityPrecision + 0.3)
        // Even one copy says a lot.
        #expect(s.first!.bestAUC > 0.8)
    }
}
