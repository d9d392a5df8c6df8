/// The centralized baseline: one item table and every user's vector in one place, trained on the whole
/// training set. It is the upper reference every decentralized run is compared with.
public struct CentralTrainer: Sendable {
    public var config: TrainingConfig
    public var split: LeaveOneOutSplit
    public var items: ItemTable
    public var users: [UserVector]
    public var rng: SplitMix64
    /// Sorted training items of all users, concatenated (CSR): user u's are posItems[posStart[u]..<posStart[u+1]].
    let posItems: [Int32]
    let posStart: [Int]
    let pairs: [(user: Int32, item: Int32)]

    public init(split: LeaveOneOutSplit, config: TrainingConfig, seed: UInt64) {
        self.config = config
        self.split = split
        rng = SplitMix64(seed: seed)
        let adagrad = config.optimizer == .adagrad
        items = ItemTable(itemCount: split.itemCount, dimension: config.dimension, initStd: config.initStd, adagrad: adagrad, rng: &rng)
        var us: [UserVector] = []
        for _ in 0..<split.userCount {
            us.append(UserVector(dimension: config.dimension, initStd: config.initStd, adagrad: adagrad, rng: &rng))
        }
        users = us
        var items: [Int32] = [], start: [Int] = [0]
        for s in split.shards { items += s.trainItemsSorted; start.append(items.count) }
        posItems = items
        posStart = start
        pairs = split.shards.flatMap { s in s.train.map { (s.user, $0.item) } }
    }

    /// Positive training interactions (one epoch visits each once).
    public var positiveCount: Int { pairs.count }

    /// One epoch over all training positives in a fresh random order. Returns the mean loss per positive.
    public mutating func epoch() -> Double {
        var order = Array(0..<pairs.count)
        order.shuffle(using: &rng)
        let d = config.dimension
        let adagrad = config.optimizer == .adagrad
        // User vectors live in one contiguous block during the epoch for locality.
        var U = [Float](), UG = [Float]()
        U.reserveCapacity(users.count * d)
        for u in users { U += u.values; UG += u.g2 }
        let cfg = config
        var rng = self.rng
        let pairs = self.pairs, posStart = self.posStart
        let total: Double = LocalTrainer.withContext(&items, cfg) { c in
            U.withUnsafeMutableBufferPointer { Ub in
                UG.withUnsafeMutableBufferPointer { UGb in
                    posItems.withUnsafeBufferPointer { PI in
                        pairs.withUnsafeBufferPointer { pairs in
                            var sum: Double = 0
                            for idx in order {
                                let (u, i) = pairs[idx]
                                let up = Ub.baseAddress! + Int(u) * d
                                let ug: UnsafeMutablePointer<Float>? = adagrad ? UGb.baseAddress! + Int(u) * d : nil
                                let P = UnsafeBufferPointer(rebasing: PI[posStart[Int(u)]..<posStart[Int(u) + 1]])
                                sum += Double(LocalTrainer.step(c, user: up, userG2: ug, positive: Int(i), positives: P, rng: &rng))
                            }
                            return sum
                        }
                    }
                }
            }
        }
        self.rng = rng
        for u in 0..<users.count {
            users[u].values = Array(U[u * d..<(u + 1) * d])
            if adagrad { users[u].g2 = Array(UG[u * d..<(u + 1) * d]) }
        }
        return pairs.isEmpty ? 0 : total / Double(pairs.count)
    }

    /// HR@K and NDCG@K over every user with a held-out item.
    public func evaluate(k: Int = 10) -> RankingSummary {
        var s = RankingSummary(k: k)
        for shard in split.shards {
            let r = users[Int(shard.user)].values.withUnsafeBufferPointer { up in
                shard.testRank { items.score(user: up.baseAddress!, item: $0) }
            }
            if let r { s.add(rank: r) }
        }
        return s
    }
}
