/// A point on a protocol instance's clock: nanoseconds since an arbitrary origin chosen by the shell.
///
/// Protocol instances never read a clock. Every `on<Event>` receives `now: Instant` from its shell (the node
/// runtime reads a monotonic clock; the simulator supplies virtual time starting at `.zero`), so the same
/// inputs always produce the same directives. Only differences between instants are meaningful, and only
/// between instants supplied by the same shell.
public struct Instant: Comparable, Hashable, Sendable, CustomStringConvertible {
    /// Nanoseconds since the shell's origin. May be negative (an origin in the future is harmless).
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }

    /// The origin of the clock (the simulator's start time).
    public static let zero = Instant(nanoseconds: 0)

    public static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }

    /// `instant + duration`, saturating at the ends of the representable range.
    public static func + (a: Instant, d: Duration) -> Instant {
        let (sum, overflow) = a.nanoseconds.addingReportingOverflow(d.wholeNanoseconds)
        if overflow { return Instant(nanoseconds: d.wholeNanoseconds > 0 ? .max : .min) }
        return Instant(nanoseconds: sum)
    }

    public static func - (a: Instant, d: Duration) -> Instant { a + (.zero - d) }

    /// The signed time from `b` to `a`.
    public static func - (a: Instant, b: Instant) -> Duration {
        .nanoseconds(a.nanoseconds &- b.nanoseconds)
    }

    public static func += (a: inout Instant, d: Duration) { a = a + d }

    /// "12.345678901s" (seconds since the origin).
    public var description: String {
        let sign = nanoseconds < 0 ? "-" : ""
        let m = nanoseconds.magnitude
        let frac = String(m % 1_000_000_000)
        return "\(sign)\(m / 1_000_000_000).\(String(repeating: "0", count: 9 - frac.count))\(frac)s"
    }
}

extension Duration {
    /// This duration in whole nanoseconds, truncated toward zero, saturating at `Int64` bounds.
    public var wholeNanoseconds: Int64 {
        let (seconds, attoseconds) = components
        let (scaled, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        if overflow { return seconds > 0 ? .max : .min }
        let (sum, overflow2) = scaled.addingReportingOverflow(attoseconds / 1_000_000_000)
        if overflow2 { return seconds > 0 ? .max : .min }
        return sum
    }

    /// This duration in seconds as a Double (for logarithmic timeout formulas).
    public var inSeconds: Double {
        let (s, a) = components
        return Double(s) + Double(a) * 1e-18
    }

    /// `self` scaled by a real factor, rounded to whole nanoseconds (Lifeguard multipliers, suspicion formula).
    public func scaled(by factor: Double) -> Duration {
        let ns = (Double(wholeNanoseconds) * factor).rounded()
        if ns >= Double(Int64.max) { return .nanoseconds(Int64.max) }
        if ns <= Double(Int64.min) { return .nanoseconds(Int64.min) }
        return .nanoseconds(Int64(ns))
    }
}
