import Foundation
import Testing
@testable import RecommenderModel

/// A fresh directory under the system temporary directory, removed when `body` returns (or throws).
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let dir = NSTemporaryDirectory() + "/gossiprec-rmtests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    return try body(dir)
}

/// Parses `text` as the bytes of a ratings file named `file`.
func parseText(_ text: String, file: String = "ratings.txt", format: DataFormat = .auto,
               minRating: Float? = nil) throws -> InteractionLog {
    try InteractionLog.parse(bytes: Array(text.utf8), file: file, format: format, minRating: minRating)
}


/// A log built directly from dense (user, item, timestamp) triples; raw ids are the dense indices as text.
func makeLog(users: Int, items: Int, _ triples: [(Int, Int, Int64)], rating: Float = 1) -> InteractionLog {
    InteractionLog(interactions: triples.map { Interaction(user: Int32($0.0), item: Int32($0.1), rating: rating, timestamp: $0.2) },
                   users: IDMap(raw: (0..<users).map(String.init)), items: IDMap(raw: (0..<items).map(String.init)))
}

/// A random log: each user touches `perUser` distinct random items with random distinct timestamps.
func randomLog(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionLog {
    var rng = SplitMix64(seed: seed)
    var triples: [(Int, Int, Int64)] = []
    for u in 0..<users {
        var chosen = Array(0..<items)
        chosen.shuffle(using: &rng)
        for (k, i) in chosen.prefix(perUser).enumerated() {
            triples.append((u, i, Int64(1000 * u + 17 * k + rng.next(below: 10))))
        }
    }
    var log = makeLog(users: users, items: items, triples)
    // Some non-integer ratings so that rating text round trips are exercised.
    for k in log.interactions.indices where k % 3 == 0 { log.interactions[k].rating = 3.5 }
    return log
}

