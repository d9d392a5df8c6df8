import Foundation
import Testing
@testable import RecommenderModel

/// Parses `text` as the bytes of a ratings file named `file`.
func parseText(_ text: String, file: String = "ratings.txt", format: DataFormat = .auto,
               minRating: Float? = nil) throws -> InteractionLog {
    try InteractionLog.parse(bytes: Array(text.utf8), file: file, format: format, minRating: minRating)
}

/// The `DataError` thrown by parsing `text`, or nil (recorded as a test failure) when nothing or something
/// else was thrown.
func parseError(_ text: String, file: String, format: DataFormat = .auto, minRating: Float? = nil,
                sourceLocation: SourceLocation = #_sourceLocation) -> DataError? {
    do {
        let log = try parseText(text, file: file, format: format, minRating: minRating)
        Issue.record("expected a DataError, parsed \(log.interactions.count) interactions", sourceLocation: sourceLocation)
        return nil
    } catch let e as DataError {
        return e
    } catch {
        Issue.record("expected a DataError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}

/// Dense index of a raw id, failing the test when the id is unknown.
func dense(_ map: IDMap, _ raw: String, sourceLocation: SourceLocation = #_sourceLocation) -> Int32 {
    guard let d = map.dense(raw) else {
        Issue.record("raw id '\(raw)' is not in the map \(map.raw)", sourceLocation: sourceLocation)
        return -1
    }
    return d
}

/// A log built directly from dense (user, item, timestamp) triples; raw ids are the dense indices as text.
func makeLog(users: Int, items: Int, _ triples: [(Int, Int, Int64)], rating: Float = 1) -> InteractionLog {
    InteractionLog(interactions: triples.map { Interaction(user: Int32($0.0), item: Int32($0.1), rating: rating, timestamp: $0.2) },
                   users: IDMap(raw: (0..<users).map(String.init)), items: IDMap(raw: (0..<items).map(String.init)))
}

/// A random log: each user touches `perUser` distinct random items with random distinct timestamps.
func randomLog(users: Int, items: Int, perUser: Int, seed: UInt64) -> InteractionLog {
    SyntheticData.uniform(users: users, items: items, perUser: perUser, seed: seed)
}

/// Planted taste structure (see `SyntheticData.planted`).
func plantedLog(users: Int = 60, items: Int = 80, groups: Int = 4, perUser: Int = 15, seed: UInt64) -> InteractionLog {
    SyntheticData.planted(users: users, items: items, groups: groups, perUser: perUser, seed: seed)
}
