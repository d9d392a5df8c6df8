import PeerCore
import RecommenderModel

/// A synchronous, round-based gossip-learning experiment without any network: every round each peer (in a
/// random order) trains on its own data and then does a push-pull exchange with one uniformly random partner.
/// It isolates the learning question (which merge rule, how many local epochs) from the protocol and
/// transport, and is fully determined by its seed.
public struct RoundSimulation: Sendable {
    public struct Settings: Sendable {
        public var rounds = 100
        public var localEpochs = 1
        public var evalEvery = 5
        public var seed: UInt64 = 1
        public var minSendWeight: Float = 0
        /// Fraction of rows exchanged per push-pull (1: the whole table). Below 1, each row is drawn
        /// independently with this probability and both sides send the same rows.
        public var rowFraction: Double = 1
        public init() {}
    }

    public struct Point: Sendable {
        public var round: Int
        public var hr10: Double
        public var ndcg10: Double
        /// Megabytes sent per peer so far (model rows only: 4 bytes per float, 8 per row id and weight).
        public var mbPerPeer: Double
    }

    public var peers: [PeerLearner]
    public var settings: Settings
    public var merge: any MergeRule
    var rng: SplitMix64
    var bytes: Double = 0

    public init(split: LeaveOneOutSplit, config: TrainingConfig, merge: any MergeRule, settings: Settings) {
        self.settings = settings
        self.merge = merge
        rng = SplitMix64(seed: settings.seed)
        var ps: [PeerLearner] = []
        let tableSeed = SeedScheme.table(settings.seed)
        for s in split.shards {
            ps.append(PeerLearner(shard: s, config: config, tableSeed: tableSeed, peerSeed: rng.next()))
        }
        peers = ps
    }

    public func evaluate() -> RankingSummary {
        var s = RankingSummary(k: 10)
        for p in peers { if let r = p.testRank() { s.add(rank: r) } }
        return s
    }

    /// Each row independently with probability `rowFraction`, in increasing order.
    mutating func sampleRows(count: Int) -> [Int] {
        let threshold = UInt64(max(0, min(1, settings.rowFraction)) * 0x1p53)
        return (0..<count).filter { _ in rng.next() >> 11 < threshold }
    }

    /// Runs every round, calling `progress` at each evaluation point.
    public mutating func run(progress: (Point) -> Void) {
        let n = peers.count
        guard n >= 2 else { return }
        for round in 1...settings.rounds {
            var order = Array(0..<n)
            order.shuffle(using: &rng)
            for a in order {
                for _ in 0..<settings.localEpochs { peers[a].trainLocal(absorbingWith: merge) }
                var b = rng.next(below: n - 1)
                if b >= a { b += 1 }
                let pa: ModelPayload, pb: ModelPayload
                if settings.rowFraction < 1 {
                    let rows = sampleRows(count: peers[a].items.itemCount)
                    pa = peers[a].items.payload(round: peers[a].round, rows: rows)
                    pb = peers[b].items.payload(round: peers[b].round, rows: rows)
                } else {
                    pa = peers[a].items.payload(round: peers[a].round, minWeight: settings.minSendWeight)
                    pb = peers[b].items.payload(round: peers[b].round, minWeight: settings.minSendWeight)
                }
                merge.merge(pb, into: &peers[a].items, localRound: peers[a].round)
                merge.merge(pa, into: &peers[b].items, localRound: peers[b].round)
                bytes += Double((pa.items.count + pb.items.count) * (8 + 4 * Int(pa.dimension)))
            }
            if round % settings.evalEvery == 0 || round == settings.rounds {
                let s = evaluate()
                progress(Point(round: round, hr10: s.hitRate, ndcg10: s.ndcg, mbPerPeer: bytes / Double(n) / 1e6))
            }
        }
    }
}
