import Foundation

/// What one user's device holds: its own training interactions, its held-out test item and the sampled
/// negatives it is evaluated against. Nothing about any other user.
public struct UserShard: Sendable, Equatable {
    public var user: Int32
    public var rawUser: String
    /// Catalogue size (public knowledge, like the list of movies in an app).
    public var itemCount: Int
    /// Training interactions, sorted by (timestamp, item).
    public var train: [Interaction]
    /// The held-out latest interaction, if the user had at least two.
    public var test: Interaction?
    /// Items the user never touched, sampled once, to rank the test item against.
    public var negatives: [Int32]

    public init(user: Int32, rawUser: String, itemCount: Int, train: [Interaction], test: Interaction?, negatives: [Int32]) {
        self.user = user; self.rawUser = rawUser; self.itemCount = itemCount
        self.train = train; self.test = test; self.negatives = negatives
    }

    /// Training items, sorted ascending (for membership tests during negative sampling).
    public var trainItemsSorted: [Int32] { train.map(\.item).sorted() }
}

/// The leave-one-out protocol of NCF (He, Liao, Zhang, Nie, Hu, Chua, "Neural Collaborative Filtering",
/// WWW 2017), which the federated-recommendation literature reports on: each user's latest interaction
/// (ties broken by the larger item index) is held out as the test item, and `negativeCount` items the user
/// never interacted with are sampled (seeded, without replacement) to rank it against.
public struct LeaveOneOutSplit: Sendable {
    public var userCount: Int
    public var itemCount: Int
    public var users: IDMap
    public var items: IDMap
    /// One shard per user, indexed by dense user id.
    public var shards: [UserShard]

    public init(userCount: Int, itemCount: Int, users: IDMap, items: IDMap, shards: [UserShard]) {
        self.userCount = userCount; self.itemCount = itemCount; self.users = users; self.items = items; self.shards = shards
    }

    /// Splits a log. Users with a single interaction keep it for training and have no test item.
    /// Negatives for user u come from a generator seeded by (seed, u), so they do not depend on order.
    public static func make(from log: InteractionLog, negatives negativeCount: Int = 99, seed: UInt64 = 1, file: String = "data") throws -> LeaveOneOutSplit {
        var byUser = [[Interaction]](repeating: [], count: log.userCount)
        for x in log.interactions { byUser[Int(x.user)].append(x) }
        var shards: [UserShard] = []
        shards.reserveCapacity(log.userCount)
        var testable = 0
        for u in 0..<log.userCount {
            var xs = byUser[u]
            xs.sort { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }
            var test: Interaction? = nil
            var negs: [Int32] = []
            if xs.count >= 2 {
                test = xs.removeLast()
                let touched = Set((xs.map(\.item)) + [test!.item])
                let available = log.itemCount - touched.count
                if available < negativeCount {
                    throw DataError.nothingToSplit(file: file, reason: "user \(log.users.rawID(Int32(u))) has touched \(touched.count) of \(log.itemCount) items: fewer than \(negativeCount) negatives remain")
                }
                var rng = SplitMix64(seed: seed ^ (UInt64(u) &* 0x9E37_79B9_7F4A_7C15) ^ 0xD1B5_4A32_D192_ED03)
                var chosen = Set<Int32>()
                while negs.count < negativeCount {
                    let j = Int32(rng.next(below: log.itemCount))
                    if touched.contains(j) || chosen.contains(j) { continue }
                    chosen.insert(j); negs.append(j)
                }
                testable += 1
            }
            shards.append(UserShard(user: Int32(u), rawUser: log.users.rawID(Int32(u)), itemCount: log.itemCount,
                                    train: xs, test: test, negatives: negs))
        }
        if testable == 0 {
            throw DataError.nothingToSplit(file: file, reason: "no user has two distinct interactions, so nothing can be held out")
        }
        return LeaveOneOutSplit(userCount: log.userCount, itemCount: log.itemCount, users: log.users, items: log.items, shards: shards)
    }

    public var trainInteractions: [Interaction] { shards.flatMap(\.train) }
    public var testableUsers: [Int32] { shards.filter { $0.test != nil }.map(\.user) }
}

// MARK: - Text forms (pure: `DataFiles` reads and writes the files)

extension LeaveOneOutSplit {
    /// A rating as the NCF files and user files write it (an integer when it is one).
    public static func ratingText(_ r: Float) -> String {
        r == r.rounded() && abs(r) < 1e9 ? String(Int(r)) : String(r)
    }
}

extension UserShard {
    /// A small text file: what this device holds and nothing else.
    ///
    ///     # gossiprec user shard v1
    ///     user 12 raw 13
    ///     items 1682
    ///     train ITEM RATING TIMESTAMP     (one line per training interaction)
    ///     test ITEM RATING TIMESTAMP      (absent when the user has no held-out item)
    ///     negatives J1 J2 ... J99
    public var fileText: String {
        var s = "# gossiprec user shard v1\nuser \(user) raw \(rawUser)\nitems \(itemCount)\n"
        for x in train { s += "train \(x.item) \(LeaveOneOutSplit.ratingText(x.rating)) \(x.timestamp)\n" }
        if let t = test { s += "test \(t.item) \(LeaveOneOutSplit.ratingText(t.rating)) \(t.timestamp)\n" }
        if !negatives.isEmpty { s += "negatives " + negatives.map(String.init).joined(separator: " ") + "\n" }
        return s
    }

    public static func fileName(user: Int32) -> String { "user-\(user).txt" }

    /// Parses a user file (`fileText`'s format; `DataFiles` reads it: `UserShard.read(path:)`). `file` names the
    /// source in errors.
    public static func parse(bytes: [UInt8], file path: String) throws -> UserShard {
        var user: Int32? = nil, raw = "", items: Int? = nil
        var train: [Interaction] = [], test: Interaction? = nil, negs: [Int32] = []
        for (n, line) in InteractionLog.splitLines(bytes) where !line.isEmpty && !line.hasPrefix("#") {
            let f = line.split(separator: " ")
            func bad(_ r: String) -> DataError { .malformedSplit(file: path, line: n, text: line, reason: r) }
            switch f.first {
            case "user":
                // The raw id is the rest of the line: ids from CSV files may contain spaces.
                let g = line.split(separator: " ", maxSplits: 3)
                guard g.count == 4, g[2] == "raw", let u = Int32(g[1]), u >= 0 else { throw bad("expected: user N raw ID") }
                user = u; raw = String(g[3])
            case "items":
                guard f.count == 2, let c = Int(f[1]), c > 0 else { throw bad("expected: items COUNT") }
                guard c <= DataLimits.maxItems else { throw bad("items \(c) is above the limit of \(DataLimits.maxItems) items") }
                items = c
            case "train", "test":
                guard let u = user, let c = items else { throw bad("'user' and 'items' lines must come first") }
                guard f.count == 4, let i = Int32(f[1]), i >= 0, Int(i) < c, let r = Float(f[2]), r.isFinite, let t = Int64(f[3]) else {
                    throw bad("expected: \(f[0]) ITEM RATING TIMESTAMP with ITEM below \(c)")
                }
                let x = Interaction(user: u, item: i, rating: r, timestamp: t)
                if f[0] == "train" { train.append(x) } else { test = x }
            case "negatives":
                guard let c = items else { throw bad("'items' line must come first") }
                for v in f.dropFirst() {
                    guard let j = Int32(v), j >= 0, Int(j) < c else { throw bad("negative '\(v)' is not an item below \(c)") }
                    negs.append(j)
                }
            default:
                throw bad("unknown line kind '\(f.first ?? "")'")
            }
        }
        guard let u = user, let c = items else {
            throw DataError.malformedSplit(file: path, line: 0, text: "", reason: "missing 'user' or 'items' line")
        }
        return UserShard(user: u, rawUser: raw, itemCount: c, train: train, test: test, negatives: negs)
    }
}

