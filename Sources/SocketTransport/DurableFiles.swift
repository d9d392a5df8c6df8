import Glibc

/// The file-system calls the project makes that Foundation does not offer: making a directory's entries durable
/// (the renames a crash-safe checkpoint relies on), and creating a secret file exclusively with its mode set from
/// the start. Through the syscall funnel like every other libc call.
public enum DurableFiles {
    /// fsync(2) of directory `path`, so that renames and new entries in it survive a crash.
    public static func syncDirectory(_ path: String) throws(TransportError) {
        let fd = try syscallValue("open") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = try? syscall("close", kind: .close) { Glibc.close(fd) } }
        _ = try syscallValue("fsync") { fsync(fd) }
    }

    /// Creates `path` with `mode` (e.g. 0o600) only if nothing exists there (open(2) with O_CREAT | O_EXCL: no race
    /// with another creator, and no instant at which the file has a wider mode), writes `contents`, fsyncs, closes.
    /// Throws `failed(call: "open", errno: EEXIST)` when the path exists. The process umask can only narrow `mode`.
    public static func createExclusive(_ path: String, mode: UInt32, contents: [UInt8]) throws(TransportError) {
        let fd = try syscallValue("open") { open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode_t(mode)) }
        defer { _ = try? syscall("close", kind: .close) { Glibc.close(fd) } }
        var offset = 0
        while offset < contents.count {
            let n = try syscallValue("write") {
                contents.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            }
            offset += n
        }
        _ = try syscallValue("fsync") { fsync(fd) }
    }

    /// rename(2): atomically replaces `to` (if it exists) with `from`.
    public static func rename(_ from: String, to: String) throws(TransportError) {
        _ = try syscallValue("rename") { Glibc.rename(from, to) }
    }

    /// Whether `error` says the path already existed (EEXIST).
    public static func isAlreadyExists(_ error: TransportError) -> Bool { error.errno?.rawValue == EEXIST }
}
