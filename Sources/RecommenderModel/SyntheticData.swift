#if canImport(Glibc)
import Glibc
#endif

/// Synthetic interaction logs for tests, the simulator and experiments at scales no public data set has.
public enum SyntheticData {
    /// Planted taste structure: `groups` disjoint blocks of `items / groups` items; user u belongs to group
    /// u % groups and interacts with `perUser` random items of its block, at random times. Nothing but the
    /// block structure links a user's held-out item to its training items, so popularity cannot rank it
    /// while a factor model can.
    public static func planted(users: Int, items: Int, groups: Int, perUser: Int, seed: UInt64) -> InteractionLog {
        precondition(groups > 0 && items / groups >= perUser, "each block must hold perUser items")
        var rng = SplitMix64(seed: seed)
        let block = items / groups
        var xs: [Interaction] = []
        xs.reserveCapacity(users * perUser)
        for u in 0..<users {
            let g = u % groups
            var mine = Array((g * block)..<((g + 1) * block))
            mine.shuffle(using: &rng)
            var times = Array(0..<perUser)
            times.shuffle(using: &rng)
            for (k, i) in mine.prefix(perUser).enumerated() {
                xs.append(Interaction(user: Int32(u), item: Int32(i), rating: 1, timestamp: Int64(times[k])))
            }
        }
        return InteractionLog(interactions: xs, users: IDMap(raw: (0..<users).map(String.init)),
                              items: IDMap(raw: (0..<items).map(String.init)))
    }
}

extension SyntheticData {
    /// Settings of `lowRank`: a second data set with the shape of real ratings (issue 19), so settings are not tuned
    /// to ML-100K alone.
    public struct LowRankSettings: Sendable, Equatable {
        public var users = 1_500
        public var items = 2_500
        /// Dimension of the planted taste space.
        public var rank = 8
        /// How strongly taste (rather than popularity and chance) decides what a user picks.
        public var tasteWeight = 2.0
        /// Zipf exponent of item popularity: item of popularity rank k gets log-weight −zipf·log(k + 1).
        public var zipf = 0.7
        /// Interactions per user: log-normal with this median, clamped to [minPerUser, items / 4].
        public var medianPerUser = 40
        public var minPerUser = 10
        public var seed: UInt64 = 1
        public init() {}

        /// nil, or what is wrong (named by the option it comes from).
        public func validate() -> String? {
            if users < 2 || users > 1_000_000 { return "users: between 2 and 1,000,000" }
            if items < 8 || items > DataLimits.maxItems { return "items: between 8 and \(DataLimits.maxItems)" }
            if rank < 1 || rank > 256 { return "rank: between 1 and 256" }
            if minPerUser < 3 || minPerUser > items / 4 { return "min-per-user: between 3 and items / 4 (\(items / 4))" }
            if medianPerUser < minPerUser { return "median-per-user: at least min-per-user (\(minPerUser))" }
            if !(tasteWeight >= 0 && tasteWeight <= 100) || !(zipf >= 0 && zipf <= 5) { return "taste-weight in 0...100, zipf in 0...5" }
            return nil
        }
    }

    /// A planted low-rank data set with real data's shape: every user and item has a hidden taste vector; item
    /// popularity is long-tailed (Zipf over a random order of the items); users' activity is long-tailed
    /// (log-normal); a user picks `n_u` distinct items with probability growing with exp(taste · u·v + popularity)
    /// (Gumbel top-k: sampling without replacement in one pass); each pick gets a 1–5 rating from its affinity plus
    /// noise, and a timestamp (the order of a user's picks is random, so the held-out latest item is one more draw
    /// from the same taste). Raw ids are 1-based, as in MovieLens. Deterministic from `seed`.
    public static func lowRank(_ s: LowRankSettings) -> InteractionLog {
        precondition(s.validate() == nil, s.validate() ?? "")
        var rng = SplitMix64(seed: s.seed)
        func gaussian() -> Double {   // Box–Muller
            let a = max(rng.nextUnitDouble(), 1e-300), b = rng.nextUnitDouble()
            return (-2 * log(a)).squareRoot() * cos(2 * Double.pi * b)
        }
        let r = s.rank, scale = 1 / Double(r).squareRoot()
        let itemVec = (0..<(s.items * r)).map { _ in gaussian() }
        var order = Array(0..<s.items)
        order.shuffle(using: &rng)
        var popularity = [Double](repeating: 0, count: s.items)
        for (k, i) in order.enumerated() { popularity[i] = -s.zipf * log(Double(k + 1)) }
        var xs: [Interaction] = []
        xs.reserveCapacity(s.users * s.medianPerUser * 3 / 2)
        var affinity = [Double](repeating: 0, count: s.items)
        var keyed = [(Double, Int)](repeating: (0, 0), count: s.items)
        let cap = s.items / 4
        for u in 0..<s.users {
            let user = (0..<r).map { _ in gaussian() }
            let n = min(cap, max(s.minPerUser, Int((Double(s.medianPerUser) * exp(0.8 * gaussian())).rounded())))
            for i in 0..<s.items {
                var dot = 0.0
                for k in 0..<r { dot += user[k] * itemVec[i * r + k] }
                affinity[i] = dot * scale
                let gumbel = -log(-log(max(rng.nextUnitDouble(), 1e-300)))
                keyed[i] = (s.tasteWeight * affinity[i] + popularity[i] + gumbel, i)
            }
            keyed.sort { $0.0 > $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            var times = Array(0..<n)
            times.shuffle(using: &rng)
            for (k, pick) in keyed.prefix(n).enumerated() {
                let i = pick.1
                let stars = min(5, max(1, (3.2 + 1.1 * affinity[i] + 0.7 * gaussian()).rounded()))
                xs.append(Interaction(user: Int32(u), item: Int32(i), rating: Float(stars),
                                      timestamp: 1_000_000_000 + Int64(u) * 100_000 + Int64(times[k]) * 60))
            }
        }
        // Items nobody picked stay in the catalogue (raw ids stay 1...items), as unrated titles do in real data.
        return InteractionLog(interactions: xs, users: IDMap(raw: (1...s.users).map(String.init)),
                              items: IDMap(raw: (1...s.items).map(String.init)))
    }

    /// `log` as a MovieLens `ratings.csv` (header `userId,movieId,rating,timestamp`, raw ids).
    public static func ratingsCSV(_ log: InteractionLog) -> String {
        var out = "userId,movieId,rating,timestamp\n"
        out.reserveCapacity(log.interactions.count * 24)
        for x in log.interactions {
            out += "\(log.users.rawID(x.user)),\(log.items.rawID(x.item)),\(LeaveOneOutSplit.ratingText(x.rating)),\(x.timestamp)\n"
        }
        return out
    }
}

extension SyntheticData {
    /// A structureless log: each user touches `perUser` distinct uniformly random items at distinct times, every third
    /// interaction rated 3.5 and the others 1 (so rating text round trips are exercised). Raw ids are the dense
    /// indices as text. For tests of splitting and file formats, where no taste is wanted.
    public static func uniform(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionLog {
        precondition(perUser <= items, "perUser must be at most items")
        var rng = SplitMix64(seed: seed)
        var xs: [Interaction] = []
        xs.reserveCapacity(users * perUser)
        for u in 0..<users {
            var chosen = Array(0..<items)
            chosen.shuffle(using: &rng)
            for (k, i) in chosen.prefix(perUser).enumerated() {
                let t = Int64(1000 * u + 17 * k + rng.next(below: 10))
                xs.append(Interaction(user: Int32(u), item: Int32(i), rating: xs.count % 3 == 0 ? 3.5 : 1, timestamp: t))
            }
        }
        return InteractionLog(interactions: xs, users: IDMap(raw: (0..<users).map(String.init)),
                              items: IDMap(raw: (0..<items).map(String.init)))
    }
}
