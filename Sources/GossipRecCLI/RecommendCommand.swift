import DataFiles
import Foundation
import PeerStore
import RecommenderModel

/// `gossiprec recommend`: one user's top N from what their peer learned, read from the peer's checkpoint (a node run
/// with `--checkpoint-dir DIR` keeps peer U's state in `DIR/peer-U`; `swarm.sh` in `OUT/checkpoints`). The scores are
/// the peer's own: its private user vector against its copy of the shared item table. Items the user already has in
/// their training data are left out; the held-out test item, when the split has one, is marked.
///
/// Reading a live peer (over a local admin socket) is not built: stop the peer (it checkpoints on a clean stop) or
/// wait for its periodic checkpoint.
struct RecommendCommand: Subcommand {
    static let name = "recommend"
    static let summary = "Print a user's top-N recommendations (with titles) from their peer's checkpoint"
    static let options = [
        OptionSpec("checkpoint-dir", "DIR", "the node's --checkpoint-dir (peer U's state is in DIR/peer-U)"),
        OptionSpec("user", "U", "the user (dense index, as in the split's user-U.txt)"),
        OptionSpec("users-dir", "DIR", "the split's user directory ('gossiprec split'): the user's rated items and the catalogue's raw ids"),
        OptionSpec("titles", "FILE", "item titles (item<TAB>title, such as data/ml-100k/items.tsv); default: raw ids only"),
        OptionSpec("top", "N", "how many items", default: "10"),
        OptionSpec("json", nil, "print one JSON object instead of a table"),
    ]

    var checkpointDir: String, user: Int, usersDir: String, titlesPath: String?, top: Int, json: Bool

    init(_ o: ParsedOptions) throws {
        checkpointDir = try o.string("checkpoint-dir")
        user = try o.int("user", in: 0...100_000_000)
        usersDir = try o.string("users-dir")
        titlesPath = o.optionalString("titles")
        top = try o.int("top", in: 1...100_000)
        json = o.has("json")
    }

    /// One recommended item.
    struct Pick: Equatable { var rank: Int; var item: Int; var rawItem: String; var score: Float; var title: String?; var heldOut: HeldOutItem? }

    /// The top `k` unseen items of `state` for the user whose training items are `seen` (pure; tested).
    static func topItems(_ state: LearnerState, seen: Set<Int32>, k: Int) -> [(item: Int, score: Float)] {
        var scored: [(Int, Float)] = []
        scored.reserveCapacity(state.items.itemCount)
        state.user.values.withUnsafeBufferPointer { u in
            for i in 0..<state.items.itemCount where !seen.contains(Int32(i)) {
                scored.append((i, state.items.score(user: u.baseAddress!, item: i)))
            }
        }
        return Array(scored.sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }.prefix(k)).map { (item: $0.0, score: $0.1) }
    }

    func run() throws -> Int32 {
        let dir = checkpointDir + "/peer-\(user)"
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), isDir.boolValue else {
            throw CLIError.refused(option: "--checkpoint-dir", reason: "no directory \(dir): was user \(user)'s peer run with --checkpoint-dir \(checkpointDir)?")
        }
        let loaded: CheckpointStore.LoadResult
        do { loaded = try CheckpointStore(directory: dir, identity: nil).load() } catch {
            throw CLIError.refused(option: "--checkpoint-dir", reason: "\(error)")
        }
        guard let checkpoint = loaded.checkpoint else {
            throw CLIError.refused(option: "--checkpoint-dir", reason: "\(dir) holds no checkpoint yet (a peer writes one every --checkpoint-seconds and at a clean stop)")
        }
        let shard = try UserShard.read(path: usersDir + "/" + UserShard.fileName(user: Int32(user)))
        let state = checkpoint.learner
        guard shard.itemCount == state.items.itemCount else {
            throw CLIError.badValue(option: "--users-dir", value: usersDir,
                                    expected: "the split the peer learned from: its catalogue has \(shard.itemCount) items, the checkpoint \(state.items.itemCount)")
        }
        // Only the catalogue: reading every user's file for it was the whole split's worth of I/O.
        let rawIDs = LeaveOneOutSplit.readCatalog(usersDir, itemCount: shard.itemCount).raw
        let titles = try titlesPath.map { try ItemTitles.load(path: $0) }
        let seen = Set(shard.train.map(\.item))
        let picks = Self.topItems(state, seen: seen, k: top).enumerated().map { n, p -> Pick in
            let raw = rawIDs[p.item]
            return Pick(rank: n + 1, item: p.item, rawItem: raw, score: p.score, title: titles?[raw],
                        heldOut: shard.test.map { Int($0.item) == p.item } == true ? .test
                            : shard.validation.map { Int($0.item) == p.item } == true ? .validation : nil)
        }
        let age = Date().timeIntervalSince1970 - checkpoint.savedAt
        if json {
            let items: [[String: Any]] = picks.map { p in
                var o: [String: Any] = ["rank": p.rank, "item": p.rawItem, "score": Double(p.score), "held_out": p.heldOut != nil]
                if let h = p.heldOut { o["held_out_as"] = h.rawValue }
                if let t = p.title { o["title"] = t }
                return o
            }
            let obj: [String: Any] = ["user": user, "raw_user": shard.rawUser, "round": Int(state.round),
                                      "checkpoint_age_seconds": (age * 10).rounded() / 10, "rated": seen.count, "items": items]
            let data = try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print("Top \(picks.count) for user \(shard.rawUser) (peer \(user), round \(state.round), checkpoint \(Int(age)) s old; "
                  + "\(seen.count) rated items left out)")
            for p in picks {
                let mark = p.heldOut.map { "  <- held-out \($0.rawValue) item" } ?? ""
                let rank = String(p.rank).leftPadded(to: 3)
                print("\(rank). \(p.title ?? "item \(p.rawItem)")  [item \(p.rawItem), score \(String(format: "%.3f", p.score))]\(mark)")
            }
        }
        return 0
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
