import Foundation

/// Which held-out item an evaluation ranks: the test item (scored once, at the end) or the validation item (what
/// settings are chosen on). Both are ranked by the same code: `UserShard.evaluating(on:)` presents the validation
/// item and its negatives as the held-out item, and takes it out of training.
public enum HeldOutItem: String, CaseIterable, Sendable {
    case test, validation
}

/// What one user's device holds: its own training interactions, its held-out test item and the sampled
/// negatives it is evaluated against, and (splits made with a validation item) its validation item with its own
/// negatives. Nothing about any other user.
public struct UserShard: Sendable, Equatable {
    public var user: Int32
    public var rawUser: String
    /// Catalogue size (public knowledge, like the list of movies in an app).
    public var itemCount: Int
    /// Training interactions, sorted by (timestamp, item): every interaction before the test item. The validation
    /// item, when there is one, is the last of them: an evaluation on the test item trains on it (as a split without
    /// validation does, so test figures do not move), one on the validation item does not (`evaluating(on:)`).
    public var train: [Interaction]
    /// The held-out latest interaction, if the user had at least two.
    public var test: Interaction?
    /// Items the user never touched, sampled once, to rank the test item against.
    public var negatives: [Int32]
    /// The second-latest interaction (splits with validation, users with at least three interactions): the last
    /// element of `train`, held out only by `evaluating(on: .validation)`.
    public var validation: Interaction?
    /// Items the user never touched, sampled once (independently of `negatives`), to rank the validation item against.
    public var validationNegatives: [Int32]

    public init(user: Int32, rawUser: String, itemCount: Int, train: [Interaction], test: Interaction?, negatives: [Int32],
                validation: Interaction? = nil, validationNegatives: [Int32] = []) {
        self.user = user; self.rawUser = rawUser; self.itemCount = itemCount
        self.train = train; self.test = test; self.negatives = negatives
        self.validation = validation; self.validationNegatives = validationNegatives
    }

    /// Training items, sorted ascending (for membership tests during negative sampling).
    public var trainItemsSorted: [Int32] { train.map(\.item).sorted() }

    /// True when this shard should have a validation item but has none: it has a test item and at least two training
    /// interactions, so a split with validation would have marked the latest of them. Such a shard comes from a
    /// split made without validation (before it existed, or `gossiprec split --no-validation`).
    public var lacksValidation: Bool { test != nil && validation == nil && train.count >= 2 }

    /// This shard as an evaluation on `target` sees it. `.test`: unchanged (training holds every interaction before
    /// the test item). `.validation`: the validation item leaves training and, with its negatives, takes the place
    /// of the test item and its negatives; the test item is dropped (no training set ever holds it). So every
    /// ranking path (`testRank`, `PeerLearner.testRank`, `CentralTrainer.evaluate`, `ItemPopularity`) scores the
    /// validation item without code of its own, on a model that never saw it or anything after it. A user without
    /// a validation item then has no held-out item and is not evaluated (its training set is unchanged).
    public func evaluating(on target: HeldOutItem) -> UserShard {
        guard target == .validation else { return self }
        guard let v = validation else {
            return UserShard(user: user, rawUser: rawUser, itemCount: itemCount, train: train, test: nil, negatives: [])
        }
        return UserShard(user: user, rawUser: rawUser, itemCount: itemCount, train: train.filter { $0.item != v.item },
                         test: v, negatives: validationNegatives)
    }

    /// The training interactions a split's files list: `train` without the validation item, which its own line
    /// holds (on disk every interaction is in exactly one of train, validation and test).
    public var trainWithoutValidation: [Interaction] {
        guard let v = validation else { return train }
        return train.filter { $0.item != v.item }
    }
}

/// The leave-one-out protocol of NCF (He, Liao, Zhang, Nie, Hu, Chua, "Neural Collaborative Filtering",
/// WWW 2017), which the federated-recommendation literature reports on: each user's latest interaction
/// (ties broken by the larger item index) is held out as the test item, and `negativeCount` items the user
/// never interacted with are sampled (seeded, without replacement) to rank it against.
///
/// With `validation: true`, each user's second-latest interaction is also marked as the validation item that
/// settings are tuned on, with its own sampled negatives (the protocol of Rendle, Krichene, Zhang, Anderson,
/// "Neural collaborative filtering vs. matrix factorization revisited", RecSys 2020: tune on a holdout taken from
/// the training data, then train with the chosen settings on all of it and score the test item once). It comes out
/// of the training data only when evaluating on it (`UserShard.evaluating(on:)`); the test item, its negatives and
/// the training set seen by a test evaluation are exactly those of a split without validation, same data and seed.
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

    /// Splits a log. Users with a single interaction keep it for training and have no test item; with
    /// `validation`, users with exactly two keep the earlier one for training and have no validation item
    /// (`testableUsers` minus `validationUsers`). Negatives for user u come from a generator seeded by (seed, u),
    /// validation negatives from another one, so neither depends on order, and the test negatives do not depend
    /// on `validation`. Both are drawn from the items the user never touched (train, validation and test).
    public static func make(from log: InteractionLog, negatives negativeCount: Int = 99, seed: UInt64 = 1, file: String = "data",
                            validation: Bool = false) throws -> LeaveOneOutSplit {
        var byUser = [[Interaction]](repeating: [], count: log.userCount)
        for x in log.interactions { byUser[Int(x.user)].append(x) }
        var shards: [UserShard] = []
        shards.reserveCapacity(log.userCount)
        var testable = 0
        /// `negativeCount` items outside `touched`, distinct, from a generator seeded by `mix` and the user.
        func sample(user u: Int, touched: Set<Int32>, mix: UInt64) -> [Int32] {
            var rng = SplitMix64(seed: seed ^ (UInt64(u) &* 0x9E37_79B9_7F4A_7C15) ^ mix)
            var chosen = Set<Int32>(), negs: [Int32] = []
            while negs.count < negativeCount {
                let j = Int32(rng.next(below: log.itemCount))
                if touched.contains(j) || chosen.contains(j) { continue }
                chosen.insert(j); negs.append(j)
            }
            return negs
        }
        for u in 0..<log.userCount {
            var xs = byUser[u]
            xs.sort { ($0.timestamp, $0.item) < ($1.timestamp, $1.item) }
            var shard = UserShard(user: Int32(u), rawUser: log.users.rawID(Int32(u)), itemCount: log.itemCount,
                                  train: xs, test: nil, negatives: [])
            if xs.count >= 2 {
                let test = xs.removeLast()
                let touched = Set(xs.map(\.item) + [test.item])
                let available = log.itemCount - touched.count
                if available < negativeCount {
                    throw DataError.nothingToSplit(file: file, reason: "user \(log.users.rawID(Int32(u))) has touched \(touched.count) of \(log.itemCount) items: fewer than \(negativeCount) negatives remain")
                }
                shard.test = test
                shard.negatives = sample(user: u, touched: touched, mix: 0xD1B5_4A32_D192_ED03)
                if validation && xs.count >= 2 {
                    shard.validation = xs.last
                    shard.validationNegatives = sample(user: u, touched: touched, mix: 0x6A09_E667_F3BC_C909)
                }
                shard.train = xs
                testable += 1
            }
            shards.append(shard)
        }
        if testable == 0 {
            throw DataError.nothingToSplit(file: file, reason: "no user has two distinct interactions, so nothing can be held out")
        }
        return LeaveOneOutSplit(userCount: log.userCount, itemCount: log.itemCount, users: log.users, items: log.items, shards: shards)
    }

    public var trainInteractions: [Interaction] { shards.flatMap(\.train) }
    public var testableUsers: [Int32] { shards.filter { $0.test != nil }.map(\.user) }
    /// Users with a validation item.
    public var validationUsers: [Int32] { shards.filter { $0.validation != nil }.map(\.user) }
    /// True when some user has a validation item (a split made with `validation: true`, or read from its files).
    public var hasValidation: Bool { shards.contains { $0.validation != nil } }

    /// The split as an evaluation on `target` sees it (`UserShard.evaluating(on:)` for every shard). Asking for
    /// `.validation` from a split made without validation is an error naming `source` and saying how to make one.
    public func evaluating(on target: HeldOutItem, source: String) throws -> LeaveOneOutSplit {
        guard target == .validation else { return self }
        try Self.requireValidation(shards, source: source)
        var s = self
        s.shards = shards.map { $0.evaluating(on: .validation) }
        return s
    }

    /// Throws `DataError.missingValidation` when a shard lacks the validation item a split with validation gives it
    /// (`UserShard.lacksValidation`), or when no shard has one at all.
    public static func requireValidation(_ shards: some Collection<UserShard>, source: String) throws {
        if let s = shards.first(where: \.lacksValidation) {
            throw DataError.missingValidation(file: source, user: s.rawUser)
        }
        if !shards.isEmpty && !shards.contains(where: { $0.validation != nil }) {
            throw DataError.missingValidation(file: source, user: nil)
        }
    }
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
    ///
    /// Version 2 adds two lines after those (a shard without a validation item is still written as v1); its
    /// `train` lines leave the validation item out, and reading puts it back as the last training interaction:
    ///
    ///     validation ITEM RATING TIMESTAMP
    ///     validation-negatives J1 J2 ... J99
    public var fileText: String {
        var s = "# gossiprec user shard \(validation == nil ? "v1" : "v2")\nuser \(user) raw \(rawUser)\nitems \(itemCount)\n"
        for x in trainWithoutValidation { s += "train \(x.item) \(LeaveOneOutSplit.ratingText(x.rating)) \(x.timestamp)\n" }
        if let t = test { s += "test \(t.item) \(LeaveOneOutSplit.ratingText(t.rating)) \(t.timestamp)\n" }
        if !negatives.isEmpty { s += "negatives " + negatives.map(String.init).joined(separator: " ") + "\n" }
        if let v = validation {
            s += "validation \(v.item) \(LeaveOneOutSplit.ratingText(v.rating)) \(v.timestamp)\n"
            s += "validation-negatives " + validationNegatives.map(String.init).joined(separator: " ") + "\n"
        }
        return s
    }

    public static func fileName(user: Int32) -> String { "user-\(user).txt" }

    /// This shard with `validation` (read from a file that lists it apart from the training interactions) put back
    /// as its last training interaction; nil leaves the shard as it is. Throws, naming `file`, when the validation
    /// item comes before a training interaction, repeats one, or the shard has no test item.
    public func withValidation(_ validation: Interaction?, negatives: [Int32], file: String) throws -> UserShard {
        guard let v = validation else { return self }
        func bad(_ r: String) -> DataError { .malformedSplit(file: file, line: 0, text: "", reason: "user \(rawUser): \(r)") }
        guard test != nil else { throw bad("a validation item without a test item") }
        guard !train.contains(where: { $0.item == v.item }) else { throw bad("validation item \(v.item) is also a training item") }
        if train.contains(where: { ($0.timestamp, $0.item) > (v.timestamp, v.item) }) {
            throw bad("validation item \(v.item) at \(v.timestamp) is not later than every training interaction")
        }
        var s = self
        s.train.append(v); s.validation = v; s.validationNegatives = negatives
        return s
    }

    /// Parses a user file (`fileText`'s format; `DataFiles` reads it: `UserShard.read(path:)`). `file` names the
    /// source in errors.
    public static func parse(bytes: [UInt8], file path: String) throws -> UserShard {
        var user: Int32? = nil, raw = "", items: Int? = nil
        var train: [Interaction] = [], test: Interaction? = nil, negs: [Int32] = []
        var validation: Interaction? = nil, validationNegs: [Int32] = []
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
            case "train", "test", "validation":
                guard let u = user, let c = items else { throw bad("'user' and 'items' lines must come first") }
                guard f.count == 4, let i = Int32(f[1]), i >= 0, Int(i) < c, let r = Float(f[2]), r.isFinite, let t = Int64(f[3]) else {
                    throw bad("expected: \(f[0]) ITEM RATING TIMESTAMP with ITEM below \(c)")
                }
                let x = Interaction(user: u, item: i, rating: r, timestamp: t)
                switch f[0] { case "train": train.append(x); case "test": test = x; default: validation = x }
            case "negatives", "validation-negatives":
                guard let c = items else { throw bad("'items' line must come first") }
                for v in f.dropFirst() {
                    guard let j = Int32(v), j >= 0, Int(j) < c else { throw bad("negative '\(v)' is not an item below \(c)") }
                    if f[0] == "negatives" { negs.append(j) } else { validationNegs.append(j) }
                }
            default:
                throw bad("unknown line kind '\(f.first ?? "")'")
            }
        }
        guard let u = user, let c = items else {
            throw DataError.malformedSplit(file: path, line: 0, text: "", reason: "missing 'user' or 'items' line")
        }
        if validation != nil && validationNegs.isEmpty {
            throw DataError.malformedSplit(file: path, line: 0, text: "", reason: "a 'validation' line without a 'validation-negatives' line")
        }
        if validation == nil && !validationNegs.isEmpty {
            throw DataError.malformedSplit(file: path, line: 0, text: "", reason: "a 'validation-negatives' line without a 'validation' line")
        }
        return try UserShard(user: u, rawUser: raw, itemCount: c, train: train, test: test, negatives: negs)
            .withValidation(validation, negatives: validationNegs, file: path)
    }
}

