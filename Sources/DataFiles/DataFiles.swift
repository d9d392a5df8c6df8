import Foundation
import RecommenderModel

// The file side of the data (issue 15: RecommenderModel does no I/O). Reading a file here and parsing its bytes
// there; writing goes through `writeAtomically` (temporary file, fsync, rename).

extension InteractionLog {
    /// Reads a ratings file and parses it (`parse(bytes:file:format:minRating:)`).
    public static func load(path: String, format: DataFormat = .auto, minRating: Float? = nil) throws -> InteractionLog {
        try parse(bytes: try readFile(path), file: path, format: format, minRating: minRating)
    }
}

extension ItemTitles {
    /// Reads a tab-separated `item<TAB>title` file such as `items.tsv`.
    public static func load(path: String) throws -> ItemTitles {
        try parse(bytes: try readFile(path), file: path)
    }
}

extension UserShard {
    /// Reads one user file (`fileText`'s format).
    public static func read(path: String) throws -> UserShard {
        try parse(bytes: try readFile(path), file: path)
    }
}

/// The bytes of a file, or `DataError.unreadable` naming it (a directory, a missing file, no permission).
public func readFile(_ path: String) throws -> [UInt8] {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        throw DataError.unreadable(file: path, reason: "is a directory, not a file")
    }
    guard let d = FileManager.default.contents(atPath: path) else {
        throw DataError.unreadable(file: path, reason: FileManager.default.fileExists(atPath: path)
                                   ? "permission denied" : "no such file")
    }
    return [UInt8](d)
}

// MARK: - NCF text files

extension LeaveOneOutSplit {
    /// Writes `PREFIX.train.rating`, `PREFIX.test.rating` and `PREFIX.test.negative` in exactly NCF's text
    /// format (dense 0-based ids, tab-separated; the negative file's lines start with "(user,item)"), and, when
    /// the split has validation items, `PREFIX.validation.rating` and `PREFIX.validation.negative` in the same
    /// format (without them, stale validation files of an earlier split at this prefix are removed). Every
    /// interaction is in exactly one file: `.train.rating` leaves the validation items out (`readNCF` puts them back).
    public func writeNCF(prefix: String) throws {
        var train = "", test = "", neg = "", validation = "", validationNeg = ""
        train.reserveCapacity(shards.count * 200)
        func held(_ t: Interaction, _ negatives: [Int32], _ rating: inout String, _ neg: inout String) {
            rating += "\(t.user)\t\(t.item)\t\(LeaveOneOutSplit.ratingText(t.rating))\t\(t.timestamp)\n"
            neg += "(\(t.user),\(t.item))"
            for j in negatives { neg += "\t\(j)" }
            neg += "\n"
        }
        for s in shards {
            for x in s.trainWithoutValidation { train += "\(x.user)\t\(x.item)\t\(LeaveOneOutSplit.ratingText(x.rating))\t\(x.timestamp)\n" }
            if let t = s.test { held(t, s.negatives, &test, &neg) }
            if let v = s.validation { held(v, s.validationNegatives, &validation, &validationNeg) }
        }
        try writeAtomically(train, to: prefix + ".train.rating")
        try writeAtomically(test, to: prefix + ".test.rating")
        try writeAtomically(neg, to: prefix + ".test.negative")
        if hasValidation {
            try writeAtomically(validation, to: prefix + ".validation.rating")
            try writeAtomically(validationNeg, to: prefix + ".validation.negative")
        } else {
            for suffix in [".validation.rating", ".validation.negative"] where FileManager.default.fileExists(atPath: prefix + suffix) {
                try FileManager.default.removeItem(atPath: prefix + suffix)
            }
        }
        // The id maps, so that NCF-only readers can still print raw ids.
        try writeAtomically(users.raw.enumerated().map { "\($0.offset)\t\($0.element)\n" }.joined(), to: prefix + ".users.map")
        try writeAtomically(items.raw.enumerated().map { "\($0.offset)\t\($0.element)\n" }.joined(), to: prefix + ".items.map")
    }

    /// Reads the three NCF files (and the optional `.users.map` / `.items.map` written by `writeNCF`, and the
    /// optional `.validation.rating` / `.validation.negative`: a split made before validation existed still loads,
    /// without validation items; each validation item goes back into its user's training interactions, as the last
    /// one, see `UserShard.train`). Counts are the largest index seen plus one, as NCF's own loader does.
    public static func readNCF(prefix: String) throws -> LeaveOneOutSplit {
        func lines(_ suffix: String) throws -> (String, [(Int, String)]) {
            let path = prefix + suffix
            return (path, InteractionLog.splitLines(try readFile(path)).filter { !$0.1.isEmpty })
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
        /// A `.negative` file: user -> negatives (the "(user,item)" head names the user).
        func parseNegatives(_ path: String, _ lines: [(Int, String)]) throws -> [Int32: [Int32]] {
            var negatives: [Int32: [Int32]] = [:]
            for (n, l) in lines {
                let f = l.split(separator: "\t")
                let head = f.first.map(String.init) ?? ""
                let pair = head.dropFirst().dropLast().split(separator: ",")
                guard head.hasPrefix("("), head.hasSuffix(")"), pair.count == 2, let u = Int32(pair[0]), Int32(pair[1]) != nil else {
                    throw DataError.malformedSplit(file: path, line: n, text: l, reason: "expected (user,item) then tab-separated negatives")
                }
                var ns: [Int32] = []
                for x in f.dropFirst() {
                    guard let j = Int32(x), j >= 0 else {
                        throw DataError.malformedSplit(file: path, line: n, text: l, reason: "negative '\(x)' is not an item index")
                    }
                    ns.append(j)
                }
                negatives[u] = ns
            }
            return negatives
        }
        let (trainPath, trainLines) = try lines(".train.rating")
        let (testPath, testLines) = try lines(".test.rating")
        let (negPath, negLines) = try lines(".test.negative")
        var train: [Interaction] = []
        train.reserveCapacity(trainLines.count)
        for (n, l) in trainLines { train.append(try parseRating(trainPath, n, l)) }
        var tests: [Interaction] = []
        for (n, l) in testLines { tests.append(try parseRating(testPath, n, l)) }
        let negatives = try parseNegatives(negPath, negLines)
        // Validation files: both or neither.
        let hasValidationRating = FileManager.default.fileExists(atPath: prefix + ".validation.rating")
        let hasValidationNegative = FileManager.default.fileExists(atPath: prefix + ".validation.negative")
        guard hasValidationRating == hasValidationNegative else {
            throw DataError.malformedSplit(file: prefix + (hasValidationRating ? ".validation.negative" : ".validation.rating"), line: 0, text: "",
                                           reason: "missing while \(prefix + (hasValidationRating ? ".validation.rating" : ".validation.negative")) exists (write both with 'gossiprec split')")
        }
        var validations: [Interaction] = [], validationNegatives: [Int32: [Int32]] = [:]
        let validationNegPath = prefix + ".validation.negative"
        if hasValidationRating {
            let (vPath, vLines) = try lines(".validation.rating")
            for (n, l) in vLines { validations.append(try parseRating(vPath, n, l)) }
            validationNegatives = try parseNegatives(validationNegPath, try lines(".validation.negative").1)
        }
        var maxUser: Int32 = -1, maxItem: Int32 = -1
        for x in train { maxUser = max(maxUser, x.user); maxItem = max(maxItem, x.item) }
        for x in tests + validations { maxUser = max(maxUser, x.user); maxItem = max(maxItem, x.item) }
        for ns in Array(negatives.values) + Array(validationNegatives.values) { for j in ns { maxItem = max(maxItem, j) } }
        guard Int(maxItem) < DataLimits.maxItems, Int(maxUser) < DataLimits.maxUsers else {
            throw DataError.malformedSplit(file: prefix + ".*", line: 0, text: "",
                                           reason: "item index \(maxItem) or user index \(maxUser) is above the limit of "
                                           + "\(DataLimits.maxItems) items and \(DataLimits.maxUsers) users")
        }
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
        var validationByUser: [Int32: Interaction] = [:]
        for v in validations {
            guard validationNegatives[v.user] != nil else {
                throw DataError.malformedSplit(file: validationNegPath, line: 0, text: "", reason: "no negatives for validation user \(v.user)")
            }
            validationByUser[v.user] = v
        }
        var shards: [UserShard] = []
        for u in 0..<userCount {
            let uid = Int32(u)
            let raw: String = u < users.count ? users.rawID(uid) : String(u)
            shards.append(try UserShard(user: uid, rawUser: raw, itemCount: itemCount, train: byUser[u],
                                        test: testByUser[uid], negatives: negatives[uid] ?? [])
                .withValidation(validationByUser[uid], negatives: validationNegatives[uid] ?? [], file: prefix + ".validation.rating"))
        }
        return LeaveOneOutSplit(userCount: userCount, itemCount: itemCount, users: users, items: items, shards: shards)
    }
}

// MARK: - One directory, one file per user

extension LeaveOneOutSplit {
    /// Writes one file per user into `directory` (created if needed), plus `catalog.tsv` (dense item index,
    /// raw item id): the public item catalogue every device knows.
    public func writeUserDirectory(_ directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw DataError.unwritable(file: directory, reason: "cannot create the directory (a file of that name, or no permission)")
        }
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
        return LeaveOneOutSplit(userCount: shards.count, itemCount: itemCount, users: IDMap(raw: shards.map(\.rawUser)),
                                items: readCatalog(directory, itemCount: itemCount), shards: shards)
    }

    /// The raw item ids of a user directory's `catalog.tsv` (dense index, raw id per line), or the dense indices as
    /// text when the file is missing or does not list exactly `itemCount` items.
    public static func readCatalog(_ directory: String, itemCount: Int) -> IDMap {
        if let d = FileManager.default.contents(atPath: directory + "/catalog.tsv") {
            let raws = InteractionLog.splitLines([UInt8](d)).filter { !$0.1.isEmpty }.map { l -> String in
                let f = l.1.split(separator: "\t", maxSplits: 1)
                return f.count == 2 ? String(f[1]) : l.1
            }
            if raws.count == itemCount { return IDMap(raw: raws) }
        }
        return IDMap(raw: (0..<itemCount).map(String.init))
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
        throw DataError.unwritable(file: tmp, reason: "cannot create the file (missing directory or no permission)")
    }
    do {
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        try h.write(contentsOf: bytes)
        try h.synchronize()
        try h.close()
        guard rename(tmp, path) == 0 else { throw DataError.unwritable(file: path, reason: "rename failed, errno \(errno)") }
    } catch {
        try? FileManager.default.removeItem(atPath: tmp)
        throw error as? DataError ?? DataError.unwritable(file: path, reason: "\(error)")
    }
}
