import RecommenderModel
import WireFormat

/// A peer this peer knew when it saved a checkpoint (plain values: the shell converts to and from
/// GossipProtocol's `PeerID`/`PeerAddress`).
public struct KnownPeer: Sendable, Hashable {
    public var id: UInt64
    public var host: String
    public var port: UInt16
    public var incarnation: UInt64
    public init(id: UInt64, host: String, port: UInt16, incarnation: UInt64) {
        self.id = id; self.host = host; self.port = port; self.incarnation = incarnation
    }
}

/// Everything a peer needs to resume after a crash or a restart: its trainable state, exactly
/// (`LearnerState`: the item table with its push-sum weights / step counts and Adagrad accumulators, the user
/// vector, the round counter, the model clock and the training RNG, so that training resumes on the same
/// random stream), its own membership incarnation, and the peers it knew. Its data shard is not stored: the
/// peer re-reads it from its split file and rebuilds the `PeerLearner` from the same config, then calls
/// `PeerLearner.restore(from:)`.
///
/// Merge-rule state: the rules keep none outside the table (see `LearnerState`); `mergeRule` records the
/// rule's `name` for diagnostics only.
///
/// ## Binary format, version 2 (all integers little-endian; floats as IEEE-754 bit patterns)
/// ```
/// offset  size  field
///  0       4    magic "GRCK"
///  4       2    format version (2; version 1 is still read)
///  6       2    header length H (bytes before the body; 52 in version 2, 44 in version 1; a loader skips
///               unknown extra bytes)
///  8       8    savedAt: seconds since 1970 (Float64)
/// 16       4    identity length I (UTF-8 bytes, ≤ 4096)
/// 20       4    item count N (≤ 2^24)
/// 24       4    dimension D (1...4096)
/// 28       4    flags: bit 0 = Adagrad accumulators present (other bits must be 0)
/// 32       4    learner section length L (must equal the length N, D and the flags imply, below)
/// 36       4    peers section length P (≤ 64 MiB)
/// 40       4    merge-rule name length M (UTF-8, ≤ 4096)
/// 44       8    incarnation: the peer's own membership incarnation when saved (version 2 only; a version 1
///               file, whose header ends at 44, reads as incarnation 0)
///  H       I    identity
///  H+I     L    learner: round u64, clock u64, rng state u64, user values D f32, [user g2 D f32],
///               factors N·D f32, bias N f32, [factors g2 N·D f32, bias g2 N f32], trainedSteps N f32
///               ([...] only with the Adagrad flag)
///  ...     P    peers: count u32, then per peer: id u64, incarnation u64, port u16, host length u16 (≤ 1024),
///               host UTF-8
///  ...     M    merge-rule name
///  end-4   4    CRC-32 (IEEE 802.3, reflected 0xEDB88320, as zlib) of every byte before it
/// ```
/// The file is exactly H + I + L + P + M + 4 bytes. Decoding checks, in order: magic, version, header
/// length, every length against its limit (before any allocation), the file length (a short file is
/// `truncated(at:needed:)`, a long one `trailingBytes`), the checksum, then the body, every float of which
/// must be finite, and finally the identity. CRC-32 detects every single-bit flip and every burst of up to
/// 32 bits; a flip in a length field shows up as a length error even before the checksum is checked.
/// The bytes are written and read with WireFormat's cursors (`ByteWriter`, `ByteReader`), as frames are.
public struct PeerCheckpoint: Sendable, Equatable {
    /// Swarm and user this checkpoint belongs to (e.g. "swarm-1/user-42"); the loader refuses any other.
    public var identity: String
    /// Wall-clock time of the save, seconds since 1970.
    public var savedAt: Double
    /// The peer's own membership incarnation when saved (`MembershipInstance.incarnation`); a restarted
    /// peer passes it back to `MembershipInstance(incarnation:)` rather than starting again at 0.
    /// 0 when read from a version 1 file.
    public var incarnation: UInt64
    /// The learner's resumable state (`PeerLearner.state`).
    public var learner: LearnerState
    public var knownPeers: [KnownPeer]
    /// The merge rule's `name` when saved (diagnostics only).
    public var mergeRule: String

    public init(identity: String, savedAt: Double, incarnation: UInt64 = 0, learner: LearnerState,
                knownPeers: [KnownPeer] = [], mergeRule: String = "") {
        self.identity = identity; self.savedAt = savedAt; self.incarnation = incarnation; self.learner = learner
        self.knownPeers = knownPeers; self.mergeRule = mergeRule
    }

    /// The resumable state of `learner`.
    public init(learner: PeerLearner, identity: String, savedAt: Double, incarnation: UInt64 = 0,
                knownPeers: [KnownPeer] = [], mergeRule: String = "") {
        self.init(identity: identity, savedAt: savedAt, incarnation: incarnation, learner: learner.state,
                  knownPeers: knownPeers, mergeRule: mergeRule)
    }

    public static let magic: [UInt8] = Array("GRCK".utf8)
    /// The version `encoded()` writes.
    public static let formatVersion: UInt16 = 2
    /// The versions `decode` reads.
    public static let readableVersions: ClosedRange<UInt16> = 1...2
    /// Bytes of the fixed header a file of `version` has at least.
    static func headerLength(version: UInt16) -> Int { version >= 2 ? 52 : 44 }
    public static let maxItems = 1 << 24
    public static let maxDimension = 4096
    public static let maxStringBytes = 4096
    public static let maxHostBytes = 1024
    public static let maxPeersBytes = 64 << 20
    static let adagradFlag: UInt32 = 1

    /// The first NaN or infinity (field name and index), or nil when every number is finite.
    public func firstNonFinite() -> (field: String, index: Int)? {
        if !savedAt.isFinite { return ("savedAt", 0) }
        let user = learner.user, items = learner.items
        let fields: [(String, [Float])] = [("user", user.values), ("user g2", user.g2), ("factors", items.factors),
                                           ("bias", items.bias), ("factors g2", items.factorsG2),
                                           ("bias g2", items.biasG2), ("trainedSteps", items.trainedSteps)]
        for (name, xs) in fields { if let k = xs.firstIndex(where: { !$0.isFinite }) { return (name, k) } }
        return nil
    }

    /// Bytes of the learner section for a table shape.
    static func learnerLength(items n: Int, dimension d: Int, adagrad: Bool) -> Int {
        24 + 4 * (d + (adagrad ? d : 0) + n * d + n + (adagrad ? n * d + n : 0) + n)
    }

    /// The checkpoint in the binary format above (version `formatVersion`). Traps if the state violates the
    /// format's limits or is internally inconsistent (a programming error: a `PeerLearner` always satisfies them).
    public func encoded() -> [UInt8] {
        let user = learner.user, items = learner.items
        let n = items.itemCount, d = items.dimension, ada = learner.adagrad
        precondition(n <= Self.maxItems && (1...Self.maxDimension).contains(d), "checkpoint: table \(n)×\(d) over the format's limits")
        precondition(items.factors.count == n * d && items.bias.count == n && items.trainedSteps.count == n
                     && user.values.count == d && user.g2.count == (ada ? d : 0)
                     && items.factorsG2.count == (ada ? n * d : 0) && items.biasG2.count == (ada ? n : 0),
                     "checkpoint: inconsistent array lengths")
        let id = Array(identity.utf8), rule = Array(mergeRule.utf8)
        precondition(id.count <= Self.maxStringBytes && rule.count <= Self.maxStringBytes, "checkpoint: identity or rule name too long")
        var peers = ByteWriter()
        peers.writeInteger(UInt32(knownPeers.count))
        for p in knownPeers {
            let h = Array(p.host.utf8)
            precondition(h.count <= Self.maxHostBytes, "checkpoint: host name of \(h.count) bytes")
            peers.writeInteger(p.id); peers.writeInteger(p.incarnation); peers.writeInteger(p.port)
            peers.writeInteger(UInt16(h.count)); peers.writeBytes(h)
        }
        precondition(peers.bytes.count <= Self.maxPeersBytes, "checkpoint: too many known peers")
        let headerLength = Self.headerLength(version: Self.formatVersion)
        let learnerLength = Self.learnerLength(items: n, dimension: d, adagrad: ada)
        var w = ByteWriter(reservingCapacity: headerLength + id.count + learnerLength + peers.bytes.count + rule.count + 4)
        w.writeBytes(Self.magic); w.writeInteger(Self.formatVersion); w.writeInteger(UInt16(headerLength))
        w.writeInteger(savedAt.bitPattern)
        w.writeInteger(UInt32(id.count)); w.writeInteger(UInt32(n)); w.writeInteger(UInt32(d))
        w.writeInteger(ada ? Self.adagradFlag : 0)
        w.writeInteger(UInt32(learnerLength)); w.writeInteger(UInt32(peers.bytes.count)); w.writeInteger(UInt32(rule.count))
        w.writeInteger(incarnation)
        w.writeBytes(id)
        w.writeInteger(learner.round); w.writeInteger(learner.clock); w.writeInteger(learner.rngState)
        w.writeFloats(user.values); w.writeFloats(user.g2)
        w.writeFloats(items.factors); w.writeFloats(items.bias); w.writeFloats(items.factorsG2); w.writeFloats(items.biasG2)
        w.writeFloats(items.trainedSteps)
        w.writeBytes(peers.bytes)
        w.writeBytes(rule)
        w.writeInteger(CRC32.checksum(w.bytes))
        return w.bytes
    }

    /// Decodes and validates `bytes` (see the format above; versions 1 and 2). With `expectedIdentity`, a
    /// checkpoint of any other identity is rejected. Throws the first problem found; never returns a partial
    /// checkpoint.
    public static func decode(_ bytes: [UInt8], expectedIdentity: String? = nil) throws(CheckpointError.Reason) -> PeerCheckpoint {
        var r = ByteReader(bytes)
        let magic = try r.checkpointBytes(4)
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        let version: UInt16 = try r.checkpointInteger()
        guard Self.readableVersions.contains(version) else { throw .unsupportedVersion(version) }
        let minimumHeader = Self.headerLength(version: version)
        let h = Int(try r.checkpointInteger(UInt16.self))
        guard h >= minimumHeader else { throw .malformed("header length \(h) < \(minimumHeader) (format version \(version))") }
        let savedAt = Double(bitPattern: try r.checkpointInteger())
        let idLength = Int(try r.checkpointInteger(UInt32.self)), n = Int(try r.checkpointInteger(UInt32.self))
        let d = Int(try r.checkpointInteger(UInt32.self)), flags: UInt32 = try r.checkpointInteger()
        let learnerLength = Int(try r.checkpointInteger(UInt32.self)), peersLength = Int(try r.checkpointInteger(UInt32.self))
        let ruleLength = Int(try r.checkpointInteger(UInt32.self))
        let incarnation: UInt64 = version >= 2 ? try r.checkpointInteger() : 0
        guard idLength <= Self.maxStringBytes else { throw .malformed("identity length \(idLength) > \(Self.maxStringBytes)") }
        guard ruleLength <= Self.maxStringBytes else { throw .malformed("merge-rule name length \(ruleLength) > \(Self.maxStringBytes)") }
        guard n <= Self.maxItems else { throw .malformed("item count \(n) > \(Self.maxItems)") }
        guard (1...Self.maxDimension).contains(d) else { throw .malformed("dimension \(d) outside 1...\(Self.maxDimension)") }
        guard flags & ~Self.adagradFlag == 0 else { throw .malformed("unknown flags 0x\(String(flags, radix: 16))") }
        let ada = flags & Self.adagradFlag != 0
        let expectedLearner = Self.learnerLength(items: n, dimension: d, adagrad: ada)
        guard learnerLength == expectedLearner else {
            throw .malformed("learner section of \(learnerLength) bytes, \(n) items × \(d) dimensions\(ada ? " with Adagrad" : "") need \(expectedLearner)")
        }
        guard peersLength >= 4 && peersLength <= Self.maxPeersBytes else { throw .malformed("peers section length \(peersLength) outside 4...\(Self.maxPeersBytes)") }
        let total = h + idLength + learnerLength + peersLength + ruleLength + 4
        guard bytes.count >= total else { throw .truncated(at: bytes.count, needed: total) }
        guard bytes.count == total else { throw .trailingBytes(length: bytes.count, expected: total) }
        guard var trailer = try? ByteReader(bytes, range: total - 4..<total) else { throw .truncated(at: bytes.count, needed: total) }
        let stored: UInt32 = try trailer.checkpointInteger()
        // A checked slice (bytes.count == total > 4 here), not a raw-pointer slice whose bounds check is debug-only.
        let computed = bytes[0..<(total - 4)].withUnsafeBufferPointer { CRC32.checksum($0) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        guard savedAt.isFinite else { throw .nonFinite(field: "savedAt", index: 0) }

        guard r.skip(h - r.readerIndex) else { throw .truncated(at: bytes.count, needed: h) }   // a later revision's header bytes
        guard let identity = String(validating: try r.checkpointBytes(idLength), as: UTF8.self) else { throw .malformed("identity is not UTF-8") }
        let round: UInt64 = try r.checkpointInteger(), clock: UInt64 = try r.checkpointInteger()
        let rngState: UInt64 = try r.checkpointInteger()
        let user = UserVector(values: try r.finiteFloats(d, "user"), g2: try r.finiteFloats(ada ? d : 0, "user g2"))
        let factors = try r.finiteFloats(n * d, "factors"), bias = try r.finiteFloats(n, "bias")
        let factorsG2 = try r.finiteFloats(ada ? n * d : 0, "factors g2"), biasG2 = try r.finiteFloats(ada ? n : 0, "bias g2")
        let steps = try r.finiteFloats(n, "trainedSteps")
        let peersEnd = r.readerIndex + peersLength
        let count = Int(try r.checkpointInteger(UInt32.self))
        guard count <= (peersLength - 4) / 20 else { throw .malformed("\(count) known peers cannot fit in \(peersLength) bytes") }
        var peers: [KnownPeer] = []
        peers.reserveCapacity(count)
        for k in 0..<count {
            let id: UInt64 = try r.checkpointInteger(), inc: UInt64 = try r.checkpointInteger()
            let port: UInt16 = try r.checkpointInteger(), hl = Int(try r.checkpointInteger(UInt16.self))
            guard hl <= Self.maxHostBytes, r.readerIndex + hl <= peersEnd else { throw .malformed("known peer \(k): host of \(hl) bytes overruns its section") }
            guard let host = String(validating: try r.checkpointBytes(hl), as: UTF8.self) else { throw .malformed("known peer \(k): host is not UTF-8") }
            peers.append(KnownPeer(id: id, host: host, port: port, incarnation: inc))
        }
        guard r.readerIndex == peersEnd else { throw .malformed("peers section: \(peersEnd - r.readerIndex) unexplained bytes") }
        guard let rule = String(validating: try r.checkpointBytes(ruleLength), as: UTF8.self) else { throw .malformed("merge-rule name is not UTF-8") }
        if let expectedIdentity, identity != expectedIdentity { throw .identityMismatch(expected: expectedIdentity, found: identity) }
        let table = ItemTable(restoring: n, dimension: d, factors: factors, bias: bias, factorsG2: factorsG2, biasG2: biasG2, trainedSteps: steps)
        return PeerCheckpoint(identity: identity, savedAt: savedAt, incarnation: incarnation,
                              learner: LearnerState(round: round, clock: clock, rngState: rngState, user: user, items: table),
                              knownPeers: peers, mergeRule: rule)
    }
}

/// WireFormat's reader with the checkpoint's errors: a short read is `truncated(at: file length, needed:)`.
extension ByteReader {
    fileprivate mutating func checkpointInteger<T: FixedWidthInteger>(_: T.Type = T.self) throws(CheckpointError.Reason) -> T {
        guard let v = readInteger(as: T.self) else { throw .truncated(at: endIndex, needed: readerIndex + MemoryLayout<T>.size) }
        return v
    }

    fileprivate mutating func checkpointBytes(_ count: Int) throws(CheckpointError.Reason) -> [UInt8] {
        guard let b = readBytes(count: count) else { throw .truncated(at: endIndex, needed: readerIndex + count) }
        return b
    }

    /// `count` floats, each of which must be finite.
    fileprivate mutating func finiteFloats(_ count: Int, _ field: String) throws(CheckpointError.Reason) -> [Float] {
        guard let xs = readFloats(count: count) else { throw .truncated(at: endIndex, needed: readerIndex + 4 * count) }
        if let k = xs.firstIndex(where: { !$0.isFinite }) { throw .nonFinite(field: field, index: k) }
        return xs
    }
}

extension PeerLearner {
    /// `restore(from: checkpoint.learner)`, with a misfit reported as the checkpoint's `shapeMismatch`.
    public mutating func restore(from checkpoint: PeerCheckpoint) throws(CheckpointError.Reason) {
        do { try restore(from: checkpoint.learner) } catch { throw .shapeMismatch(error.description) }
    }
}

/// Why a checkpoint file was not used, naming the file.
public struct CheckpointError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Error, Sendable, Equatable, CustomStringConvertible {
        case badMagic(found: [UInt8])
        case unsupportedVersion(UInt16)
        /// The file ends at byte `at` but its lengths need `needed` bytes (a torn write).
        case truncated(at: Int, needed: Int)
        case trailingBytes(length: Int, expected: Int)
        case checksumMismatch(stored: UInt32, computed: UInt32)
        case identityMismatch(expected: String, found: String)
        /// The `index`-th value of `field` is NaN or infinite.
        case nonFinite(field: String, index: Int)
        case malformed(String)
        /// The checkpoint does not fit the learner it is restored into.
        case shapeMismatch(String)
        /// The file could not be read (message of the underlying error).
        case unreadable(String)

        public var description: String {
            switch self {
            case .badMagic(let m): return "bad magic \(m.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()) (expected \"GRCK\")"
            case .unsupportedVersion(let v):
                return "unsupported format version \(v) (this build reads \(PeerCheckpoint.readableVersions.map(String.init).joined(separator: " and ")))"
            case .truncated(let at, let needed): return "truncated at byte \(at) (\(needed) bytes needed)"
            case .trailingBytes(let l, let e): return "\(l - e) trailing bytes after the \(e) the checkpoint declares"
            case .checksumMismatch(let s, let c): return "checksum mismatch (stored \(String(s, radix: 16)), computed \(String(c, radix: 16)))"
            case .identityMismatch(let e, let f): return "identity mismatch: expected '\(e)', found '\(f)'"
            case .nonFinite(let f, let i): return "non-finite value in \(f)[\(i)]"
            case .malformed(let m): return "malformed: \(m)"
            case .shapeMismatch(let m): return "shape mismatch: \(m)"
            case .unreadable(let m): return "unreadable: \(m)"
            }
        }
    }
    public var path: String
    public var reason: Reason
    public init(path: String, reason: Reason) { self.path = path; self.reason = reason }
    public var description: String { "checkpoint \(path): \(reason)" }
}
