import GossipProtocol

/// Who may talk to whom: a fixed communication graph over a swarm's peers, read from and written to a
/// plain-text file, and generated (see `Topology+Generators`) or described (`TopologySummary`).
///
/// ## The file format (a superset of decentralizepy's `.edges` and `.adj`)
///
/// decentralizepy (sacs-epfl/decentralizepy, `src/decentralizepy/graphs/Graph.py`,
/// `Graph.read_graph_from_file`) reads a graph as: first line the number of processes
/// (`int(inf.readline().strip())`), then, for `type="edges"`, one `x y` pair per line, 0-indexed, each
/// inserted in both directions (`__insert_edge__` adds `y` to `x`'s set and `x` to `y`'s set), so the
/// graph is undirected and listing a pair once or in both directions means the same thing. Their own
/// files list every edge both ways because `write_graph_to_file` writes each node's full set
/// (`eval/6_star.edges`: `6`, `0 1` ... `0 5`, `1 0` ... `5 0`; `eval/4_node_fullyConnected.edges`).
/// For `type="adjacency"` (`eval/graph.adj`: `6`, `1`, `0 3 4`, `3 5`, `1 2 5`, `1`, `2 3`), line i+1
/// (after the count line) lists peer i's neighbours, and `__insert_adj__` adds them to peer i's set only:
/// an asymmetric `.adj` silently becomes a one-sided (directed) relation there. A blank line is a peer
/// with no neighbours; missing trailing lines are peers with no neighbours.
///
/// Every decentralizepy file reads here verbatim, with the same meaning. On top of it:
/// - `#` starts a comment, on its own line or after data. Blank lines are ignored in `.edges` files
///   (in `.adj` files a blank line after the count line is a peer without neighbours, as there).
/// - Directives are whole-line comments whose first word is a keyword:
///   `# directed: true|false` (default false: each `u v` line is an undirected edge; true: an arc u -> v);
///   `# format: edges|adjacency` (default: `adjacency` for a `.adj` file name, else `edges`);
///   `# peer I host=IP port=P` (where peer I listens: IPv4 or IPv6 literal, names are not resolved).
///   A comment is a directive only when it starts with `directed:`, `format:`, or `peer` followed by a
///   number; any other comment (`# peers on rack 2`) is prose.
/// - An optional third column on an edge line is a weight: a positive finite number (default 1).
///   In an undirected file `u v` and `v u` are the same edge; listing both is fine (decentralizepy does),
///   but their weights must agree. Listing the same `u v` line twice is a duplicate-edge error.
///
/// Errors carry line numbers (bad count line, unknown peer index, self loop, duplicate edge, bad weight,
/// bad line, bad directive, duplicate address); warnings do not stop a read (disconnected graph,
/// asymmetric `.adj`, missing `.adj` lines, addresses for only some peers).
///
/// `serialized()` writes the count line, then directives (only those that differ from the defaults), then
/// one line per edge (undirected: `u v` with u < v once; weights only when some weight is not 1). An
/// undirected, unweighted topology without addresses therefore serializes to a file decentralizepy itself
/// reads.
public struct Topology: Hashable, Sendable {
    /// One neighbour of a peer and the weight of the edge to it.
    public struct Neighbour: Hashable, Sendable {
        public var peer: Int
        public var weight: Float
        public init(peer: Int, weight: Float = 1) { self.peer = peer; self.weight = weight }
    }

    /// One edge (undirected) or arc (directed) `from -> to`.
    public struct Edge: Hashable, Sendable {
        public var from: Int
        public var to: Int
        public var weight: Float
        public init(_ from: Int, _ to: Int, weight: Float = 1) { self.from = from; self.to = to; self.weight = weight }
    }

    /// Number of peers; peers are the indices `0..<peerCount`.
    public let peerCount: Int
    /// True when an edge `u v` is an arc u -> v only; false when it joins both ways.
    public let isDirected: Bool
    /// Out-neighbours of every peer, sorted by index (symmetric when undirected).
    public let adjacency: [[Neighbour]]
    /// Where each peer listens, when the file says (`# peer I host=... port=...`); nil elsewhere.
    public let addresses: [PeerAddress?]

    /// Builds a topology from parts checked by the caller. Internal: the public entry points validate.
    init(peerCount: Int, directed: Bool, adjacency: [[Neighbour]], addresses: [PeerAddress?]) {
        self.peerCount = peerCount
        self.isDirected = directed
        self.adjacency = adjacency.map { $0.sorted { $0.peer < $1.peer } }
        self.addresses = addresses.isEmpty ? Array(repeating: nil, count: peerCount) : addresses
    }

    /// Builds and validates a topology from an edge list: indices in range, no self loops, no duplicate
    /// edge (for undirected graphs `u v` and `v u` are the same edge and must not both be given), weights
    /// positive and finite, no two peers at one address. Throws every problem found.
    public init(peerCount: Int, directed: Bool = false, edges: [Edge],
                addresses: [Int: PeerAddress] = [:]) throws(TopologyError) {
        var issues: [TopologyDiagnostic] = []
        func fail(_ k: TopologyDiagnostic.Kind, _ m: String) {
            issues.append(TopologyDiagnostic(.error, k, file: "<edges>", line: nil, m))
        }
        guard peerCount >= 1 else {
            fail(.countLine, "a topology needs at least 1 peer, got \(peerCount)")
            throw TopologyError(diagnostics: issues)
        }
        var adj = Array(repeating: [Neighbour](), count: peerCount)
        var seen = Set<Int>()
        for e in edges {
            guard (0..<peerCount).contains(e.from), (0..<peerCount).contains(e.to) else {
                fail(.unknownPeer, "edge \(e.from) \(e.to) names a peer outside 0...\(peerCount - 1)"); continue
            }
            guard e.from != e.to else { fail(.selfLoop, "self loop \(e.from) \(e.to)"); continue }
            guard e.weight.isFinite, e.weight > 0 else { fail(.badWeight, "edge \(e.from) \(e.to): weight \(e.weight) is not positive and finite"); continue }
            let (a, b) = directed ? (e.from, e.to) : (min(e.from, e.to), max(e.from, e.to))
            guard seen.insert(a * peerCount + b).inserted else { fail(.duplicateEdge, "duplicate edge \(e.from) \(e.to)"); continue }
            adj[e.from].append(Neighbour(peer: e.to, weight: e.weight))
            if !directed { adj[e.to].append(Neighbour(peer: e.from, weight: e.weight)) }
        }
        var addrs = Array<PeerAddress?>(repeating: nil, count: peerCount)
        var owner: [PeerAddress: Int] = [:]
        for (i, a) in addresses.sorted(by: { $0.key < $1.key }) {
            guard (0..<peerCount).contains(i) else { fail(.unknownPeer, "address for unknown peer \(i)"); continue }
            if let o = owner[a] { fail(.duplicateAddress, "peers \(o) and \(i) both listen at \(a)"); continue }
            owner[a] = i
            addrs[i] = a
        }
        if !issues.isEmpty { throw TopologyError(diagnostics: issues) }
        self.init(peerCount: peerCount, directed: directed, adjacency: adj, addresses: addrs)
    }

    /// Peer `peer`'s (out-)neighbours with edge weights, sorted by index.
    public func neighbours(of peer: Int) -> [(peer: Int, weight: Float)] {
        adjacency[peer].map { ($0.peer, $0.weight) }
    }

    /// Peer `peer`'s (out-)neighbours' indices, sorted.
    public func neighbourIndices(of peer: Int) -> [Int] { adjacency[peer].map(\.peer) }

    /// Every edge once: undirected edges as `u v` with u < v, arcs as given; sorted.
    public var edges: [Edge] {
        var out: [Edge] = []
        for (u, ns) in adjacency.enumerated() {
            for n in ns where isDirected || n.peer > u { out.append(Edge(u, n.peer, weight: n.weight)) }
        }
        return out
    }

    /// Number of edges (undirected, each counted once) or arcs (directed).
    public var edgeCount: Int {
        let arcs = adjacency.reduce(0) { $0 + $1.count }
        return isDirected ? arcs : arcs / 2
    }

    /// True when some edge weight is not 1.
    public var isWeighted: Bool { adjacency.contains { $0.contains { $0.weight != 1 } } }

    /// True when an edge or arc `u -> v` exists.
    public func hasEdge(_ u: Int, _ v: Int) -> Bool { adjacency[u].contains { $0.peer == v } }

    /// A copy with peer addresses set (index -> address); throws on unknown peers or shared addresses.
    public func withAddresses(_ addresses: [Int: PeerAddress]) throws(TopologyError) -> Topology {
        try Topology(peerCount: peerCount, directed: isDirected, edges: edges, addresses: addresses)
    }

    // MARK: - Writing

    /// The file text (see the type's documentation): count line, non-default directives, `comments` as
    /// `# ` lines, then edges. Parsing it gives back an equal topology.
    public func serialized(comments: [String] = []) -> String {
        var s = "\(peerCount)\n"
        if isDirected { s += "# directed: true\n" }
        for c in comments {
            for line in c.split(separator: "\n", omittingEmptySubsequences: false) { s += "# \(line)\n" }
        }
        for (i, a) in addresses.enumerated() {
            if let a { s += "# peer \(i) host=\(a.host) port=\(a.port)\n" }
        }
        let weighted = isWeighted
        for e in edges {
            s += weighted ? "\(e.from) \(e.to) \(e.weight)\n" : "\(e.from) \(e.to)\n"
        }
        return s
    }
}

// MARK: - Diagnostics

/// One problem found in a topology file, compiler style: `file:line: error: message`.
public struct TopologyDiagnostic: Hashable, Sendable, CustomStringConvertible {
    public enum Severity: String, Sendable { case error, warning }
    /// What went wrong; errors first, then warnings.
    public enum Kind: String, Sendable {
        // errors
        case countLine, badLine, unknownPeer, selfLoop, duplicateEdge, conflictingWeight, badWeight,
             badDirective, duplicateAddress, extraLines, asymmetricUndirected
        // warnings
        case disconnected, notStronglyConnected, asymmetricAdjacency, missingAdjacencyLines, partialAddresses
    }

    public var severity: Severity
    public var kind: Kind
    public var file: String
    /// 1-based line number, when the problem sits on one line.
    public var line: Int?
    public var message: String

    public init(_ severity: Severity, _ kind: Kind, file: String, line: Int?, _ message: String) {
        self.severity = severity; self.kind = kind; self.file = file; self.line = line; self.message = message
    }

    public var description: String {
        "\(file)" + (line.map { ":\($0)" } ?? "") + ": \(severity.rawValue): \(message)"
    }
}

/// A topology could not be read or built; `diagnostics` lists every error found (in line order).
public struct TopologyError: Error, Sendable, CustomStringConvertible {
    public var diagnostics: [TopologyDiagnostic]
    public init(diagnostics: [TopologyDiagnostic]) { self.diagnostics = diagnostics }
    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// A successfully read topology and what is worth saying about it.
public struct ParsedTopology: Sendable {
    public var topology: Topology
    public var warnings: [TopologyDiagnostic]
}

/// The two line layouts decentralizepy reads (`Graph.read_graph_from_file(file, type)`).
public enum TopologyFileFormat: String, Sendable, CaseIterable {
    /// `u v [weight]` per line.
    case edges
    /// Line i+1 lists peer i's neighbours.
    case adjacency

    /// `.adj` file names are adjacency lists; everything else is an edge list.
    public static func guess(file: String) -> TopologyFileFormat {
        file.lowercased().hasSuffix(".adj") ? .adjacency : .edges
    }
}
