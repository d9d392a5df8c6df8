import Glibc

/// Process-wide resource limits a node host needs.
public enum ProcessLimits {
    /// Raises the soft limit on open descriptors (RLIMIT_NOFILE) to the hard limit, since hundreds of peers
    /// in one process need two descriptors each plus their streams. Returns the soft limit now in force.
    @discardableResult
    public static func raiseOpenFileLimit() -> Int {
        var rl = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl) == 0 else { return -1 }
        if rl.rlim_cur < rl.rlim_max {
            rl.rlim_cur = rl.rlim_max
            _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
            _ = getrlimit(Int32(RLIMIT_NOFILE.rawValue), &rl)
        }
        return Int(clamping: rl.rlim_cur)
    }
}

extension ProcessLimits {
    /// Model frames (~230 KB) are allocated and freed many times a second; with glibc's default thresholds the
    /// heap is trimmed and regrown around each, costing ~80 page faults per frame round trip (measured with
    /// `perf stat -e page-faults`). Raising the trim and mmap thresholds keeps those pages mapped.
    /// (`mallopt` is looked up with dlsym: Swift's Glibc module does not export <malloc.h>.)
    @discardableResult
    public static func tuneAllocatorForLargeFrames() -> Bool {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return false }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3   // M_TRIM_THRESHOLD, M_MMAP_THRESHOLD in <malloc.h>
        return mallopt(trimThreshold, 64 << 20) == 1 && mallopt(mmapThreshold, 8 << 20) == 1
    }
}
