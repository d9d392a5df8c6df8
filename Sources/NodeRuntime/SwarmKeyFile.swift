import Foundation
import SocketTransport
import SwarmCrypto

/// Reading and writing a swarm key file on disk (its format is `SwarmCrypto.KeyFile`).
///
/// `load` refuses a file that group or others may read or write (mode & 0o077 != 0), as ssh refuses a private key,
/// naming the file and its mode. `create` writes a new file with mode 0600 and never overwrites one.
public enum SwarmKeyFile {
    /// Why a key file was refused.
    public struct Failure: Error, CustomStringConvertible {
        public var path: String
        public var what: String
        public var description: String { "swarm key file \(path): \(what)" }
    }

    /// The keyring in `path` (first key primary), after checking the file's permissions.
    public static func load(_ path: String) throws(Failure) -> Keyring {
        let attributes: [FileAttributeKey: Any]
        do { attributes = try FileManager.default.attributesOfItem(atPath: path) } catch {
            throw Failure(path: path, what: "cannot read it (no such file, or no permission)")
        }
        let mode = (attributes[.posixPermissions] as? NSNumber)?.uint16Value ?? 0o777
        guard mode & 0o077 == 0 else {
            throw Failure(path: path, what: "permissions 0\(String(mode, radix: 8)) are too open: it is readable or writable "
                          + "by group or others; a swarm key must be private (chmod 600 \(path))")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Failure(path: path, what: "cannot read it")
        }
        do { return try KeyFile.parse([UInt8](data)) } catch {
            throw Failure(path: path, what: "not a key file: \(error)")
        }
    }

    /// Writes `keyring` to a new file `path` with mode 0600; refuses if `path` exists.
    public static func create(_ path: String, keyring: Keyring) throws(Failure) {
        do {
            try DurableFiles.createExclusive(path, mode: 0o600, contents: KeyFile.text(for: keyring))
        } catch {
            if DurableFiles.isAlreadyExists(error) { throw Failure(path: path, what: "already exists; refusing to overwrite it") }
            throw Failure(path: path, what: "\(error)")
        }
    }
}
