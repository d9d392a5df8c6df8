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
    public static func tuneAllocatorForLargeFrames() {
        _ = mallopt(M_TRIM_THRESHOLD, 64 << 20)
        _ = mallopt(M_MMAP_THRESHOLD, 8 << 20)
    }
}
