import Foundation
import SocketTransport   // DurableFiles: fsync of the checkpoint directory, through the one syscall funnel

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
        do { try DurableFiles.syncDirectory(directory) } catch {
            throw CheckpointError(path: directory, reason: .unreadable("fsync of the directory: \(error)"))
        }
    }
}
