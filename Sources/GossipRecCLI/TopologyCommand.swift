import Foundation
import GossipProtocol
import RecommenderModel
import SwarmSpec

/// `gossiprec topology generate|validate|describe`: peer topologies as files (format: `Topology`,
/// Topologies/README.md); reads decentralizepy's `.edges` and `.adj` files verbatim.
struct TopologyCommand: Subcommand {
    static let name = "topology"
    static let summary = "Generate, validate or describe a peer topology file (.edges/.adj; reads decentralizepy's)"
    static let options: [OptionSpec] = []

    enum Action: String, CaseIterable { case generate, validate, describe, fromLogs = "from-logs" }

    static let generateOptions = [
        OptionSpec("kind", "KIND", "ring, regular, erdos-renyi, small-world, barabasi-albert or full"),
        OptionSpec("peers", "N", "number of peers (0-indexed in the file)"),
        OptionSpec("degree", "K", "regular: every peer's degree; small-world: the ring lattice's degree (even)"),
        OptionSpec("p", "P", "erdos-renyi: edge probability"),
        OptionSpec("beta", "B", "small-world: rewiring probability (default 0.1)"),
        OptionSpec("m", "M", "barabasi-albert: edges each new peer brings"),
        OptionSpec("seed", "S", "random seed", default: "1"),
        OptionSpec("hosts", "IP,IP,..", "add '# peer' address lines: peers split into contiguous blocks, one per host"),
        OptionSpec("port", "P", "with --hosts: a host's k-th peer listens on P+k", default: "7000"),
        OptionSpec("plain", nil, "omit the provenance comment (then an unweighted file without addresses is plain decentralizepy .edges)"),
        OptionSpec("out", "FILE", "the .edges file to write"),
    ]

    static let fileOptions = [
        OptionSpec("format", "FMT", "auto (.adj names: adjacency, else edges), edges or adjacency", default: "auto"),
        OptionSpec("strict", nil, "validate: exit 1 on warnings too"),
        OptionSpec("distance-limit", "N", "describe: skip hop distances (BFS from every peer) above N peers", default: "10000"),
    ]

    static let fromLogsOptions = [
        OptionSpec("out", "FILE", "the .edges file to write (directed, weighted by similarity)"),
    ]

    static var help: String {
        """
        usage: gossiprec topology generate --kind KIND --peers N [--degree K] [--p P] [--beta B] [--m M] [--seed S] --out FILE
               gossiprec topology validate FILE [--format FMT] [--strict]
               gossiprec topology describe FILE [--format FMT] [--distance-limit N]
               gossiprec topology from-logs NODE.jsonl [NODE.jsonl ...] --out FILE

        \(summary).
        validate exits 0 when FILE is valid (warnings are printed), 1 when it is not (every error is printed
        with its line number). from-logs rebuilds the graph a client-graph swarm learned (each peer's top-k at
        its stop line in the node logs) as a topology file. Run 'gossiprec topology ACTION --help' for an
        action's options.
        """
    }

    var action: Action
    var recipe: TopologyRecipe?
    var hosts: [String] = [], port = 7000, plain = false, out = ""
    var file = "", format: TopologyFileFormat?, strict = false, distanceLimit = 10_000
    var logs: [String] = []

    static func parse(_ args: [String]) throws -> TopologyCommand {
        guard let first = args.first else { throw CLIError.missingRequired(option: "ACTION (generate, validate or describe)") }
        if first == "--help" || first == "-h" { throw CLIError.helpRequested(help) }
        guard let action = Action(rawValue: first) else {
            throw CLIError.badValue(option: "topology ACTION", value: first, expected: "one of " + Action.allCases.map(\.rawValue).joined(separator: ", "))
        }
        var rest = Array(args.dropFirst())
        let command = "topology \(action.rawValue)"
        if action == .generate {
            return try TopologyCommand(ParsedOptions.parse(command: command, summary: "Write a generated topology", specs: generateOptions, rest))
        }
        if action == .fromLogs {
            let logs = rest.prefix { !$0.hasPrefix("-") }
            var o = try ParsedOptions.parse(command: command + " LOG...", summary: "Write the graph a client-graph swarm learned as a topology file",
                                            specs: fromLogsOptions, Array(rest.dropFirst(logs.count)))
            guard !logs.isEmpty else { throw CLIError.missingRequired(option: "NODE.jsonl (one or more node logs)") }
            o.command = command
            var c = try TopologyCommand(o)
            c.logs = Array(logs)
            return c
        }
        var path: String?
        if let f = rest.first, !f.hasPrefix("-") { path = f; rest.removeFirst() }
        let summary = action == .validate ? "Check a topology file: exit 0 valid, 1 invalid" : "Print degrees, components and diameter of a topology file"
        var o = try ParsedOptions.parse(command: command + " FILE", summary: summary, specs: fileOptions, rest)
        guard let path else { throw CLIError.missingRequired(option: "FILE") }
        o.command = command
        o.values["file"] = path
        return try TopologyCommand(o)
    }

    init(_ o: ParsedOptions) throws {
        guard let a = Action(rawValue: String(o.command.split(separator: " ").last ?? "")) else {
            throw CLIError.unknownCommand(o.command)
        }
        action = a
        switch a {
        case .generate:
            let kind = try o.choice("kind", TopologyKind.self)
            var r = TopologyRecipe(kind: kind, peers: try o.int("peers", in: 1...1_000_000), seed: try o.seed())
            let uses: [String: [TopologyKind]] = ["degree": [.regular, .smallWorld], "p": [.erdosRenyi],
                                                  "beta": [.smallWorld], "m": [.barabasiAlbert]]
            for (opt, kinds) in uses.sorted(by: { $0.key < $1.key }) {
                if let v = o.optionalString(opt), !kinds.contains(kind) {
                    throw CLIError.badValue(option: "--\(opt)", value: v, expected: "accepted with --kind \(kind.rawValue) (--\(opt) is for --kind " + kinds.map(\.rawValue).joined(separator: " or ") + ")")
                }
                if o.optionalString(opt) == nil, kinds.contains(kind), opt != "beta" {
                    throw CLIError.missingRequired(option: "--\(opt) (for --kind \(kind.rawValue))")
                }
            }
            if o.optionalString("degree") != nil { r.degree = try o.int("degree", in: 0...1_000_000) }
            if o.optionalString("p") != nil { r.p = try o.double("p", in: 0...1) }
            if kind == .smallWorld { r.beta = try o.optionalDouble("beta", in: 0...1) ?? 0.1 }
            if o.optionalString("m") != nil { r.m = try o.int("m", in: 1...1_000_000) }
            recipe = r
            if let h = o.optionalString("hosts") {
                hosts = h.split(separator: ",").map(String.init)
                for host in hosts where PeerAddress(host: host, port: 1) == nil {
                    throw CLIError.badValue(option: "--hosts", value: host, expected: "an IPv4 or IPv6 literal (host names are not resolved)")
                }
                guard !hosts.isEmpty else { throw CLIError.badValue(option: "--hosts", value: h, expected: "a comma-separated list of IP addresses") }
            }
            port = try o.int("port", in: 1...65535)
            plain = o.has("plain")
            out = try o.string("out")
        case .validate, .describe:
            file = try o.string("file")
            let f = try o.string("format")
            if f != "auto" {
                guard let x = TopologyFileFormat(rawValue: f) else {
                    throw CLIError.badValue(option: "--format", value: f, expected: "one of auto, edges, adjacency")
                }
                format = x
            }
            strict = o.has("strict")
            distanceLimit = try o.int("distance-limit", in: 0...10_000_000)
        case .fromLogs:
            out = try o.string("out")
        }
    }

    func run() throws -> Int32 {
        switch action {
        case .generate: return try generate()
        case .validate, .describe: return try inspect()
        case .fromLogs: return try fromLogs()
        }
    }

    /// Reads every `"event":"stop"` line with a `client_graph` object (the last one per peer wins) and
    /// combines the peers' top-k lists with `ClientGraphTopology.combine`.
    func fromLogs() throws -> Int32 {
        var latest: [PeerID: ClientGraphExport] = [:]
        for log in logs {
            guard let data = FileManager.default.contents(atPath: log) else {
                throw TopologyFileError(message: "cannot read node log '\(log)'")
            }
            for (n, line) in InteractionLog.splitLines([UInt8](data)) where line.contains("\"client_graph\"") && line.contains("\"event\":\"stop\"") {
                guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      let peer = (object["peer"] as? NSNumber)?.uint64Value,
                      let graph = object["client_graph"] as? [String: Any],
                      let neighbours = graph["neighbours"] as? [[NSNumber]] else {
                    throw TopologyFileError(message: "\(log):\(n): not a node stop line with client_graph.neighbours [[peer, similarity], ...]")
                }
                let edges = try neighbours.map { pair -> ClientGraphExport.Edge in
                    guard pair.count == 2 else { throw TopologyFileError(message: "\(log):\(n): a neighbour must be [peer, similarity]") }
                    return .init(to: PeerID(pair[0].uint64Value), similarity: pair[1].floatValue)
                }
                latest[PeerID(peer)] = ClientGraphExport(peer: PeerID(peer), edges: edges)
            }
        }
        guard !latest.isEmpty else {
            throw TopologyFileError(message: "no client-graph stop lines in \(logs.joined(separator: ", ")) (was the swarm run with --mode client-graph?)")
        }
        let combined: ClientGraphTopology.Combined
        do { combined = try ClientGraphTopology.combine(latest.values.sorted { $0.peer < $1.peer }) } catch {
            throw TopologyFileError(message: "cannot combine the client graphs: \(error)")
        }
        let text = combined.fileText(extraComments: ["learned by a client-graph swarm; from: " + logs.joined(separator: " ")])
        try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        let t = combined.topology
        Console.out("topology: client graph of \(latest.count) peers, \(t.edgeCount) arcs -> \(out)"
                    + (combined.skippedEdges > 0 ? " (\(combined.skippedEdges) edges skipped)" : ""))
        return 0
    }

    func generate() throws -> Int32 {
        let r = recipe!
        var t: Topology
        do { t = try Topology.generate(r) } catch {
            throw CLIError.badValue(option: "--\(error.parameter)", value: error.value, expected: error.expected)
        }
        if !hosts.isEmpty {
            let perHost = (r.peers + hosts.count - 1) / hosts.count
            guard port + perHost - 1 <= 65535 else {
                throw CLIError.badValue(option: "--port", value: String(port), expected: "at most \(65536 - perHost) so \(perHost) peers per host fit below 65536")
            }
            var addrs: [Int: PeerAddress] = [:]
            for i in 0..<r.peers { addrs[i] = PeerAddress(host: hosts[i / perHost], port: UInt16(port + i % perHost))! }
            do { t = try t.withAddresses(addrs) } catch {
                throw CLIError.badValue(option: "--hosts", value: hosts.joined(separator: ","), expected: "distinct hosts (\(error))")
            }
        }
        var provenance = "gossiprec topology generate --kind \(r.kind.rawValue) --peers \(r.peers)"
        if let d = r.degree { provenance += " --degree \(d)" }
        if let p = r.p { provenance += " --p \(p)" }
        if let b = r.beta { provenance += " --beta \(b)" }
        if let m = r.m { provenance += " --m \(m)" }
        if ![.ring, .full].contains(r.kind) { provenance += " --seed \(r.seed)" }
        if !hosts.isEmpty { provenance += " --hosts \(hosts.joined(separator: ",")) --port \(port)" }
        let text = t.serialized(comments: plain ? [] : ["generated by: " + provenance])
        let dir = (out as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try Data(text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        let d = DegreeStatistics(t.degrees)
        let comps = t.components().count
        Console.out("topology: \(r.kind.rawValue), \(t.peerCount) peers, \(t.edgeCount) edges, degree \(d.min)...\(d.max) (mean \(String(format: "%.2f", d.mean))), "
                    + (comps == 1 ? "connected" : "DISCONNECTED (\(comps) components)") + " -> \(out)")
        if comps > 1 { Console.err("gossiprec topology: warning: the generated graph is disconnected; try another --seed or a denser graph") }
        return 0
    }

    func inspect() throws -> Int32 {
        let text: String
        do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
            throw TopologyFileError(message: "cannot read '\(file)': \(error.localizedDescription)")
        }
        let parsed: ParsedTopology
        do { parsed = try Topology.parse(text: text, file: file, format: format) } catch {
            let shown = error.diagnostics.prefix(100)
            for d in shown { Console.err(d.description) }
            if error.diagnostics.count > shown.count { Console.err("... and \(error.diagnostics.count - shown.count) more errors") }
            Console.out("\(file): INVALID: \(error.diagnostics.count) error\(error.diagnostics.count == 1 ? "" : "s")")
            return 1
        }
        for w in parsed.warnings { Console.err(w.description) }
        let t = parsed.topology
        switch action {
        case .validate:
            let failing = strict && !parsed.warnings.isEmpty
            Console.out("\(file): \(failing ? "INVALID (--strict: warnings count as errors)" : "valid"): \(t.peerCount) peers, "
                        + "\(t.edgeCount) \(t.isDirected ? "arcs (directed)" : "edges (undirected)")"
                        + (t.isWeighted ? ", weighted" : "") + ", \(parsed.warnings.count) warning\(parsed.warnings.count == 1 ? "" : "s")")
            return failing ? 1 : 0
        default:
            Console.out("\(file)\n" + t.summary(distanceLimit: distanceLimit).description)
            return 0
        }
    }
}

/// A topology file that cannot be read at all (exit status 1, like an invalid one).
struct TopologyFileError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
