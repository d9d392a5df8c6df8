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
