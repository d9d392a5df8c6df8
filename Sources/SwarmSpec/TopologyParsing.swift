import GossipProtocol

/// Reading topology files (format: see `Topology`). Pure: the caller reads the bytes.
extension Topology {
    /// Largest peer count a file may declare (a guard against a typo allocating gigabytes).
    public static let maxPeerCount = 10_000_000

    /// Reads a topology from a file's text.
    ///
    /// - Parameters:
    ///   - text: the whole file.
    ///   - file: its name, used in diagnostics and (when `format` is nil and no `# format:` directive is
    ///     given) to choose between `.adj` adjacency lists and edge lists.
    ///   - format: forces a format, overriding the directive and the file name.
    /// - Returns: the topology and warnings (disconnected graph, asymmetric `.adj`, missing `.adj` lines,
    ///   addresses for only some peers).
    /// - Throws: `TopologyError` with every error found, each with its 1-based line number.
    public static func parse(text: String, file: String = "<text>",
                             format: TopologyFileFormat? = nil) throws(TopologyError) -> ParsedTopology {
        var p = TopologyParser(file: file)
        return try p.run(text, format: format)
    }
}

/// One pass over the lines collecting the count, directives and data lines, then an interpretation
/// pass (so a directive may sit anywhere in the file).
struct TopologyParser {
    let file: String
    var errors: [TopologyDiagnostic] = []
    var warnings: [TopologyDiagnostic] = []

    struct DataLine { var line: Int; var tokens: [Substring] }
    struct PeerLine { var line: Int; var index: Int; var address: PeerAddress }

    var directed: (value: Bool, line: Int)?
    var format: (value: TopologyFileFormat, line: Int)?
    var peerLines: [PeerLine] = []

    init(file: String) { self.file = file }

    mutating func error(_ line: Int?, _ kind: TopologyDiagnostic.Kind, _ message: String) {
        errors.append(TopologyDiagnostic(.error, kind, file: file, line: line, message))
    }

    mutating func warn(_ line: Int?, _ kind: TopologyDiagnostic.Kind, _ message: String) {
        warnings.append(TopologyDiagnostic(.warning, kind, file: file, line: line, message))
    }

    func failure() -> TopologyError {
        TopologyError(diagnostics: errors.enumerated().sorted {
            ($0.element.line ?? Int.max, $0.offset) < ($1.element.line ?? Int.max, $1.offset)
        }.map(\.element))
    }

    mutating func run(_ text: String, format forced: TopologyFileFormat?) throws(TopologyError) -> ParsedTopology {
        var lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline)  // "\r\n" is one Character
        if lines.last?.isEmpty == true { lines.removeLast() }  // the final newline ends a line, it opens none

        var count: (value: Int, line: Int)?
        var body: [DataLine] = []
        for (i, raw) in lines.enumerated() {
            let n = i + 1
            let s = trimmed(raw.hasSuffix("\r") ? raw.dropLast() : raw[...])
            if s.hasPrefix("#") { directive(trimmed(s.dropFirst()), line: n); continue }
            let content = trimmed(s.firstIndex(of: "#").map { s[..<$0] } ?? s)
            let tokens = content.split(whereSeparator: \.isWhitespace)
            if count == nil {
                if tokens.isEmpty { continue }
                guard tokens.count == 1, let c = Int(tokens[0]), c >= 1, c <= Topology.maxPeerCount else {
                    error(n, .countLine, "the first line must be the peer count, a single integer in 1...\(Topology.maxPeerCount); found '\(content)'")
                    throw failure()
                }
                count = (c, n)
                continue
            }
            body.append(DataLine(line: n, tokens: tokens))
        }
        guard let (n, countLine) = count else {
            error(nil, .countLine, "no peer count: the first non-comment line must be the number of peers")
            throw failure()
        }

        let fmt = forced ?? format?.value ?? TopologyFileFormat.guess(file: file)
        var adj: [[Topology.Neighbour]]
        let isDirected: Bool
        switch fmt {
        case .edges: (adj, isDirected) = readEdges(body, n: n, countLine: countLine)
        case .adjacency: (adj, isDirected) = readAdjacency(body, n: n, countLine: countLine)
        }

        var addrs = Array<PeerAddress?>(repeating: nil, count: n)
        var addrLine = Array(repeating: 0, count: n)
        var owner: [PeerAddress: Int] = [:]
        for p in peerLines {
            guard p.index < n else {
                error(p.line, .unknownPeer, "'# peer \(p.index)': no such peer; the count line (line \(countLine)) declares \(n) peers, 0...\(n - 1)")
                continue
            }
            if addrs[p.index] != nil {
                error(p.line, .badDirective, "peer \(p.index)'s address is already given on line \(addrLine[p.index])"); continue
            }
            if let o = owner[p.address] {
                error(p.line, .duplicateAddress, "peer \(p.index) and peer \(o) (line \(addrLine[o])) both listen at \(p.address)"); continue
            }
            owner[p.address] = p.index
            addrs[p.index] = p.address
            addrLine[p.index] = p.line
        }
        if !errors.isEmpty { throw failure() }

        adj = adj.map { $0.sorted { $0.peer < $1.peer } }
        let topology = Topology(peerCount: n, directed: isDirected, adjacency: adj, addresses: addrs)
        connectivityWarnings(topology)
        let given = addrs.filter { $0 != nil }.count
        if given > 0 && given < n, let missing = addrs.firstIndex(where: { $0 == nil }) {
            warn(nil, .partialAddresses, "addresses are given for \(given) of \(n) peers; peer \(missing) has none")
        }
        return ParsedTopology(topology: topology, warnings: warnings)
    }

    // MARK: Directives

    mutating func directive(_ body: Substring, line: Int) {
        if let v = keyed(body, "directed") {
            guard let b = ["true": true, "false": false][String(v)] else {
                error(line, .badDirective, "'# directed:' takes true or false, not '\(v)'"); return
            }
            if let d = directed, d.value != b {
                error(line, .badDirective, "'# directed: \(b)' contradicts '# directed: \(d.value)' on line \(d.line)"); return
            }
            directed = (b, line)
        } else if let v = keyed(body, "format") {
            guard let f = TopologyFileFormat(rawValue: String(v)) else {
                error(line, .badDirective, "'# format:' takes edges or adjacency, not '\(v)'"); return
            }
            if let d = format, d.value != f {
                error(line, .badDirective, "'# format: \(f.rawValue)' contradicts '# format: \(d.value.rawValue)' on line \(d.line)"); return
            }
            format = (f, line)
        } else {
            let tokens = body.split(whereSeparator: \.isWhitespace)
            guard tokens.count >= 2, tokens[0] == "peer", tokens[1].first?.isNumber == true else { return }  // prose
            peerDirective(tokens, line: line)
        }
    }

    /// `body` as `key: value` -> value, when it starts with that keyword and a colon.
    func keyed(_ body: Substring, _ key: String) -> Substring? {
        guard body.hasPrefix(key) else { return nil }
        let rest = trimmed(body.dropFirst(key.count))
        guard rest.hasPrefix(":") else { return nil }
        return trimmed(rest.dropFirst())
    }

    mutating func peerDirective(_ tokens: [Substring], line: Int) {
        let usage = "expected '# peer INDEX host=IP port=PORT'"
        guard let index = Int(tokens[1]), index >= 0 else {
            error(line, .badDirective, "'\(tokens[1])' is not a peer index; \(usage)"); return
        }
        var kv: [String: Substring] = [:]
        for t in tokens.dropFirst(2) {
            guard let eq = t.firstIndex(of: "="), ["host", "port"].contains(String(t[..<eq])) else {
                error(line, .badDirective, "unknown field '\(t)' in '# peer \(index)'; \(usage)"); return
            }
            let k = String(t[..<eq])
            guard kv[k] == nil else { error(line, .badDirective, "'\(k)=' is given twice in '# peer \(index)'"); return }
            kv[k] = t[t.index(after: eq)...]
        }
        guard let host = kv["host"], let portText = kv["port"] else {
            error(line, .badDirective, "'# peer \(index)' needs both host= and port=; \(usage)"); return
        }
        guard let port = UInt16(portText), port > 0 else {
            error(line, .badDirective, "port '\(portText)' of peer \(index) is not in 1...65535"); return
        }
        guard let address = PeerAddress(host: host, port: port) else {
            error(line, .badDirective, "host '\(host)' of peer \(index) is not an IPv4 or IPv6 literal (host names are not resolved)")
            return
        }
        peerLines.append(PeerLine(line: line, index: index, address: address))
    }

    // MARK: Data lines

    /// A peer index token: an integer in 0..<n, or an error naming it.
    mutating func index(_ t: Substring, line: Int, n: Int, countLine: Int) -> Int? {
        guard let v = Int(t) else {
            error(line, .badLine, "'\(t)' is not a peer index (an integer)"); return nil
        }
        guard v >= 0 && v < n else {
            error(line, .unknownPeer, "unknown peer \(v): the count line (line \(countLine)) declares \(n) peers, 0...\(n - 1)")
            return nil
        }
        return v
    }

    /// `u v [weight]` lines. Undirected: `u v` and `v u` are one edge (decentralizepy lists both).
    mutating func readEdges(_ body: [DataLine], n: Int, countLine: Int) -> ([[Topology.Neighbour]], Bool) {
        let isDirected = directed?.value ?? false
        var seen: [Int: (line: Int, weight: Float)] = [:]  // ordered pair u*n+v -> where first given
        var adj = Array(repeating: [Topology.Neighbour](), count: n)
        for d in body where !d.tokens.isEmpty {
            guard d.tokens.count == 2 || d.tokens.count == 3 else {
                error(d.line, .badLine, "expected 'u v' or 'u v weight', found '\(d.tokens.joined(separator: " "))'"); continue
            }
            let u = index(d.tokens[0], line: d.line, n: n, countLine: countLine)
            let v = index(d.tokens[1], line: d.line, n: n, countLine: countLine)
            var w: Float = 1
            if d.tokens.count == 3 {
                guard let x = Float(d.tokens[2]), x.isFinite, x > 0 else {
                    error(d.line, .badWeight, "weight '\(d.tokens[2])' is not a positive finite number"); continue
                }
                w = x
            }
            guard let u, let v else { continue }
            guard u != v else { error(d.line, .selfLoop, "self loop \(u) \(v): a peer is not its own neighbour"); continue }
            if let first = seen[u * n + v] {
                error(d.line, .duplicateEdge, isDirected ? "duplicate arc \(u) -> \(v) (first on line \(first.line))"
                                                         : "duplicate edge \(u) \(v) (first on line \(first.line))")
                continue
            }
            seen[u * n + v] = (d.line, w)
            if isDirected {
                adj[u].append(Topology.Neighbour(peer: v, weight: w))
            } else if let mirror = seen[v * n + u] {
                if mirror.weight != w {
                    error(d.line, .conflictingWeight, "edge \(u) \(v) has weight \(w) but the same edge \(v) \(u) on line \(mirror.line) has weight \(mirror.weight)")
                }
            } else {
                adj[u].append(Topology.Neighbour(peer: v, weight: w))
                adj[v].append(Topology.Neighbour(peer: u, weight: w))
            }
        }
        return (adj, isDirected)
    }

    /// decentralizepy's adjacency layout: the k-th line after the count line lists peer k's neighbours.
    /// Symmetric lists are an undirected graph. Asymmetric lists are read as arcs (each line is that
    /// peer's out-neighbours, which is what decentralizepy's `__insert_adj__` stores) with a warning,
    /// unless `# directed: true` says so; `# directed: false` makes asymmetry an error.
    mutating func readAdjacency(_ body: [DataLine], n: Int, countLine: Int) -> ([[Topology.Neighbour]], Bool) {
        var lists = Array(repeating: [Int](), count: n)
        var lineOf = Array(repeating: 0, count: n)
        var peer = 0
        for d in body {
            guard peer < n else {
                if !d.tokens.isEmpty {
                    error(d.line, .extraLines, "adjacency line for peer \(peer), but the count line (line \(countLine)) declares \(n) peers, 0...\(n - 1)")
                }
                peer += 1
                continue
            }
            lineOf[peer] = d.line
            var mine = Set<Int>()
            for t in d.tokens {
                guard let v = index(t, line: d.line, n: n, countLine: countLine) else { continue }
                guard v != peer else { error(d.line, .selfLoop, "peer \(peer) lists itself as a neighbour"); continue }
                guard mine.insert(v).inserted else { error(d.line, .duplicateEdge, "peer \(peer) lists neighbour \(v) twice"); continue }
                lists[peer].append(v)
            }
            peer += 1
        }
        if peer < n {
            warn(nil, .missingAdjacencyLines, "the adjacency lists have \(peer) lines for \(n) peers; peers \(peer)...\(n - 1) get no neighbours (decentralizepy reads them the same way)")
        }
        let sets = lists.map(Set.init)
        var oneSided = 0
        var example: (Int, Int)?
        for (u, l) in lists.enumerated() {
            for v in l where !sets[v].contains(u) {
                oneSided += 1
                if example == nil { example = (u, v) }
            }
        }
        var isDirected = directed?.value ?? false
        if let (u, v) = example {
            let arcs = lists.reduce(0) { $0 + $1.count }
            let what = "peer \(u) (line \(lineOf[u])) lists \(v), but peer \(v) (line \(lineOf[v] == 0 ? "none" : String(lineOf[v]))) does not list \(u); \(oneSided) of \(arcs) listed neighbours have no reverse"
            if let d = directed, !d.value {
                error(lineOf[u], .asymmetricUndirected, "asymmetric adjacency in a file declared '# directed: false' (line \(d.line)): \(what)")
            } else if directed == nil {
                warn(lineOf[u], .asymmetricAdjacency, "asymmetric adjacency: \(what). Read as a DIRECTED graph (each line is that peer's out-neighbours, as decentralizepy stores it); add '# directed: true' to say so, or list both directions")
                isDirected = true
            }
        }
        let adj = lists.map { $0.map { Topology.Neighbour(peer: $0) } }
        return (adj, isDirected)
    }

    mutating func connectivityWarnings(_ t: Topology) {
        let comps = t.components()
        if comps.count > 1 {
            let sizes = comps.prefix(5).map { String($0.count) }.joined(separator: ", ") + (comps.count > 5 ? ", ..." : "")
            let other = comps.first { !$0.contains(0) }!.first!
            warn(nil, .disconnected, "the graph is disconnected\(t.isDirected ? " even ignoring directions" : ""): \(comps.count) components (sizes \(sizes)); peer \(other) cannot reach peer 0")
        } else if t.isDirected {
            if let y = t.reachable(from: 0).firstIndex(of: false) {
                warn(nil, .notStronglyConnected, "the directed graph is not strongly connected: peer 0 cannot reach peer \(y)")
            } else if let x = t.reachable(from: 0, reversed: true).firstIndex(of: false) {
                warn(nil, .notStronglyConnected, "the directed graph is not strongly connected: peer \(x) cannot reach peer 0")
            }
        }
    }

    func trimmed(_ s: Substring) -> Substring {
        var s = s
        while s.first?.isWhitespace == true { s = s.dropFirst() }
        while s.last?.isWhitespace == true { s = s.dropLast() }
        return s
    }
}
