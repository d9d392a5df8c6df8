import RecommenderModel

/// A profile line that could not be parsed: the file, the 1-based line number, the offending text (the token
/// or, for a whole-line problem, the line) and what was expected there.
public struct ScenarioParseError: Error, Hashable, Sendable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var text: String
    public var expected: String
    public init(file: String, line: Int, text: String, expected: String) {
        self.file = file; self.line = line; self.text = text; self.expected = expected
    }
    public var description: String { "\(file):\(line): '\(text)': expected \(expected)" }
}

extension Scenario {
    /// Parses a profile in the text format documented on `Scenario`. Throws the first problem found.
    public static func parse(text: String, file: String = "profile") throws(ScenarioParseError) -> Scenario {
        var s = Scenario()
        var lineNumber = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = String(raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? "")
            var p = LineParser(tokens: line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" }).map(String.init),
                               file: file, line: lineNumber, fullLine: line.trimmingSpaces)
            guard let keyword = p.peek() else { continue }
            p.index += 1
            switch keyword {
            case "seed":
                let t = try p.take("a seed, a non-negative integer")
                guard let v = UInt64(t) else { throw p.error(t, "a seed, a non-negative integer") }
                s.seed = v
            case "loss":
                s.loss = try p.percent("a loss percentage such as 1%")
            case "latency":
                let t = try p.take("a latency range such as 5ms-40ms")
                let parts = t.split(separator: "-", omittingEmptySubsequences: false).map(String.init)
                guard parts.count == 2, let lo = parseDuration(parts[0]), let hi = parseDuration(parts[1]), lo <= hi else {
                    throw p.error(t, "a latency range such as 5ms-40ms (low <= high)")
                }
                s.latency = lo...hi
            case "bandwidth":
                let t = try p.take("a bandwidth such as 100mbit")
                guard let bps = parseBandwidth(t) else { throw p.error(t, "a bandwidth such as 800kbit, 100mbit or 1gbit") }
                s.bandwidthBitsPerSecond = bps
            case "absent":
                s.absent = try p.selector(allowEmpty: false)
            case "stragglers":
                var st = Stragglers(peers: try p.selector(allowEmpty: false))
                var seenOption = false
                while let opt = p.peek() {
                    p.index += 1
                    switch opt {
                    case "slowdown", "compute":   // "compute": the keyword's earlier name, still read
                        st.slowdown = try p.factor("a slowdown factor such as 10x (>= 1)")
                    case "link-delay":
                        let t = try p.take("a link delay such as 10x or +50ms")
                        if t.hasPrefix("+"), let d = parseDuration(String(t.dropFirst())) {
                            st.extraLinkDelay = d
                        } else if let f = parseFactor(t) {
                            st.linkDelayFactor = f
                        } else {
                            throw p.error(t, "a link delay such as 10x (>= 1) or +50ms")
                        }
                    default:
                        throw p.error(opt, "'slowdown' or 'link-delay'")
                    }
                    seenOption = true
                }
                guard seenOption else { throw p.error(p.fullLine, "'slowdown Kx' and/or 'link-delay Kx|+Dms' after the peers") }
                s.stragglers.append(st)
            case "churn":
                s.churn = try parseChurn(&p)
            case "at":
                s.scheduled.append(try parseScheduled(&p))
            default:
                throw p.error(keyword, "a directive: seed, loss, latency, bandwidth, absent, stragglers, churn or at")
            }
            if let extra = p.peek() { throw p.error(extra, "end of line") }
        }
        return s
    }

    private static func parseChurn(_ p: inout LineParser) throws(ScenarioParseError) -> Churn {
        try p.expect("sessions")
        let family = try p.take("exponential or weibull")
        let sessions: Distribution
        switch family {
        case "exponential":
            try p.expect("mean")
            sessions = .exponential(mean: try p.duration(positive: true))
        case "weibull":
            try p.expect("shape")
            let t = try p.take("a Weibull shape such as 0.6")
            guard let k = Double(t), k.isFinite, k >= 0.1, k <= 10 else { throw p.error(t, "a Weibull shape in 0.1...10") }
            try p.expect("scale")
            sessions = .weibull(shape: k, scale: try p.duration(positive: true))
        default:
            throw p.error(family, "exponential or weibull")
        }
        try p.expect("offline")
        let offline: OfflineModel
        if p.peek() == "mean" {
            p.index += 1
            offline = .mean(try p.duration(positive: true))
        } else {
            let f = try p.percent("an offline fraction such as 30% (below 100%) or 'mean 100s'")
            guard f > 0, f < 1 else { throw p.error(p.tokens[p.index - 1], "an offline fraction strictly between 0% and 100%") }
            offline = .fraction(f)
        }
        var c = Churn(sessions: sessions, offline: offline)
        while let opt = p.peek() {
            p.index += 1
            switch opt {
            case "start": c.start = try p.duration(positive: false)
            case "departure":
                let t = try p.take("kill or leave")
                switch t {
                case "kill": c.graceful = false
                case "leave": c.graceful = true
                default: throw p.error(t, "kill or leave")
                }
            default: throw p.error(opt, "'start T', 'departure kill|leave' or end of line")
            }
        }
        return c
    }

    private static func parseScheduled(_ p: inout LineParser) throws(ScenarioParseError) -> Scheduled {
        let time = try p.duration(positive: false)
        let verb = try p.take("an action: kill, leave, restart, join, partition, heal or loss")
        switch verb {
        case "kill": return Scheduled(time: time, action: .kill, peers: try p.selector(allowEmpty: true), line: p.line)
        case "leave": return Scheduled(time: time, action: .leave, peers: try p.selector(allowEmpty: true), line: p.line)
        case "restart": return Scheduled(time: time, action: .restart, peers: try p.selector(allowEmpty: true), line: p.line)
        case "join": return Scheduled(time: time, action: .join, peers: try p.selector(allowEmpty: true), line: p.line)
        case "heal": return Scheduled(time: time, action: .heal, peers: .all, line: p.line)
        case "loss": return Scheduled(time: time, action: .loss(try p.percent("a loss percentage such as 5%")), peers: .all, line: p.line)
        case "partition":
            var groups: [Selector] = [try p.selector(allowEmpty: false)]
            while p.peek() == "|" {
                p.index += 1
                groups.append(try p.selector(allowEmpty: false))
            }
            guard groups.count >= 2 else { throw p.error(p.fullLine, "at least two groups separated by ' | '") }
            return Scheduled(time: time, action: .partition(groups), peers: .all, line: p.line)
        default:
            throw p.error(verb, "an action: kill, leave, restart, join, partition, heal or loss")
        }
    }

    /// "1500ms", "120s", "2.5m", "1h" (a unit is required).
    public static func parseDuration(_ t: String) -> Duration? {
        let units: [(String, Double)] = [("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600)]
        for (u, scale) in units where t.hasSuffix(u) {
            let number = String(t.dropLast(u.count))
            guard !number.isEmpty, number.first != "-", number.first != "+", let v = Double(number), v.isFinite, v >= 0,
                  v * scale < 1e9 else { return nil }
            return .nanoseconds(Int64((v * scale * 1e9).rounded()))
        }
        return nil
    }

    /// "10x" -> 10 (at least 1).
    static func parseFactor(_ t: String) -> Double? {
        guard t.hasSuffix("x"), let v = Double(t.dropLast()), v.isFinite, v >= 1, v <= 1e6 else { return nil }
        return v
    }

    /// "100mbit" -> 1e8 bits per second.
    static func parseBandwidth(_ t: String) -> Double? {
        for (u, scale) in [("kbit", 1e3), ("mbit", 1e6), ("gbit", 1e9)] where t.hasSuffix(u) {
            guard let v = Double(t.dropLast(u.count)), v.isFinite, v > 0 else { return nil }
            return v * scale
        }
        return nil
    }

    /// "0-470" or "3,7-9" -> sorted unique indices, nil if malformed.
    static func parsePeerList(_ t: String) -> [Int]? {
        var out = Set<Int>()
        for part in t.split(separator: ",", omittingEmptySubsequences: false) {
            let ends = part.split(separator: "-", omittingEmptySubsequences: false)
            guard ends.count <= 2, ends.allSatisfy({ !$0.isEmpty && $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
                  let a = Int(ends[0]), let b = Int(ends[ends.count - 1]), a <= b, b < 10_000_000 else { return nil }
            for i in a...b { out.insert(i) }
        }
        return out.sorted()
    }
}

/// A cursor over one line's tokens that builds `ScenarioParseError`s naming the line.
struct LineParser {
    var tokens: [String]
    var file: String
    var line: Int
    var fullLine: String
    var index = 0

    func peek() -> String? { index < tokens.count ? tokens[index] : nil }

    func error(_ text: String, _ expected: String) -> ScenarioParseError {
        ScenarioParseError(file: file, line: line, text: text, expected: expected)
    }

    mutating func take(_ expected: String) throws(ScenarioParseError) -> String {
        guard let t = peek() else { throw error(fullLine, expected + " at the end of the line") }
        index += 1
        return t
    }

    mutating func expect(_ word: String) throws(ScenarioParseError) {
        let t = try take("'\(word)'")
        guard t == word else { throw error(t, "'\(word)'") }
    }

    mutating func duration(positive: Bool) throws(ScenarioParseError) -> Duration {
        let what = positive ? "a positive time such as 300s, 1500ms or 5m" : "a time such as 120s, 1500ms or 2m"
        let t = try take(what)
        guard let d = Scenario.parseDuration(t), !positive || d > .zero else { throw error(t, what) }
        return d
    }

    mutating func percent(_ expected: String) throws(ScenarioParseError) -> Double {
        let t = try take(expected)
        guard t.hasSuffix("%"), let v = Double(t.dropLast()), v.isFinite, v >= 0, v <= 100 else {
            throw error(t, expected + " (0% to 100%)")
        }
        return v / 100
    }

    mutating func factor(_ expected: String) throws(ScenarioParseError) -> Double {
        let t = try take(expected)
        guard let f = Scenario.parseFactor(t) else { throw error(t, expected) }
        return f
    }

    /// `N%`, `peers LIST`, `all`, a bare list/range in partitions (`0-470`), or nothing when `allowEmpty`
    /// (then: all).
    mutating func selector(allowEmpty: Bool) throws(ScenarioParseError) -> Scenario.Selector {
        let expected = "peers: N%, 'peers LIST' (such as peers 3,7-9) or all"
        guard let t = peek(), t != "|" else {
            if allowEmpty { return .all }
            throw error(peek() ?? fullLine, expected)
        }
        index += 1
        if t == "all" { return .all }
        if t.hasSuffix("%") {
            guard let v = Double(t.dropLast()), v.isFinite, v >= 0, v <= 100 else { throw error(t, "a percentage from 0% to 100%") }
            return .fraction(v / 100)
        }
        if t == "peers" {
            let list = try take("a peer list such as 3,7-9")
            guard let ps = Scenario.parsePeerList(list) else { throw error(list, "a peer list such as 3,7-9 (0-based, ranges a-b with a <= b)") }
            return .peers(ps)
        }
        if let ps = Scenario.parsePeerList(t) { return .peers(ps) }
        throw error(t, expected)
    }
}

extension String {
    var trimmingSpaces: String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" || f == "\r" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" || l == "\r" { s = s.dropLast() }
        return String(s)
    }
}
