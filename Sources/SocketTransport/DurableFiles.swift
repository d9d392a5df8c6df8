import Glibc

/// The one file-system call the project makes that Foundation does not offer: making a directory's entries durable
/// (the renames a crash-safe checkpoint relies on). Through the syscall funnel like every other libc call.
public enum DurableFiles {
    /// fsync(2) of directory `path`, so that renames and new entries in it survive a crash.
    public static func syncDirectory(_ path: String) throws(TransportError) {
        let fd = try syscallValue("open") { open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        defer { _ = try? syscall("close", kind: .close) { Glibc.close(fd) } }
        _ = try syscallValue("fsync") { fsync(fd) }
    }
}
