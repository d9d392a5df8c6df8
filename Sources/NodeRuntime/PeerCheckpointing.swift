import Foundation
import GossipProtocol
import PeerStore
import RecommenderModel

/// Resuming a peer from its checkpoint directory (the shell's side of `CheckpointStore`).
public enum PeerCheckpointing {
    /// What `restore` found.
    public struct Restored: Sendable {
        /// Where the model came from: `.none` (fresh start), `.current`, or `.previous` (the newest was bad).
        public var source: CheckpointStore.LoadResult.Source
        /// Files that were rejected, with the reason (torn, corrupted, another peer's): reported, never loaded.
        public var rejected: [CheckpointError]
        /// Peers known at the last save: enough to rejoin without a seed address.
        public var seeds: [PeerAddress]
        /// The restored learner's round and model clock (0 on a fresh start).
        public var round: UInt64
        public var clock: UInt64
        /// The peer's own membership incarnation at the last save (0 on a fresh start, or from a version 1
        /// checkpoint): what to pass to `MembershipInstance(incarnation:)`.
        public var incarnation: UInt64
        /// A fresh start that did not look at the directory (a newcomer: `NodeHost.launch(_:fresh:)`).
        public static let notLoaded = Restored(source: .none, rejected: [], seeds: [], round: 0, clock: 0, incarnation: 0)

        /// Human-readable, one line.
        public var summary: String {
            var s: String
            switch source {
            case .none: s = rejected.isEmpty ? "no checkpoint: fresh start" : "every checkpoint rejected: fresh start"
            case .current: s = "resumed from checkpoint.bin at round \(round) (clock \(clock)), \(seeds.count) known peers"
            case .previous: s = "resumed from checkpoint.prev at round \(round) (clock \(clock)), \(seeds.count) known peers"
            }
            for r in rejected { s += "; REJECTED \(r)" }
            return s
        }
    }

    /// Loads the newest valid checkpoint of `settings.directory` into `learner` (built from the peer's data
    /// and config as for a fresh start). Never loads a bad file: a torn or corrupted newest checkpoint falls
    /// back to the previous one, and when every file is bad (or does not fit the learner) the peer starts
    /// fresh with the rejections reported, rather than not starting at all.
    public static func restore(_ learner: inout PeerLearner, settings: CheckpointSettings) -> Restored {
        try? FileManager.default.createDirectory(atPath: settings.directory, withIntermediateDirectories: true)
        let store = CheckpointStore(directory: settings.directory, identity: settings.identity)
        var result = Restored(source: .none, rejected: [], seeds: [], round: 0, clock: 0, incarnation: 0)
        let loaded: CheckpointStore.LoadResult
        do { loaded = try store.load() } catch {
            result.rejected = [error]
            return result
        }
        result.rejected = loaded.rejected
        guard let checkpoint = loaded.checkpoint else { return result }
        do { try learner.restore(from: checkpoint) } catch {
            result.rejected.append(CheckpointError(path: loaded.source == .previous ? store.previousPath : store.currentPath, reason: error))
            return result
        }
        result.source = loaded.source
        result.round = checkpoint.learner.round
        result.clock = checkpoint.learner.clock
        result.incarnation = checkpoint.incarnation
        result.seeds = checkpoint.knownPeers.compactMap { PeerAddress(host: $0.host, port: $0.port) }
        return result
    }

    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s])) ?? Data("[\"?\"]".utf8)
        return String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }
}
