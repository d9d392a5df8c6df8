import Foundation
import RecommenderModel
import Testing
@testable import PeerStore

/// Crash-safe peer checkpoints: exact round trips, every corruption rejected with its reason, and the
/// store's fallback to the previous file.
@Suite struct CheckpointTests {
    static func config(_ optimizer: OptimizerKind) -> TrainingConfig {
        var c = TrainingConfig()
        c.dimension = 8; c.learningRate = 0.1; c.l2 = 0.01; c.optimizer = optimizer
        return c
    }

    static func split() throws -> LeaveOneOutSplit {
        try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 60, items: 80, groups: 4, perUser: 15, seed: 99),
                                  negatives: 20, seed: 4)
    }

    /// A learner trained a few epochs (push-sum votes) that also merged a copy from a peer ahead of it.
    static func trainedLearner(_ split: LeaveOneOutSplit, _ optimizer: OptimizerKind) -> PeerLearner {
        let rule = PushSumVoteMerge()
        var a = PeerLearner(shard: split.shards[3], config: config(optimizer), tableSeed: 5, peerSeed: 6)
        var b = PeerLearner(shard: split.shards[8], config: config(optimizer), tableSeed: 5, peerSeed: 7)
        for _ in 0..<5 { b.trainLocal(absorbingWith: rule) }
        for _ in 0..<3 { a.trainLocal(absorbingWith: rule) }
        a.merge(b.payload(), using: rule)
        return a
    }

    /// A small checkpoint (5 items × 2) with known peers, for byte-level corruption tests.
    static func smallCheckpoint() -> PeerCheckpoint {
        var rng = SplitMix64(seed: 12)
        var t = ItemTable(itemCount: 5, dimension: 2, initStd: 0.5, adagrad: true, rng: &rng)
        t.trainedSteps = [0, 1.5, 2, 0.25, 3]
        t.factorsG2 = t.factors.map { $0 * $0 }
        let u = UserVector(dimension: 2, initStd: 0.5, adagrad: true, rng: &rng)
        return PeerCheckpoint(identity: "swarm-7/user-3", savedAt: 1_700_000_000.25, incarnation: 6,
                              learner: LearnerState(round: 41, clock: 57, rngState: 0xDEAD_BEEF, user: u, items: t),
                              knownPeers: [KnownPeer(id: 9, host: "127.0.0.1", port: 7009, incarnation: 2),
                                           KnownPeer(id: 11, host: "::1", port: 7011, incarnation: 0)],
                              mergeRule: "pushsum(decay=0.9)")
    }

    static func bits(_ xs: [Float]) -> [UInt32] { xs.map(\.bitPattern) }

    /// Every trainable float, by bit pattern, so -0 vs 0 or a changed NaN payload cannot hide.
    static func state(_ l: PeerLearner) -> [[UInt32]] {
        [bits(l.items.factors), bits(l.items.bias), bits(l.items.factorsG2), bits(l.items.biasG2),
         bits(l.items.trainedSteps), bits(l.user.values), bits(l.user.g2), [UInt32(truncatingIfNeeded: l.round), UInt32(truncatingIfNeeded: l.clock)]]
    }

    func reason(_ bytes: [UInt8], identity: String? = nil) -> CheckpointError.Reason? {
        do {
            _ = try PeerCheckpoint.decode(bytes, expectedIdentity: identity)
            return nil
        } catch {
            return error
        }
    }

    @Test(arguments: [OptimizerKind.adagrad, .sgd])
    func restoredLearnerTrainsBitForBitLikeTheOriginal(optimizer: OptimizerKind) throws {
        let split = try Self.split()
        var original = Self.trainedLearner(split, optimizer)
        #expect(original.clock > original.round, "the merge advanced the clock past the local round")
        let saved = PeerCheckpoint(learner: original, identity: "s/u3", savedAt: 12.5, incarnation: 4,
                                   knownPeers: [KnownPeer(id: 1, host: "127.0.0.1", port: 7001, incarnation: 3)], mergeRule: "pushsum")
        try withTemporaryDirectory { dir in
            let store = CheckpointStore(directory: dir + "/peer-3", identity: "s/u3")
            try store.save(saved)
            let loaded = try store.load()
            #expect(loaded.source == .current && loaded.rejected.isEmpty)
            let c = try #require(loaded.checkpoint)
            #expect(c == saved)
            #expect(c.knownPeers == saved.knownPeers && c.savedAt == 12.5 && c.mergeRule == "pushsum" && c.incarnation == 4)
            // A learner of the same shard and config but another peer seed: restore must overwrite everything.
            var resumed = PeerLearner(shard: split.shards[3], config: Self.config(optimizer), tableSeed: 5, peerSeed: 999)
            #expect(Self.state(resumed) != Self.state(original))
            try resumed.restore(from: c)
            #expect(Self.state(resumed) == Self.state(original))
            #expect(resumed.rng == original.rng)
            let rule = PushSumVoteMerge()
            original.trainLocal(absorbingWith: rule)
            resumed.trainLocal(absorbingWith: rule)
            #expect(Self.state(resumed) == Self.state(original), "one more epoch diverged after restore")
        }
    }

    @Test func restoreRejectsAnotherShape() throws {
        let split = try Self.split()
        let c = PeerCheckpoint(learner: Self.trainedLearner(split, .adagrad), identity: "x", savedAt: 0)
        var sgd = PeerLearner(shard: split.shards[3], config: Self.config(.sgd), tableSeed: 5, peerSeed: 6)
        let before = Self.state(sgd)
        #expect(throws: CheckpointError.Reason.self) { try sgd.restore(from: c) }
        #expect(Self.state(sgd) == before)
    }

    @Test func crc32MatchesTheStandardCheckValue() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    @Test func smallCheckpointRoundTripsAndHasTheDocumentedLayout() throws {
        let c = Self.smallCheckpoint()
        let bytes = c.encoded()
        #expect(Array(bytes[0..<4]) == Array("GRCK".utf8))
        #expect(bytes[4] == 2 && bytes[5] == 0, "format version 2, little-endian")
        #expect(bytes[6] == 52 && bytes[7] == 0, "header length 52")
        #expect(Array(bytes[44..<52]) == [6, 0, 0, 0, 0, 0, 0, 0], "incarnation at offset 44")
        let peersLength = 4 + (20 + 9) + (20 + 3)
        let expectedLength = 52 + c.identity.utf8.count + PeerCheckpoint.learnerLength(items: 5, dimension: 2, adagrad: true)
            + peersLength + c.mergeRule.utf8.count + 4
        #expect(bytes.count == expectedLength)
        #expect(try PeerCheckpoint.decode(bytes, expectedIdentity: c.identity) == c)
    }

    @Test func truncationAtEveryByteIsRejectedAsTruncated() {
        let bytes = Self.smallCheckpoint().encoded()
        for n in 0..<bytes.count {
            let r = reason(Array(bytes[0..<n]))
            guard case .truncated(let at, let needed)? = r else {
                Issue.record("prefix of \(n) bytes: \(r.map { "\($0)" } ?? "accepted")")
                continue
            }
            #expect(at == n && needed > n, "prefix of \(n) bytes reported \(r!)")
        }
        #expect(reason(bytes + [0]) == .trailingBytes(length: bytes.count + 1, expected: bytes.count))
    }

    @Test func everySingleBitFlipIsDetected() {
        let bytes = Self.smallCheckpoint().encoded()
        var checksumCaught = 0
        for k in 0..<bytes.count {
            for bit in 0..<8 {
                var b = bytes
                b[k] ^= UInt8(1 << bit)
                guard let r = reason(b) else {
                    Issue.record("flip of bit \(bit) of byte \(k) was accepted")
                    continue
                }
                if case .checksumMismatch = r { checksumCaught += 1 }
            }
        }
        // Body and savedAt flips (most of the file) can only be caught by the checksum.
        #expect(checksumCaught > 8 * (bytes.count - 52))
    }

    @Test func lengthsAreValidatedBeforeAllocation() {
        var bytes = Self.smallCheckpoint().encoded()
        bytes[20] = 0; bytes[21] = 0; bytes[22] = 0; bytes[23] = 0x40   // item count 2^30
        guard case .malformed(let m)? = reason(bytes) else { Issue.record("huge item count accepted"); return }
        #expect(m.contains("item count"))
        bytes = Self.smallCheckpoint().encoded()
        bytes[24] = 0; bytes[25] = 0; bytes[26] = 0; bytes[27] = 0   // dimension 0
        guard case .malformed(let m2)? = reason(bytes) else { Issue.record("dimension 0 accepted"); return }
        #expect(m2.contains("dimension"))
    }

    /// Re-encodes with a valid checksum after editing a header byte, so the field check itself is what fails.
    static func withValidChecksum(_ body: [UInt8]) -> [UInt8] {
        var b = Array(body.dropLast(4))
        let c = CRC32.checksum(b)
        for k in 0..<4 { b.append(UInt8((c >> (8 * k)) & 0xFF)) }
        return b
    }

    @Test func badMagicAndUnsupportedVersionAreNamed() {
        var bytes = Self.smallCheckpoint().encoded()
        bytes[0] = UInt8(ascii: "X")
        #expect(reason(Self.withValidChecksum(bytes)) == .badMagic(found: Array("XRCK".utf8)))
        bytes = Self.smallCheckpoint().encoded()
        bytes[4] = 3
        #expect(reason(Self.withValidChecksum(bytes)) == .unsupportedVersion(3))
        bytes = Self.smallCheckpoint().encoded()
        bytes[6] = 44   // a version 2 file with a version 1 header
        guard case .malformed(let m)? = reason(Self.withValidChecksum(bytes)) else { Issue.record("short v2 header accepted"); return }
        #expect(m.contains("header length 44 < 52"))
    }

    @Test func nonFiniteValuesAreRejectedAndNeverSaved() throws {
        var c = Self.smallCheckpoint()
        c.learner.items.factors[7] = .nan
        #expect(reason(c.encoded()) == .nonFinite(field: "factors", index: 7))
        c = Self.smallCheckpoint()
        c.learner.user.g2[1] = .infinity
        #expect(reason(c.encoded()) == .nonFinite(field: "user g2", index: 1))
        try withTemporaryDirectory { dir in
            let store = CheckpointStore(directory: dir, identity: nil)
            try store.save(Self.smallCheckpoint())
            #expect(throws: CheckpointError.self) { try store.save(c) }
            #expect(try store.load().checkpoint == Self.smallCheckpoint())
        }
    }

    @Test func identityMismatchIsRejected() throws {
        let c = Self.smallCheckpoint()
        #expect(reason(c.encoded(), identity: "swarm-7/user-4") == .identityMismatch(expected: "swarm-7/user-4", found: "swarm-7/user-3"))
        try withTemporaryDirectory { dir in
            try CheckpointStore(directory: dir, identity: c.identity).save(c)
            let other = CheckpointStore(directory: dir, identity: "swarm-8/user-3")
            do throws(CheckpointError) {
                let r = try other.load()
                Issue.record("loaded \(String(describing: r.checkpoint?.identity)) under another identity")
            } catch {
                #expect(error.path == other.currentPath)
                #expect(error.reason == .identityMismatch(expected: "swarm-8/user-3", found: c.identity))
            }
        }
    }

    @Test func emptyDirectoryIsAFreshStart() throws {
        try withTemporaryDirectory { dir in
            let r = try CheckpointStore(directory: dir + "/never-created", identity: "x").load()
            #expect(r.source == .none && r.checkpoint == nil && r.rejected.isEmpty)
        }
    }

    @Test func tornNewestFileFallsBackToPreviousAndSaysWhy() throws {
        var first = Self.smallCheckpoint()
        first.learner.round = 1
        var second = Self.smallCheckpoint()
        second.learner.round = 2
        try withTemporaryDirectory { dir in
            let store = CheckpointStore(directory: dir, identity: first.identity)
            try store.save(first)
            try store.save(second)
            #expect(try store.load().checkpoint == second)
            // Tear the newest file in half.
            let full = try Data(contentsOf: URL(fileURLWithPath: store.currentPath))
            try full.prefix(full.count / 2).write(to: URL(fileURLWithPath: store.currentPath))
            let r = try store.load()
            #expect(r.source == .previous && r.checkpoint == first)
            #expect(r.rejected == [CheckpointError(path: store.currentPath, reason: .truncated(at: full.count / 2, needed: full.count))])
            // Saving again must not demote the torn file over the good previous one.
            var third = first
            third.learner.round = 3
            try store.save(third)
            let r3 = try store.load()
            #expect(r3.checkpoint == third && r3.rejected.isEmpty)
            #expect(try store.read(store.previousPath) == first)
            // Both corrupted: load throws, naming the newest file.
            for path in [store.currentPath, store.previousPath] {
                var b = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
                b[b.count / 2] ^= 0x10
                try Data(b).write(to: URL(fileURLWithPath: path))
            }
            do throws(CheckpointError) {
                let r = try store.load()
                Issue.record("loaded a corrupted checkpoint: \(String(describing: r.checkpoint?.learner.round))")
            } catch {
                #expect(error.path == store.currentPath)
                guard case .checksumMismatch = error.reason else { Issue.record("\(error)"); return }
            }
        }
    }

    @Test func saveInterruptedBeforeRenameLeavesTheOldCheckpointLoadable() throws {
        var old = Self.smallCheckpoint()
        old.learner.round = 10
        try withTemporaryDirectory { dir in
            let store = CheckpointStore(directory: dir, identity: old.identity)
            try store.save(old)
            // A crash after writing part of the next checkpoint.tmp, before the rename.
            let partial = Array(Self.smallCheckpoint().encoded().prefix(100)) + [UInt8](repeating: 0xAB, count: 50)
            try Data(partial).write(to: URL(fileURLWithPath: store.temporaryPath))
            let r = try store.load()
            #expect(r.source == .current && r.checkpoint == old && r.rejected.isEmpty)
            // The next save replaces the leftover temporary file.
            var new = old
            new.learner.round = 11
            try store.save(new)
            #expect(try store.load().checkpoint == new)
            #expect(try store.read(store.previousPath) == old)
            #expect(!FileManager.default.fileExists(atPath: store.temporaryPath))
        }
    }

    /// A version 1 file, as the version 1 encoder of RecommenderModel wrote it before the format moved to
    /// WireFormat's cursors (2 items × 1, SGD, one known peer).
    static let version1Fixture = hexBytes("""
        4752434b01002c00000000000000f83f04000000020000000100000000000000340000002000000003000000732f7531\
        0300000000000000040000000000000008070605040302010000403f0000003f000080be0000003e000000000000803f\
        0000004001000000070000000000000002000000000000005f1b080031302e302e302e37617667700e034c
        """)

    /// What `version1Fixture` holds (its incarnation: 0, as version 1 has none).
    static func fixtureCheckpoint(incarnation: UInt64) -> PeerCheckpoint {
        let items = ItemTable(restoring: 2, dimension: 1, factors: [0.5, -0.25], bias: [0.125, 0], factorsG2: [], biasG2: [],
                              trainedSteps: [1, 2])
        return PeerCheckpoint(identity: "s/u1", savedAt: 1.5, incarnation: incarnation,
                              learner: LearnerState(round: 3, clock: 4, rngState: 0x0102_0304_0506_0708,
                                                    user: UserVector(values: [0.75], g2: []), items: items),
                              knownPeers: [KnownPeer(id: 7, host: "10.0.0.7", port: 7007, incarnation: 2)], mergeRule: "avg")
    }

    static func hexBytes(_ hex: String) -> [UInt8] {
        let digits = Array(hex.utf8)
        return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
    }

    @Test func version1FilesStillReadWithIncarnationZero() throws {
        #expect(try PeerCheckpoint.decode(Self.version1Fixture, expectedIdentity: "s/u1") == Self.fixtureCheckpoint(incarnation: 0))
        try withTemporaryDirectory { dir in
            let store = CheckpointStore(directory: dir, identity: "s/u1")
            try Data(Self.version1Fixture).write(to: URL(fileURLWithPath: store.currentPath))
            #expect(try store.load().checkpoint?.incarnation == 0)
        }
    }

    /// Version 2 is version 1 with the header grown by the incarnation: same bytes elsewhere, new checksum.
    @Test func version2IsVersion1PlusTheIncarnationInTheHeader() throws {
        var expected = Array(Self.version1Fixture.dropLast(4))
        expected[4] = 2
        expected[6] = 52
        expected.insert(contentsOf: [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11], at: 44)
        let c = Self.fixtureCheckpoint(incarnation: 0x1122_3344_5566_7788)
        #expect(c.encoded() == Self.withValidChecksum(expected + [0, 0, 0, 0]))
        #expect(try PeerCheckpoint.decode(c.encoded()) == c)
    }
}
