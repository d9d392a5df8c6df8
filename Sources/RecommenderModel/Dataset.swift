import Foundation

/// One user-item interaction with dense (0-based) indices. Explicit ratings are kept so that a
/// `--min-rating` filter can turn them into implicit feedback; the model itself only sees "interacted".
public struct Interaction: Hashable, Sendable {
    public var user: Int32
    public var item: Int32
    public var rating: Float
    public var timestamp: Int64
    public init(user: Int32, item: Int32, rating: Float, timestamp: Int64) {
        self.user = user; self.item = item; self.rating = rating; self.timestamp = timestamp
    }
}

/// Raw identifiers (as written in the input file) mapped to dense indices 0..<count and back. Dense order
/// follows the raw ids' natural order (numeric when every id is an integer, otherwise lexicographic), so for
/// MovieLens' 1-based ids dense = raw - 1, the convention of the NCF files.
public struct IDMap: Sendable, Equatable {
    public private(set) var raw: [String]
    private var index: [String: Int32]

    public init(raw ids: [String]) {
        raw = ids
        index = Dictionary(uniqueKeysWithValues: ids.enumerated().map { ($1, Int32($0)) })
    }

    /// Builds the map from an unordered set of raw ids, in natural order.
    public init(collecting ids: some Sequence<String>) {
        let unique = Array(Set(ids))
        let numeric = unique.allSatisfy { Int64($0) != nil }
        // Ties between distinct texts of one number ("1", "01") are broken by the text: Set order varies by run.
        let sorted = numeric ? unique.sorted { (Int64($0)!, $0) < (Int64($1)!, $1) } : unique.sorted()
        self.init(raw: sorted)
    }

    public var count: Int { raw.count }
    public func dense(_ rawID: String) -> Int32? { index[rawID] }
    public func rawID(_ dense: Int32) -> String { raw[Int(dense)] }
}

/// The input formats GossipRec reads.
public enum DataFormat: String, Sendable, CaseIterable {
    /// MovieLens-100K `u.data`: tab-separated `user item rating timestamp`.
    case movielens
    /// MovieLens `ratings.csv`: `userId,movieId,rating,timestamp`, with a header line.
    case csv
    /// `user item [rating] [timestamp]`, separated by tabs or spaces; `#` starts a comment line.
    case plain
    /// Decide from the file name and its first data line.
    case auto
}

/// Stated limits on sizes that files declare, checked before anything is allocated for them: a user file or an NCF
/// file that declares two billion items must be refused with its name, not crash the process allocating a table.
/// (ML-100K has 1,682 items; the largest public recommendation sets have a few million.)
public enum DataLimits {
    /// Most items a catalogue may declare.
    public static let maxItems = 5_000_000
    /// Most users (dense indices) a split may declare.
    public static let maxUsers = 50_000_000
}

/// A data problem, always naming the file and, for a malformed line, its number and text.
public enum DataError: Error, CustomStringConvertible, Equatable {
    case unreadable(file: String, reason: String)
    case unwritable(file: String, reason: String)
    case malformedLine(file: String, line: Int, text: String, reason: String)
    case empty(file: String)
    case nothingToSplit(file: String, reason: String)
    case malformedSplit(file: String, line: Int, text: String, reason: String)
    /// An evaluation on the validation item asked of a split made without one (`user`: the first user found
    /// lacking it; nil when no user has one).
    case missingValidation(file: String, user: String?)

    public var description: String {
        switch self {
        case .unreadable(let f, let r): return "\(f): cannot read: \(r)"
        case .unwritable(let f, let r): return "\(f): cannot write: \(r)"
        case .malformedLine(let f, let n, let t, let r): return "\(f):\(n): \(r): \"\(DataError.clip(t))\""
        case .empty(let f): return "\(f): no interactions in the file"
        case .nothingToSplit(let f, let r): return "\(f): \(r)"
        case .malformedSplit(let f, let n, let t, let r): return "\(f):\(n): \(r): \"\(DataError.clip(t))\""
        case .missingValidation(let f, let u):
            return "\(f): " + (u.map { "user \($0) has no validation item" } ?? "no user has a validation item")
                + ": this split was made without validation (before 'gossiprec split' held one out, or with --no-validation); "
                + "make it again with 'gossiprec split --data RATINGS --out PREFIX' (same --seed: same test items), or evaluate on --evaluate test"
        }
    }

    static func clip(_ s: String) -> String {
        let shown = s.count > 120 ? String(s.prefix(117)) + "..." : s
        return shown.replacingOccurrences(of: "\t", with: "\\t")
    }
}

/// Interactions of a whole data set with the id maps needed to speak raw ids again.
public struct InteractionLog: Sendable {
    public var interactions: [Interaction]
    public var users: IDMap
    public var items: IDMap
    /// Lines that repeated a (user, item) pair already seen; the latest occurrence is kept.
    public var duplicatesDropped: Int
    /// Lines dropped by the `minRating` filter.
    public var belowMinRating: Int

    public var userCount: Int { users.count }
    public var itemCount: Int { items.count }

    public init(interactions: [Interaction], users: IDMap, items: IDMap, duplicatesDropped: Int = 0, belowMinRating: Int = 0) {
        self.interactions = interactions; self.users = users; self.items = items
        self.duplicatesDropped = duplicatesDropped; self.belowMinRating = belowMinRating
    }

    /// Parses the bytes of a ratings file (`DataFiles` reads them: `InteractionLog.load(path:)`). Explicit ratings
    /// become implicit interactions; with `minRating`, only ratings at or above it count. A missing timestamp is
    /// replaced by the line number (file order is time order). `file` only names the source in errors.
    public static func parse(bytes: [UInt8], file: String, format: DataFormat = .auto, minRating: Float? = nil) throws -> InteractionLog {
        // A UTF-8 byte order mark is not part of the first user id.
        let lines = splitLines(bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? Array(bytes.dropFirst(3)) : bytes)
        let fmt = format == .auto ? detect(file: file, lines: lines) : format
        struct Raw { var user: String; var item: String; var rating: Float; var ts: Int64 }
        var raws: [Raw] = []
        raws.reserveCapacity(lines.count)
        var belowMin = 0
        var first = true
        // A CSV header's columns, by name: positions of user, item, and (optionally) rating and timestamp.
        var columns: [Int]? = nil, headerWidth = 0
        for (n, line) in lines {
            let text = line
            if text.isEmpty { continue }
            if fmt == .plain && text.hasPrefix("#") { continue }
            var fields: [Substring]
            switch fmt {
            case .movielens: fields = text.split(separator: "\t", omittingEmptySubsequences: false)
            case .csv: fields = text.split(separator: ",", omittingEmptySubsequences: false)
            default: fields = text.split(whereSeparator: { $0 == " " || $0 == "\t" })
            }
            func bad(_ reason: String) -> DataError { .malformedLine(file: file, line: n, text: text, reason: reason) }
            if fmt == .csv && first {
                first = false
                // A header names its columns, so none of its fields is a number; a data line always has a
                // numeric rating. (Non-numeric ids alone must not make the first data line a header.)
                if fields.allSatisfy({ Double($0.trimmingCharacters(in: .whitespaces)) == nil }) {
                    columns = try Self.csvColumns(fields, bad)
                    headerWidth = fields.count
                    continue
                }
            }
            first = false
            if let columns {
                guard fields.count == headerWidth else {
                    throw bad("expected \(headerWidth) comma-separated fields, as the header line names, found \(fields.count)")
                }
                fields = columns.map { fields[$0] }
            }
            switch fmt {
            case .movielens where fields.count != 4:
                throw bad("expected 4 tab-separated fields (user item rating timestamp), found \(fields.count)")
            case .csv where fields.count != 4 && fields.count != 3:
                throw bad("expected 3 or 4 comma-separated fields (userId,movieId,rating[,timestamp]), found \(fields.count)")
            case .plain where fields.count < 2 || fields.count > 4:
                throw bad("expected 2 to 4 fields (user item [rating] [timestamp]), found \(fields.count)")
            default: break
            }
            let user = String(fields[0]).trimmingCharacters(in: .whitespaces)
            let item = String(fields[1]).trimmingCharacters(in: .whitespaces)
            if user.isEmpty { throw bad("empty user id") }
            if item.isEmpty { throw bad("empty item id") }
            var rating: Float = 1
            if fields.count >= 3 {
                guard let r = Float(fields[2].trimmingCharacters(in: .whitespaces)), r.isFinite else {
                    throw bad("rating '\(fields[2])' is not a finite number")
                }
                rating = r
            }
            var ts = Int64(n)
            if fields.count >= 4 {
                let t = fields[3].trimmingCharacters(in: .whitespaces)
                if let v = Int64(t) { ts = v }
                else if let d = Double(t), d.isFinite, abs(d) < 9e15 { ts = Int64(d) }
                else { throw bad("timestamp '\(fields[3])' is not an integer") }
            }
            if let m = minRating, rating < m { belowMin += 1; continue }
            raws.append(Raw(user: user, item: item, rating: rating, ts: ts))
        }
        if raws.isEmpty {
            if belowMin > 0 {
                throw DataError.nothingToSplit(file: file, reason: "all \(belowMin) interactions are below the minimum rating")
            }
            throw DataError.empty(file: file)
        }
        let users = IDMap(collecting: raws.lazy.map(\.user))
        let items = IDMap(collecting: raws.lazy.map(\.item))
        // De-duplicate (user, item): keep the latest occurrence.
        var latest: [Int64: Int] = [:]
        latest.reserveCapacity(raws.count)
        var out: [Interaction] = []
        out.reserveCapacity(raws.count)
        var dups = 0
        for r in raws {
            let u = users.dense(r.user)!, i = items.dense(r.item)!
            let key = Int64(u) << 32 | Int64(i)
            let x = Interaction(user: u, item: i, rating: r.rating, timestamp: r.ts)
            if let at = latest[key] {
                dups += 1
                if x.timestamp >= out[at].timestamp { out[at] = x }
            } else {
                latest[key] = out.count
                out.append(x)
            }
        }
        return InteractionLog(interactions: out, users: users, items: items, duplicatesDropped: dups, belowMinRating: belowMin)
    }

    /// Column positions named by a CSV header: user and item (required), then rating and timestamp when present.
    /// Names are matched without case, spaces, '_' or '-': user, userid, uid, customerid; item, itemid, movieid,
    /// productid, iid, movie; rating, score, stars; timestamp, time, ts. Other columns are refused by name, so a
    /// file whose columns are swapped or mislabelled is never read by position.
    static func csvColumns(_ header: [Substring], _ bad: (String) -> DataError) throws -> [Int] {
        let roles: [(String, Set<String>)] = [
            ("user", ["user", "userid", "uid", "customerid"]),
            ("item", ["item", "itemid", "movieid", "productid", "iid", "movie"]),
            ("rating", ["rating", "score", "stars"]),
            ("timestamp", ["timestamp", "time", "ts"]),
        ]
        var at: [String: Int] = [:]
        for (k, raw) in header.enumerated() {
            let name = raw.lowercased().filter { !" _-\"".contains($0) }
            guard let role = roles.first(where: { $0.1.contains(name) })?.0 else {
                throw bad("unknown column '\(raw.trimmingCharacters(in: .whitespaces))' in the header (expected user, item, rating and timestamp columns, such as userId,movieId,rating,timestamp)")
            }
            guard at[role] == nil else { throw bad("two \(role) columns in the header") }
            at[role] = k
        }
        guard let u = at["user"], let i = at["item"] else {
            throw bad("the header names no \(at["user"] == nil ? "user" : "item") column (such as userId,movieId,rating,timestamp)")
        }
        if at["rating"] == nil, at["timestamp"] != nil { throw bad("a timestamp column needs a rating column") }
        return [u, i] + [at["rating"], at["timestamp"]].compactMap { $0 }
    }

    /// Lines as (1-based number, text without the line terminator).
    public static func splitLines(_ bytes: [UInt8]) -> [(Int, String)] {
        var out: [(Int, String)] = []
        var start = 0, n = 0
        bytes.withUnsafeBufferPointer { buf in
            var i = 0
            while i <= buf.count {
                if i == buf.count || buf[i] == 0x0A {
                    n += 1
                    var end = i
                    if end > start && buf[end - 1] == 0x0D { end -= 1 }
                    if !(i == buf.count && start == i) {
                        out.append((n, String(decoding: UnsafeBufferPointer(rebasing: buf[start..<end]), as: UTF8.self)))
                    }
                    start = i + 1
                }
                i += 1
            }
        }
        return out
    }

    static func detect(file: String, lines: [(Int, String)]) -> DataFormat {
        if file.lowercased().hasSuffix(".csv") { return .csv }
        guard let firstData = lines.first(where: { !$0.1.isEmpty && !$0.1.hasPrefix("#") })?.1 else { return .plain }
        if firstData.contains(",") { return .csv }
        if firstData.split(separator: "\t", omittingEmptySubsequences: false).count == 4 && !firstData.contains(" ") {
            return .movielens
        }
        return .plain
    }
}

/// Item titles keyed by raw item id, read from a tab-separated `item<TAB>title[<TAB>...]` file such as
/// `items.tsv`. Used only to make output readable.
public struct ItemTitles: Sendable {
    public var titles: [String: String]
    public init(titles: [String: String] = [:]) { self.titles = titles }

    /// Parses `item<TAB>title` lines (`DataFiles` reads the file: `ItemTitles.load(path:)`).
    public static func parse(bytes: [UInt8], file: String) throws -> ItemTitles {
        var titles: [String: String] = [:]
        for (n, line) in InteractionLog.splitLines(bytes) where !line.isEmpty {
            let f = line.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false)
            guard f.count >= 2 else {
                throw DataError.malformedLine(file: file, line: n, text: line, reason: "expected item<TAB>title")
            }
            titles[String(f[0])] = String(f[1])
        }
        return ItemTitles(titles: titles)
    }

    public subscript(rawItem: String) -> String? { titles[rawItem] }
}
