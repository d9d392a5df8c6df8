import Foundation
import SocketTransport
import SwarmCrypto

/// The peer's last nonce epoch, persisted so that a restarted peer never seals under an epoch it used before
/// (`NonceSequence`): `nonce-epoch` in the checkpoint directory, one decimal u32 and a newline.
///
/// `next(directory:now:)` reads the last epoch, takes `NonceSequence.epoch(after:now:)` (above it, and at least the
/// seconds since 2025-01-01), and makes it durable before returning it: a temporary file, fsync, rename over the
/// old file, fsync of the directory. Without a directory (no checkpoints) the epoch is the wall-clock floor alone:
/// safe as long as the clock does not go back and the peer does not restart twice within one second; two starts in
/// the same second, or a clock stepped back, would reuse nonces under the same key.
public enum NonceEpochFile {
    public static let fileName = "nonce-epoch"

    /// Why the epoch could not be chosen.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var what: String
        public var description: String { "nonce epoch file \(path): \(what)" }
    }

    /// The epoch for this start (persisted in `directory` first, when given).
    public static func next(directory: String?, now: Int64 = Int64(Date().timeIntervalSince1970)) throws(Failure) -> UInt32 {
        guard let directory else {
            guard let epoch = NonceSequence.epoch(after: nil, now: now) else {
                throw Failure(path: "(none)", what: "no epoch left")
            }
            return epoch
        }
        let path = directory + "/" + fileName
        var persisted: UInt32? = nil
        if FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path),
                  let text = String(data: data, encoding: .utf8),
                  let value = UInt32(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
                throw Failure(path: path, what: "unreadable or not a decimal u32 (refusing to guess: delete it only if the swarm key changes)")
            }
            persisted = value
        }
        guard let epoch = NonceSequence.epoch(after: persisted, now: now) else {
            throw Failure(path: path, what: "no 32-bit epoch left above \(persisted ?? 0): the swarm needs a new key")
        }
        do {
            let fm = FileManager.default
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tmp = path + ".tmp"
            if fm.fileExists(atPath: tmp) { try fm.removeItem(atPath: tmp) }
            guard fm.createFile(atPath: tmp, contents: nil) else { throw Failure(path: tmp, what: "cannot create") }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: tmp))
            do {
                try handle.write(contentsOf: Data("\(epoch)\n".utf8))
                try handle.synchronize()
                try handle.close()
            } catch {
                try? handle.close()
                throw error
            }
            try DurableFiles.rename(tmp, to: path)
            try DurableFiles.syncDirectory(directory)
        } catch let f as Failure {
            throw f
        } catch {
            throw Failure(path: path, what: "\(error)")
        }
        return epoch
    }
}
