import DataFiles
import Foundation
import RecommenderModel

/// `gossiprec report`: aggregates peers' JSON lines into a swarm curve, summary.json and an SVG plot.
struct ReportCommand: Subcommand {
    static let name = "report"
    static let summary = "Aggregate peers' JSON-line logs into a curve, summary.json and an SVG plot"
    static let options = [
        OptionSpec("logs", "FILES", "JSON-line files written by 'gossiprec node --log': comma-separated paths, a directory (its *.jsonl files) or a quoted pattern such as 'runs/x/node-*.jsonl'"),
        OptionSpec("bucket", "S", "seconds per point of the curve", default: "10"),
        OptionSpec("central-hr10", "X", "centralized MF HR@10 on the same split (for the summary)"),
        OptionSpec("itempop-hr10", "X", "ItemPop HR@10 on the same split (for the summary)"),
        OptionSpec("summary", "FILE", "write the summary JSON here"),
        OptionSpec("svg", "FILE", "write an SVG plot of HR@10 and MB exchanged over time here"),
        OptionSpec("last", nil, "print only the final summary line"),
        OptionSpec("online-window", "S", "churn: average HR@10/NDCG@10 only over peers online at each point (an evaluation in the last S seconds and no stop since); 0: every peer's latest evaluation", default: "0"),
    ]

    var logs: [String], bucket: Double, central: Double?, itempop: Double?, summaryPath: String?, svgPath: String?, lastOnly: Bool
    var onlineWindow = 0.0

    init(_ o: ParsedOptions) throws {
        logs = try Self.expandLogs(o.string("logs"))
        bucket = try o.double("bucket", in: 0.1...1e6)
        central = try o.optionalDouble("central-hr10", in: 0...1)
        itempop = try o.optionalDouble("itempop-hr10", in: 0...1)
        summaryPath = o.optionalString("summary")
        svgPath = o.optionalString("svg")
        lastOnly = o.has("last")
        onlineWindow = try o.double("online-window", in: 0...1e6)
    }

    /// The log files `--logs` names: comma-separated entries, each a file, a directory (its `.jsonl` files) or a
    /// pattern whose last component holds `*` (matched in its directory). An entry that matches nothing is an error.
    static func expandLogs(_ spec: String) throws -> [String] {
        var out: [String] = []
        for entry in spec.split(separator: ",").map(String.init) where !entry.isEmpty {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: entry, isDirectory: &isDir), isDir.boolValue {
                let names = (try? FileManager.default.contentsOfDirectory(atPath: entry)) ?? []
                let found = names.filter { $0.hasSuffix(".jsonl") }.sorted().map { entry + "/" + $0 }
                guard !found.isEmpty else { throw DataError.unreadable(file: entry, reason: "a directory with no .jsonl files") }
                out += found
            } else if entry.contains("*") {
                let slash = entry.lastIndex(of: "/")
                let dir = slash.map { $0 == entry.startIndex ? "/" : String(entry[..<$0]) } ?? "", pattern = slash.map { String(entry[entry.index(after: $0)...]) } ?? entry
                let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.isEmpty ? "." : dir)) ?? []
                let found = names.filter { wildcard(pattern, matches: $0) }.sorted().map { dir.isEmpty ? $0 : dir + "/" + $0 }
                guard !found.isEmpty else { throw DataError.unreadable(file: entry, reason: "no file matches the pattern") }
                out += found
            } else {
                out.append(entry)
            }
        }
        guard !out.isEmpty else { throw CLIError.badValue(option: "--logs", value: spec, expected: "at least one log file") }
        return out
    }

    /// `*` matches any run of characters (no other wildcard).
    static func wildcard(_ pattern: String, matches name: String) -> Bool {
        let parts = pattern.split(separator: "*", omittingEmptySubsequences: false).map(String.init)
        guard parts.count > 1 else { return pattern == name }
        guard name.hasPrefix(parts[0]) else { return false }
        var rest = Substring(name.dropFirst(parts[0].count))
        for (k, part) in parts.dropFirst().enumerated() {
            let last = k == parts.count - 2
            if last { return rest.hasSuffix(part) && rest.count >= part.count }
            guard let r = rest.range(of: part) else { return false }
            rest = rest[r.upperBound...]
        }
        return true
    }

    struct Event {
        var t: Double; var peer: Int; var hit: Double?; var ndcg: Double?; var sent: Double; var round: Double
        /// The line of a test-only malicious peer (`node --attack`): left out of the swarm's figures.
        var malicious = false
    }

    struct Point { var t: Double; var hr10: Double; var ndcg10: Double; var evaluated: Int; var mbPerPeer: Double; var meanRound: Double }

    static func readEvents(_ paths: [String]) throws -> [Event] {
        var events: [Event] = []
        for path in paths {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(file: path, reason: "no such file or not readable")
            }
            let lines = InteractionLog.splitLines([UInt8](data))
            for (n, line) in lines where !line.isEmpty {
                let parsed = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
                // Non-metric events ("restore", "checkpoint_failed") carry no time and are not part of the curve.
                if let obj = parsed, obj["t"] == nil, let e = obj["event"] as? String, e != "eval", e != "stop" { continue }
                guard let obj = parsed, let t = obj["t"] as? Double, let peer = obj["peer"] as? Int else {
                    // A line cut by a crash is expected at the end of a file; anywhere else it is an error.
                    if n == lines.count { continue }
                    throw DataError.malformedLine(file: path, line: n, text: line, reason: "not a peer JSON line")
                }
                events.append(Event(t: t, peer: peer, hit: (obj["hr10"] as? NSNumber)?.doubleValue,
                                    ndcg: (obj["ndcg10"] as? NSNumber)?.doubleValue,
                                    sent: (obj["bytes_sent"] as? NSNumber)?.doubleValue ?? 0,
                                    round: (obj["round"] as? NSNumber)?.doubleValue ?? 0,
                                    malicious: (obj["malicious"] as? Bool) ?? false))
            }
        }
        return events.sorted { $0.t < $1.t }
    }

    /// At each bucket end: every peer's latest evaluation so far, averaged.
    /// With `onlineWindow` > 0, metrics at each point average only the peers that count as online then: their
    /// latest line (an evaluation, or the stop line that every peer writes when it leaves or the run ends) is
    /// within the window, so a crashed or departed peer drops out once the window has passed. `evaluated` is
    /// then the online peers' count.
    static func curve(_ events: [Event], bucket: Double, onlineWindow: Double = 0) -> [Point] {
        guard let end = events.last?.t else { return [] }
        var latest: [Int: Event] = [:]
        var points: [Point] = []
        var i = 0
        var edge = bucket
        while true {
            while i < events.count && events[i].t <= edge { latest[events[i].peer] = events[i]; i += 1 }
            let evals = latest.values.filter { e in
                e.hit != nil && (onlineWindow <= 0 || e.t >= min(edge, end) - onlineWindow)
            }
            let n = max(latest.count, 1)
            points.append(Point(t: min(edge, end), hr10: evals.isEmpty ? 0 : evals.map { $0.hit! }.reduce(0, +) / Double(evals.count),
                                ndcg10: evals.isEmpty ? 0 : evals.map { $0.ndcg! }.reduce(0, +) / Double(evals.count),
                                evaluated: evals.count, mbPerPeer: latest.values.map(\.sent).reduce(0, +) / Double(n) / 1e6,
                                meanRound: latest.values.map(\.round).reduce(0, +) / Double(n)))
            if edge >= end { break }
            edge += bucket
        }
        return points
    }

    func run() throws -> Int32 {
        let all = try Self.readEvents(logs)
        // Malicious peers (test-only attacks) are not part of the swarm whose quality is measured.
        let malicious = Set(all.filter(\.malicious).map(\.peer))
        let events = malicious.isEmpty ? all : all.filter { !malicious.contains($0.peer) }
        let points = Self.curve(events, bucket: bucket, onlineWindow: onlineWindow)
        guard let last = points.last else { Console.err("report: no events in \(logs.joined(separator: ", "))"); return 1 }
        if !lastOnly {
            Console.out("   time s   round   HR@10  NDCG@10  MB sent/peer  peers evaluated")
            for p in points {
                Console.out(String(format: "%9.1f %7.1f  %.4f   %.4f  %12.2f  %d", p.t, p.meanRound, p.hr10, p.ndcg10, p.mbPerPeer, p.evaluated))
            }
        }
        var j = JSONLine()
        let peerCount = Set(events.map(\.peer)).count
        j.add("peers", peerCount)
        if !malicious.isEmpty { j.add("malicious_peers_excluded", malicious.count) }
        j.add("seconds", last.t, digits: 1)
        j.add("hr10", last.hr10); j.add("ndcg10", last.ndcg10)
        if let c = central { j.add("central_hr10", c); j.add("ratio_to_central", last.hr10 / c, digits: 3) }
        if let p = itempop { j.add("itempop_hr10", p) }
        j.add("mb_per_peer", last.mbPerPeer, digits: 2)
        j.add("mean_round", last.meanRound, digits: 1)
        // Reached when the mean is over at least 90% of the peers (with --online-window: of those online).
        let coverage = { (p: Point) in onlineWindow > 0 ? p.evaluated > 0 : p.evaluated * 10 >= peerCount * 9 }
        if onlineWindow > 0 { j.add("online_peers", last.evaluated) }
        if let c = central, let reach = points.first(where: { $0.hr10 >= 0.9 * c && coverage($0) }) {
            j.add("seconds_to_90pct_central", reach.t, digits: 1)
            j.add("mb_per_peer_to_90pct", reach.mbPerPeer, digits: 2)
        }
        // Local rounds per peer per second over the run (the swarm's learning speed, whatever the period).
        if last.t > 0 { j.add("rounds_per_second", last.meanRound / last.t, digits: 3) }
        if let path = summaryPath { try writeAtomically(j.text + "\n", to: path) }
        if let path = svgPath { try writeAtomically(Self.svg(points, central: central, itempop: itempop), to: path) }
        Console.out(j.text)
        return 0
    }

    /// A self-contained SVG: HR@10 (left axis, 0..1) and MB sent per peer (right axis) over time, with
    /// dashed reference lines for the centralized MF and ItemPop.
    static func svg(_ pts: [Point], central: Double?, itempop: Double?) -> String {
        let w = 760.0, h = 420.0, l = 60.0, r = 70.0, t = 40.0, b = 50.0
        let pw = w - l - r, ph = h - t - b
        let tmax = max(pts.last?.t ?? 1, 1), mbmax = max(pts.map(\.mbPerPeer).max() ?? 1, 1e-9)
        func x(_ v: Double) -> Double { l + pw * v / tmax }
        func yHR(_ v: Double) -> Double { t + ph * (1 - v) }
        func yMB(_ v: Double) -> Double { t + ph * (1 - v / mbmax) }
        func path(_ f: (Point) -> (Double, Double)) -> String {
            pts.enumerated().map { i, p in let (a, c) = f(p); return (i == 0 ? "M" : "L") + String(format: "%.1f,%.1f", a, c) }.joined(separator: " ")
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" font-family=\"sans-serif\" font-size=\"12\">\n"
        s += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
        s += "<text x=\"\(Int(w / 2))\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">GossipRec swarm: HR@10 and traffic over time</text>\n"
        s += String(format: "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"none\" stroke=\"#888\"/>\n", l, t, pw, ph)
        for k in 0...5 {
            let v = Double(k) / 5
            s += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>", l, l + pw, yHR(v), yHR(v))
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>", l - 6, yHR(v) + 4, v)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"#c60\">%.0f</text>\n", l + pw + 6, yHR(v) + 4, mbmax * v)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.0f</text>", x(tmax * v), t + ph + 18, tmax * v)
        }
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">seconds</text>\n", l + pw / 2, h - 10)
        s += String(format: "<text x=\"16\" y=\"%.1f\" transform=\"rotate(-90 16 %.1f)\" text-anchor=\"middle\" fill=\"#14c\">HR@10</text>\n", t + ph / 2, t + ph / 2)
        s += String(format: "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(90 %.1f %.1f)\" text-anchor=\"middle\" fill=\"#c60\">MB sent per peer</text>\n", w - 14, t + ph / 2, w - 14, t + ph / 2)
        for (v, name, color) in [(central, "centralized MF", "#090"), (central.map { 0.9 * $0 }, "90% of centralized", "#6a6"), (itempop, "ItemPop", "#999")] {
            guard let v else { continue }
            s += String(format: "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%@\" stroke-dasharray=\"6 4\"/>", l, l + pw, yHR(v), yHR(v), color)
            s += String(format: "<text x=\"%.1f\" y=\"%.1f\" fill=\"%@\">%@ %.3f</text>\n", l + 8, yHR(v) - 4, color, name, v)
        }
        s += "<path d=\"\(path { (x($0.t), yMB($0.mbPerPeer)) })\" fill=\"none\" stroke=\"#c60\" stroke-width=\"1.5\"/>\n"
        s += "<path d=\"\(path { (x($0.t), yHR($0.hr10)) })\" fill=\"none\" stroke=\"#14c\" stroke-width=\"2.5\"/>\n"
        s += "</svg>\n"
        return s
    }
}
