import Foundation
#if canImport(Glibc)
import Glibc   // fsync of the checkpoint directory only
#endif

/// A peer this peer knew when it saved a checkpoint (plain values: this target does not depend on
/// GossipProtocol; the shell converts to and from its `PeerID`/`PeerAddress`).
public struct KnownPeer: Sendable, Hashable {
    public var id: UInt64
    public var host: String
    public var port: UInt16
    public var incarnation: UInt64
    public init(id: UInt64, host: String, port: UInt16, incarnation: UInt64) {
        self.id = id; self.host = host; self.port = port; self.incarnation = incarnation
    }
}

/// Everything a peer needs to resume after a crash or a restart: its trainable state, exactly (the item
/// table with its push-sum weights / step counts and Adagrad accumulators, the user vector, the round
/// counter, the model clock and the training RNG, so that training resumes on the same random stream), and
/// the peers it knew. Its data shard is not stored: the peer re-reads it from its split file and rebuilds
/// the `PeerLearner` from the same config, then calls `PeerLearner.restore(from:)`.
///
/// Merge-rule state: the rules in this target keep none outside the table (`PushSumVoteMerge` stores its
/// push-sum weights in `ItemTable.trainedSteps`, which is saved); `mergeRule` records the rule's `name`
/// for diagnostics only.
///
/// ## Binary format, version 1 (all integers little-endian; floats as IEEE-754 bit patterns)
/// ```
/// offset  size  field
///  0       4    magic "GRCK"
///  4       2    format version (1)
///  6       2    header length H (bytes before the body; 44 in version 1; a loader skips unknown extra bytes)
///  8       8    savedAt: seconds since 1970 (Float64)
/// 16       4    identity length I (UTF-8 bytes, ≤ 4096)
/// 20       4    item count N (≤ 2^24)
/// 24       4    dimension D (1...4096)
/// 28       4    flags: bit 0 = Adagrad accumulators present (other bits must be 0)
/// 32       4    learner section length L (must equal the length N, D and the flags imply, below)
/// 36       4    peers section length P (≤ 64 MiB)
/// 40       4    merge-rule name length M (UTF-8, ≤ 4096)
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
public struct PeerCheckpoint: Sendable, Equatable {
    /// Swarm and user this checkpoint belongs to (e.g. "swarm-1/user-42"); the loader refuses any other.
    public var identity: String
    /// Wall-clock time of the save, seconds since 1970.
    public var savedAt: Double
    /// `PeerLearner.round`: local epochs done.
    public var round: UInt64
    /// `PeerLearner.clock`: the model clock.
    public var clock: UInt64
    /// `PeerLearner.rng.state`: where the peer's private training stream is.
    public var rngState: UInt64
    public var user: UserVector
    public var items: ItemTable
    public var knownPeers: [KnownPeer]
    /// The merge rule's `name` when saved (diagnostics only).
    public var mergeRule: String

    public init(identity: String, savedAt: Double, round: UInt64, clock: UInt64, rngState: UInt64,
                user: UserVector, items: ItemTable, knownPeers: [KnownPeer] = [], mergeRule: String = "") {
        self.identity = identity; self.savedAt = savedAt; self.round = round; self.clock = clock
        self.rngState = rngState; self.user = user; self.items = items; self.knownPeers = knownPeers
        self.mergeRule = mergeRule
    }

    /// The resumable state of `learner`.
    public init(learner: PeerLearner, identity: String, savedAt: Double, knownPeers: [KnownPeer] = [], mergeRule: String = "") {
        self.init(identity: identity, savedAt: savedAt, round: learner.round, clock: learner.clock,
                  rngState: learner.rng.state, user: learner.user, items: learner.items, knownPeers: knownPeers,
                  mergeRule: mergeRule)
    }

    public static let magic: [UInt8] = Array("GRCK".utf8)
    public static let formatVersion: UInt16 = 1
    static let headerLength = 44
    public static let maxItems = 1 << 24
    public static let maxDimension = 4096
    public static let maxStringBytes = 4096
    public static let maxHostBytes = 1024
    public static let maxPeersBytes = 64 << 20
    static let adagradFlag: UInt32 = 1

    var adagrad: Bool { !items.factorsG2.isEmpty }

    /// The first NaN or infinity (field name and index), or nil when every number is finite.
    public func firstNonFinite() -> (field: String, index: Int)? {
        if !savedAt.isFinite { return ("savedAt", 0) }
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

    /// The checkpoint in the binary format above. Traps if the state violates the format's limits or is
    /// internally inconsistent (a programming error: a `PeerLearner` always satisfies them).
    public func encoded() -> [UInt8] {
        let n = items.itemCount, d = items.dimension, ada = adagrad
        precondition(n <= Self.maxItems && (1...Self.maxDimension).contains(d), "checkpoint: table \(n)×\(d) over the format's limits")
        precondition(items.factors.count == n * d && items.bias.count == n && items.trainedSteps.count == n
                     && user.values.count == d && user.g2.count == (ada ? d : 0)
                     && items.factorsG2.count == (ada ? n * d : 0) && items.biasG2.count == (ada ? n : 0),
                     "checkpoint: inconsistent array lengths")
        let id = Array(identity.utf8), rule = Array(mergeRule.utf8)
        precondition(id.count <= Self.maxStringBytes && rule.count <= Self.maxStringBytes, "checkpoint: identity or rule name too long")
        var peers = ByteSink()
        peers.u32(UInt32(knownPeers.count))
        for p in knownPeers {
            let h = Array(p.host.utf8)
            precondition(h.count <= Self.maxHostBytes, "checkpoint: host name of \(h.count) bytes")
            peers.u64(p.id); peers.u64(p.incarnation); peers.u16(p.port); peers.u16(UInt16(h.count)); peers.bytes(h)
        }
        precondition(peers.out.count <= Self.maxPeersBytes, "checkpoint: too many known peers")
        let learnerLength = Self.learnerLength(items: n, dimension: d, adagrad: ada)
        var w = ByteSink()
        w.out.reserveCapacity(Self.headerLength + id.count + learnerLength + peers.out.count + rule.count + 4)
        w.bytes(Self.magic); w.u16(Self.formatVersion); w.u16(UInt16(Self.headerLength))
        w.u64(savedAt.bitPattern)
        w.u32(UInt32(id.count)); w.u32(UInt32(n)); w.u32(UInt32(d)); w.u32(ada ? Self.adagradFlag : 0)
        w.u32(UInt32(learnerLength)); w.u32(UInt32(peers.out.count)); w.u32(UInt32(rule.count))
        w.bytes(id)
        w.u64(round); w.u64(clock); w.u64(rngState)
        w.floats(user.values); w.floats(user.g2)
        w.floats(items.factors); w.floats(items.bias); w.floats(items.factorsG2); w.floats(items.biasG2)
        w.floats(items.trainedSteps)
        w.bytes(peers.out)
        w.bytes(rule)
        w.u32(CRC32.checksum(w.out))
        return w.out
    }

    /// Decodes and validates `bytes` (see the format above). With `expectedIdentity`, a checkpoint of any
    /// other identity is rejected. Throws the first problem found; never returns a partial checkpoint.
    public static func decode(_ bytes: [UInt8], expectedIdentity: String? = nil) throws(CheckpointError.Reason) -> PeerCheckpoint {
        var r = ByteSource(bytes)
        let magic = try r.bytes(4)
        guard magic == Self.magic else { throw .badMagic(found: magic) }
        let version = try r.u16()
        guard version == Self.formatVersion else { throw .unsupportedVersion(version) }
        let h = Int(try r.u16())
        guard h >= Self.headerLength else { throw .malformed("header length \(h) < \(Self.headerLength)") }
        let savedAt = Double(bitPattern: try r.u64())
        let idLength = Int(try r.u32()), n = Int(try r.u32()), d = Int(try r.u32()), flags = try r.u32()
        let learnerLength = Int(try r.u32()), peersLength = Int(try r.u32()), ruleLength = Int(try r.u32())
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
        let stored = UInt32(bytes[total - 4]) | UInt32(bytes[total - 3]) << 8 | UInt32(bytes[total - 2]) << 16 | UInt32(bytes[total - 1]) << 24
        // A checked slice (bytes.count == total > 4 here), not a raw-pointer slice whose bounds check is debug-only.
        let computed = bytes[0..<(total - 4)].withUnsafeBufferPointer { CRC32.checksum($0) }
        guard stored == computed else { throw .checksumMismatch(stored: stored, computed: computed) }
        guard savedAt.isFinite else { throw .nonFinite(field: "savedAt", index: 0) }

        r.offset = h
        guard let identity = String(validating: try r.bytes(idLength), as: UTF8.self) else { throw .malformed("identity is not UTF-8") }
        let round = try r.u64(), clock = try r.u64(), rngState = try r.u64()
        let user = UserVector(values: try r.finiteFloats(d, "user"), g2: try r.finiteFloats(ada ? d : 0, "user g2"))
        let factors = try r.finiteFloats(n * d, "factors"), bias = try r.finiteFloats(n, "bias")
        let factorsG2 = try r.finiteFloats(ada ? n * d : 0, "factors g2"), biasG2 = try r.finiteFloats(ada ? n : 0, "bias g2")
        let steps = try r.finiteFloats(n, "trainedSteps")
        let peersEnd = r.offset + peersLength
        let count = Int(try r.u32())
        guard count <= (peersLength - 4) / 20 else { throw .malformed("\(count) known peers cannot fit in \(peersLength) bytes") }
        var peers: [KnownPeer] = []
        peers.reserveCapacity(count)
        for k in 0..<count {
            let id = try r.u64(), inc = try r.u64(), port = try r.u16(), hl = Int(try r.u16())
            guard hl <= Self.maxHostBytes, r.offset + hl <= peersEnd else { throw .malformed("known peer \(k): host of \(hl) bytes overruns its section") }
            guard let host = String(validating: try r.bytes(hl), as: UTF8.self) else { throw .malformed("known peer \(k): host is not UTF-8") }
            peers.append(KnownPeer(id: id, host: host, port: port, incarnation: inc))
        }
        guard r.offset == peersEnd else { throw .malformed("peers section: \(peersEnd - r.offset) unexplained bytes") }
        guard let rule = String(validating: try r.bytes(ruleLength), as: UTF8.self) else { throw .malformed("merge-rule name is not UTF-8") }
        if let expectedIdentity, identity != expectedIdentity { throw .identityMismatch(expected: expectedIdentity, found: identity) }
        let table = ItemTable(restoring: n, dimension: d, factors: factors, bias: bias, factorsG2: factorsG2, biasG2: biasG2, trainedSteps: steps)
        return PeerCheckpoint(identity: identity, savedAt: savedAt, round: round, clock: clock, rngState: rngState,
                              user: user, items: table, knownPeers: peers, mergeRule: rule)
    }
}

extension ItemTable {
    init(restoring itemCount: Int, dimension: Int, factors: [Float], bias: [Float], factorsG2: [Float], biasG2: [Float], trainedSteps: [Float]) {
        self.itemCount = itemCount; self.dimension = dimension; self.factors = factors; self.bias = bias
        self.factorsG2 = factorsG2; self.biasG2 = biasG2; self.trainedSteps = trainedSteps
    }
}

extension UserVector {
    init(values: [Float], g2: [Float]) { self.values = values; self.g2 = g2 }
}

extension PeerLearner {
    /// Replaces this learner's trainable state by the checkpoint's (table, user vector, round, clock, RNG),
    /// after checking that it has this learner's shape: same catalogue, same dimension, same optimizer.
    /// Rebuild the learner from the same shard and config first; afterwards it trains exactly as the saved
    /// one would have.
    public mutating func restore(from c: PeerCheckpoint) throws(CheckpointError.Reason) {
        let ada = config.optimizer == .adagrad
        guard c.items.itemCount == items.itemCount, c.items.dimension == items.dimension, c.adagrad == ada,
              c.user.values.count == user.values.count else {
            throw .shapeMismatch("checkpoint has \(c.items.itemCount) items × \(c.items.dimension)\(c.adagrad ? " with Adagrad" : ""), "
                                 + "this peer \(items.itemCount) × \(items.dimension)\(ada ? " with Adagrad" : "")")
        }
        items = c.items
        user = c.user
        round = c.round
        clock = c.clock
        rng = SplitMix64(seed: c.rngState)
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
            case .badMagic(let m): return "bad magic \(m.map { String(format: "%02x", $0) }.joined()) (expected \"GRCK\")"
            case .unsupportedVersion(let v): return "unsupported format version \(v) (this build reads \(PeerCheckpoint.formatVersion))"
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

/// Crash-safe checkpoints of one peer in one directory: `checkpoint.bin` (newest), `checkpoint.prev` (the
/// one before) and, only while a save is in progress, `checkpoint.tmp`.
///
/// `save` writes the tmp file and fsyncs it, then demotes the current `checkpoint.bin` to `checkpoint.prev`
/// (only if it is itself valid, so `prev` is always a good file), renames tmp to `checkpoint.bin` and
/// fsyncs the directory. At every instant a crash leaves a valid checkpoint in `bin` or `prev` (the classic
/// write-fsync-rename sequence; Pillai et al., "All file systems are not created equal", OSDI 2014, on why
/// both fsyncs are needed). `load` takes `bin` if it is valid, else `prev`, and reports every rejected
/// file; a leftover tmp file is never read.
public struct CheckpointStore: Sendable {
    public let directory: String
    /// The identity every loaded checkpoint must carry (nil: any).
    public let identity: String?
    public var currentPath: String { directory + "/checkpoint.bin" }
    public var previousPath: String { directory + "/checkpoint.prev" }
    public var temporaryPath: String { directory + "/checkpoint.tmp" }
    /// Files larger than this are rejected before being read.
    public static let maxFileBytes = 1 << 31

    public init(directory: String, identity: String?) {
        self.directory = directory; self.identity = identity
    }

    public struct LoadResult: Sendable {
        public enum Source: Sendable, Equatable { case none, current, previous }
        /// The checkpoint to resume from; nil for a fresh start (`source == .none`).
        public var checkpoint: PeerCheckpoint?
        public var source: Source
        /// Files that exist but were not used, and why (a torn or corrupted newest file lands here).
        public var rejected: [CheckpointError]
    }

    /// The newest valid checkpoint (see the type's docs). Returns `.none` when no checkpoint file exists;
    /// throws the rejection of the newest file when files exist but none is valid.
    public func load() throws(CheckpointError) -> LoadResult {
        var rejected: [CheckpointError] = []
        for (path, source) in [(currentPath, LoadResult.Source.current), (previousPath, .previous)] {
            guard FileManager.default.fileExists(atPath: path) else { continue }
            do {
                let c = try read(path)
                return LoadResult(checkpoint: c, source: source, rejected: rejected)
            } catch {
                rejected.append(error)
            }
        }
        if let first = rejected.first { throw first }
        return LoadResult(checkpoint: nil, source: .none, rejected: [])
    }

    /// Reads and validates one file.
    public func read(_ path: String) throws(CheckpointError) -> PeerCheckpoint {
        let bytes: [UInt8]
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= Self.maxFileBytes else {
                throw CheckpointError(path: path, reason: .malformed("file of \(size) bytes > \(Self.maxFileBytes)"))
            }
            bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        } catch let e as CheckpointError {
            throw e
        } catch {
            throw CheckpointError(path: path, reason: .unreadable("\(error)"))
        }
        do {
            return try PeerCheckpoint.decode(bytes, expectedIdentity: identity)
        } catch {
            throw CheckpointError(path: path, reason: error)
        }
    }

    /// Saves `checkpoint` crash-safely (see the type's docs). Creates the directory if needed.
    /// Refuses (throws `nonFinite`, naming the temporary path) a checkpoint holding a NaN or an infinity,
    /// which `load` would reject anyway: the previous checkpoints stay as they are.
    public func save(_ checkpoint: PeerCheckpoint) throws {
        if let (field, index) = checkpoint.firstNonFinite() {
            throw CheckpointError(path: temporaryPath, reason: .nonFinite(field: field, index: index))
        }
        let fm = FileManager.default
        try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let tmp = temporaryPath
        if fm.fileExists(atPath: tmp) { try fm.removeItem(atPath: tmp) }
        guard fm.createFile(atPath: tmp, contents: nil) else {
            throw CheckpointError(path: tmp, reason: .unreadable("cannot create the file"))
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
        do {
            try handle.write(contentsOf: checkpoint.encoded())
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            throw error
        }
        if fm.fileExists(atPath: currentPath) {
            if (try? read(currentPath)) != nil {
                if fm.fileExists(atPath: previousPath) { try fm.removeItem(atPath: previousPath) }
                try fm.moveItem(atPath: currentPath, toPath: previousPath)
            } else {
                try fm.removeItem(atPath: currentPath)   // never demote a bad file over a good `prev`
            }
        }
        try fm.moveItem(atPath: tmp, toPath: currentPath)
        try syncDirectory()
    }

    /// fsync of the directory, so that the renames are durable.
    func syncDirectory() throws {
        #if canImport(Glibc)
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw CheckpointError(path: directory, reason: .unreadable("open for fsync: errno \(errno)")) }
        defer { _ = close(fd) }
        guard fsync(fd) == 0 else { throw CheckpointError(path: directory, reason: .unreadable("fsync: errno \(errno)")) }
        #endif
    }
}

/// CRC-32 as in zlib, Ethernet and PNG (reflected polynomial 0xEDB88320, initial value and final xor
/// 0xFFFFFFFF); check value 0xCBF43926 for "123456789".
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBufferPointer { checksum($0) }
    }

    public static func checksum(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}

/// Little-endian writer for the checkpoint format.
struct ByteSink {
    var out: [UInt8] = []
    mutating func u16(_ v: UInt16) { out.append(UInt8(v & 0xFF)); out.append(UInt8(v >> 8)) }
    mutating func u32(_ v: UInt32) { for k in 0..<4 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    mutating func u64(_ v: UInt64) { for k in 0..<8 { out.append(UInt8((v >> (8 * k)) & 0xFF)) } }
    mutating func bytes(_ b: [UInt8]) { out.append(contentsOf: b) }
    mutating func floats(_ xs: [Float]) { out.reserveCapacity(out.count + 4 * xs.count); for x in xs { u32(x.bitPattern) } }
}

/// Little-endian cursor over the checkpoint bytes; every read is bounds-checked.
struct ByteSource {
    let data: [UInt8]
    var offset = 0
    init(_ data: [UInt8]) { self.data = data }

    mutating func bytes(_ n: Int) throws(CheckpointError.Reason) -> [UInt8] {
        guard n >= 0, data.count - offset >= n else { throw .truncated(at: data.count, needed: offset + n) }
        defer { offset += n }
        return Array(data[offset..<offset + n])
    }
    mutating func u16() throws(CheckpointError.Reason) -> UInt16 {
        let b = try bytes(2)
        return UInt16(b[0]) | UInt16(b[1]) << 8
    }
    /// A little-endian unsigned integer of `T`'s width.
    mutating func littleEndian<T: FixedWidthInteger & UnsignedInteger>(_: T.Type) throws(CheckpointError.Reason) -> T {
        let n = MemoryLayout<T>.size
        guard data.count - offset >= n else { throw .truncated(at: data.count, needed: offset + n) }
        var v: T = 0
        for k in 0..<n { v |= T(data[offset + k]) << (8 * k) }
        offset += n
        return v
    }
    mutating func u32() throws(CheckpointError.Reason) -> UInt32 { try littleEndian(UInt32.self) }
    mutating func u64() throws(CheckpointError.Reason) -> UInt64 { try littleEndian(UInt64.self) }
    /// `count` floats, each of which must be finite.
    mutating func finiteFloats(_ count: Int, _ field: String) throws(CheckpointError.Reason) -> [Float] {
        guard count >= 0, (data.count - offset) / 4 >= count else { throw .truncated(at: data.count, needed: offset + 4 * count) }
        var xs = [Float](repeating: 0, count: count)
        for k in 0..<count {
            let x = Float(bitPattern: try u32())
            guard x.isFinite else { throw .nonFinite(field: field, index: k) }
            xs[k] = x
        }
        return xs
    }
}
