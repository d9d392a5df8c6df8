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

// MARK: - NCF text files

extension LeaveOneOutSplit {
    static func ratingText(_ r: Float) -> String {
        r == r.rounded() && abs(r) < 1e9 ? String(Int(r)) : String(r)
    }

    /// Writes `PREFIX.train.rating`, `PREFIX.test.rating` and `PREFIX.test.negative` in exactly NCF's text
    /// format (dense 0-based ids, tab-separated; the negative file's lines start with "(user,item)").
    public func writeNCF(prefix: String) throws {
        var train = "", test = "", neg = ""
        train.reserveCapacity(shards.count * 200)
        for s in shards {
            for x in s.train { train += "\(x.user)\t\(x.item)\t\(Self.ratingText(x.rating))\t\(x.timestamp)\n" }
            if let t = s.test {
                test += "\(t.user)\t\(t.item)\t\(Self.ratingText(t.rating))\t\(t.timestamp)\n"
                neg += "(\(t.user),\(t.item))"
                for j in s.negatives { neg += "\t\(j)" }
                neg += "\n"
            }
        }
        try writeAtomically(train, to: prefix + ".train.rating")
        try writeAtomically(test, to: prefix + ".test.rating")
        try writeAtomically(neg, to: prefix + ".test.negative")
        // The id maps, so that NCF-only readers can still print raw ids.
        try writeAtomically(users.raw.enumerated().map { "\($0.offset)\t\($0.element)\n" }.joined(), to: prefix + ".users.map")
        try writeAtomically(items.raw.enumerated().map { "\($0.offset)\t\($0.element)\n" }.joined(), to: prefix + ".items.map")
    }

    /// Reads the three NCF files (and the optional `.users.map` / `.items.map` written by `writeNCF`).
    /// Counts are the largest index seen plus one, as NCF's own loader does.
    public static func readNCF(prefix: String) throws -> LeaveOneOutSplit {
        func lines(_ suffix: String) throws -> (String, [(Int, String)]) {
            let path = prefix + suffix
            guard let d = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(file: path, reason: "no such file or not readable")
            }
            return (path, InteractionLog.splitLines([UInt8](d)).filter { !$0.1.isEmpty })
        }
        func parseRating(_ path: String, _ n: Int, _ line: String) throws -> Interaction {
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 2, let u = Int32(f[0]), let i = Int32(f[1]), u >= 0, i >= 0 else {
                throw DataError.malformedSplit(file: path, line: n, text: line, reason: "expected user<TAB>item<TAB>rating<TAB>timestamp with 0-based ids")
            }
            let r = f.count >= 3 ? Float(f[2]) : 1
            let t = f.count >= 4 ? Int64(f[3]) : 0
            guard let r, r.isFinite, let t else {
                throw DataError.malformedSplit(file: path, line: n, text: line, reason: "bad rating or timestamp")
            }
            return Interaction(user: u, item: i, rating: r, timestamp: t)
        }
        let (trainPath, trainLines) = try lines(".train.rating")
        let (testPath, testLines) = try lines(".test.rating")
        let (negPath, negLines) = try lines(".test.negative")
        var train: [Interaction] = []
        train.reserveCapacity(trainLines.count)
        for (n, l) in trainLines { train.append(try parseRating(trainPath, n, l)) }
        var tests: [Interaction] = []
        for (n, l) in testLines { tests.append(try parseRating(testPath, n, l)) }
        var negatives: [Int32: [Int32]] = [:]
        for (n, l) in negLines {
            let f = l.split(separator: "\t")
            let head = f.first.map(String.init) ?? ""
            let pair = head.dropFirst().dropLast().split(separator: ",")
            guard head.hasPrefix("("), head.hasSuffix(")"), pair.count == 2, let u = Int32(pair[0]), Int32(pair[1]) != nil else {
                throw DataError.malformedSplit(file: negPath, line: n, text: l, reason: "expected (user,item) then tab-separated negatives")
            }
            var ns: [Int32] = []
            for x in f.dropFirst() {
                guard let j = Int32(x), j >= 0 else {
                    throw DataError.malformedSplit(file: negPath, line: n, text: l, reason: "negative '\(x)' is not an item index")
                }
                ns.append(j)
            }
            negatives[u] = ns
        }
        var maxUser: Int32 = -1, maxItem: Int32 = -1
        for x in train { maxUser = max(maxUser, x.user); maxItem = max(maxItem, x.item) }
        for x in tests { maxUser = max(maxUser, x.user); maxItem = max(maxItem, x.item) }
        for ns in negatives.values { for j in ns { maxItem = max(maxItem, j) } }
        var userCount = Int(maxUser) + 1, itemCount = Int(maxItem) + 1
        func readMap(_ suffix: String, _ count: Int) -> IDMap {
            guard let d = FileManager.default.contents(atPath: prefix + suffix) else {
                return IDMap(raw: (0..<count).map(String.init))
            }
            let raws = InteractionLog.splitLines([UInt8](d)).filter { !$0.1.isEmpty }.map { line -> String in
                let f = line.1.split(separator: "\t", maxSplits: 1)
                return f.count == 2 ? String(f[1]) : line.1
            }
            return IDMap(raw: raws)
        }
        let users = readMap(".users.map", userCount), items = readMap(".items.map", itemCount)
        userCount = max(userCount, users.count); itemCount = max(itemCount, items.count)
        var byUser = [[Interaction]](repeating: [], count: userCount)
        for x in train { byUser[Int(x.user)].append(x) }
        var testByUser: [Int32: Interaction] = [:]
        for t in tests {
            guard negatives[t.user] != nil else {
                throw DataError.malformedSplit(file: negPath, line: 0, text: "", reason: "no negatives for test user \(t.user)")
            }
            testByUser[t.user] = t
        }
        var shards: [UserShard] = []
        for u in 0..<userCount {
            let uid = Int32(u)
            let raw: String = u < users.count ? users.rawID(uid) : String(u)
            shards.append(UserShard(user: uid, rawUser: raw, itemCount: itemCount, train: byUser[u],
                                    test: testByUser[uid], negatives: negatives[uid] ?? []))
        }
        return LeaveOneOutSplit(userCount: userCount, itemCount: itemCount, users: users, items: items, shards: shards)
    }
}

// MARK: - One directory, one file per user

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

    public static func read(path: String) throws -> UserShard {
        guard let d = FileManager.default.contents(atPath: path) else {
            throw DataError.unreadable(file: path, reason: "no such file or not readable")
        }
        var user: Int32? = nil, raw = "", items: Int? = nil
        var train: [Interaction] = [], test: Interaction? = nil, negs: [Int32] = []
        for (n, line) in InteractionLog.splitLines([UInt8](d)) where !line.isEmpty && !line.hasPrefix("#") {
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

extension LeaveOneOutSplit {
    /// Writes one file per user into `directory` (created if needed), plus `catalog.tsv` (dense item index,
    /// raw item id): the public item catalogue every device knows.
    public func writeUserDirectory(_ directory: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Remove user files of an earlier, larger split: the directory must hold exactly this split.
        let mine = Set(shards.map { UserShard.fileName(user: $0.user) })
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        where name.hasPrefix("user-") && name.hasSuffix(".txt") && !mine.contains(name) {
            try FileManager.default.removeItem(atPath: directory + "/" + name)
        }
        for s in shards {
            try writeAtomically(s.fileText, to: directory + "/" + UserShard.fileName(user: s.user))
        }
        try writeAtomically(items.raw.enumerated().map { "\($0.offset)\t\($0.element)\n" }.joined(), to: directory + "/catalog.tsv")
    }

    /// Reads a directory written by `writeUserDirectory` back into a split.
    public static func readUserDirectory(_ directory: String) throws -> LeaveOneOutSplit {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory) } catch {
            throw DataError.unreadable(file: directory, reason: "not a readable directory")
        }
        var shards: [UserShard] = []
        for name in names where name.hasPrefix("user-") && name.hasSuffix(".txt") {
            shards.append(try UserShard.read(path: directory + "/" + name))
        }
        guard !shards.isEmpty else { throw DataError.empty(file: directory) }
        shards.sort { $0.user < $1.user }
        for (i, s) in shards.enumerated() where s.user != Int32(i) {
            throw DataError.malformedSplit(file: directory, line: 0, text: UserShard.fileName(user: Int32(i)), reason: "user files must be numbered 0..<N without gaps")
        }
        let itemCount = shards[0].itemCount
        var items = IDMap(raw: (0..<itemCount).map(String.init))
        if let d = FileManager.default.contents(atPath: directory + "/catalog.tsv") {
            let raws = InteractionLog.splitLines([UInt8](d)).filter { !$0.1.isEmpty }.map { l -> String in
                let f = l.1.split(separator: "\t", maxSplits: 1)
                return f.count == 2 ? String(f[1]) : l.1
            }
            if raws.count == itemCount { items = IDMap(raw: raws) }
        }
        return LeaveOneOutSplit(userCount: shards.count, itemCount: itemCount, users: IDMap(raw: shards.map(\.rawUser)),
                                items: items, shards: shards)
    }
}

/// Writes text to a temporary file in the same directory, fsyncs it, and renames it over `path`, so a crash
/// leaves either the old file or the new one, never half of one.
public func writeAtomically(_ text: String, to path: String) throws {
    try writeAtomically(Array(text.utf8), to: path)
}

public func writeAtomically(_ bytes: [UInt8], to path: String) throws {
    let tmp = path + ".tmp-\(ProcessInfo.processInfo.processIdentifier)"
    guard FileManager.default.createFile(atPath: tmp, contents: nil) else {
        throw DataError.unreadable(file: tmp, reason: "cannot create file")
    }
    do {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        try h.write(contentsOf: bytes)
        try h.synchronize()
        try h.close()
        guard rename(tmp, path) == 0 else { throw DataError.unreadable(file: path, reason: "rename failed, errno \(errno)") }
    } catch {
        try? FileManager.default.removeItem(atPath: tmp)
        throw DataError.unreadable(file: path, reason: "cannot write: \(error)")
    }
}
