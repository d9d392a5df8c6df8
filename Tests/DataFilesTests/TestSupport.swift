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


/// A random log: each user touches `perUser` distinct random items with random distinct timestamps.
func randomLog(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionLog {
    SyntheticData.uniform(users: users, items: items, perUser: perUser, seed: seed)
}

