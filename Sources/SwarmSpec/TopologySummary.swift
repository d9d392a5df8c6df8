/// Graph measures of a topology: degrees, components, reachability and hop distances.
extension Topology {
    /// Connected components of the underlying undirected graph (directions ignored: weak components),
    /// each sorted by peer index, largest first (ties: smallest first member first).
    public func components() -> [[Int]] {
        var undirected = adjacency.map { $0.map(\.peer) }
        if isDirected {
            for (u, ns) in adjacency.enumerated() { for n in ns { undirected[n.peer].append(u) } }
        }
        var comp = Array(repeating: -1, count: peerCount)
        var out: [[Int]] = []
        for s in 0..<peerCount where comp[s] < 0 {
            var members = [s]
            comp[s] = out.count
            var i = 0
            while i < members.count {
                for v in undirected[members[i]] where comp[v] < 0 { comp[v] = out.count; members.append(v) }
                i += 1
            }
            out.append(members.sorted())
        }
        return out.sorted { $0.count != $1.count ? $0.count > $1.count : $0[0] < $1[0] }
    }

    /// True when every peer can reach every other, ignoring directions (weakly connected).
    public var isConnected: Bool { components().count == 1 }

    /// True when every peer can reach every other following arc directions (same as `isConnected` when
    /// undirected).
    public var isStronglyConnected: Bool {
        !reachable(from: 0).contains(false) && (!isDirected || !reachable(from: 0, reversed: true).contains(false))
    }

    /// Which peers `source` reaches along arcs (or, `reversed`, which peers reach `source`).
    public func reachable(from source: Int, reversed: Bool = false) -> [Bool] {
        let g = reversed && isDirected ? CompactGraph(self, reversed: true) : CompactGraph(self)
        return g.hops(from: source).map { $0 >= 0 }
    }

    /// Hop distances from `source` along arcs; -1 for peers it cannot reach.
    public func hopDistances(from source: Int) -> [Int] {
        CompactGraph(self).hops(from: source).map(Int.init)
    }

    /// Out-degrees (the degrees, when undirected).
    public var degrees: [Int] { adjacency.map(\.count) }

    /// In-degrees (equal to `degrees` when undirected).
    public var inDegrees: [Int] {
        var d = Array(repeating: 0, count: peerCount)
        for ns in adjacency { for n in ns { d[n.peer] += 1 } }
        return d
    }

    /// Everything `gossiprec topology describe` prints. Hop distances come from a BFS from every peer
    /// (O(peers x edges)); they are skipped (nil) above `distanceLimit` peers.
    public func summary(distanceLimit: Int = 10_000) -> TopologySummary {
        let comps = components()
        var s = TopologySummary(
            peerCount: peerCount, edgeCount: edgeCount, isDirected: isDirected, isWeighted: isWeighted,
            addressCount: addresses.filter { $0 != nil }.count,
            degree: DegreeStatistics(degrees), inDegree: isDirected ? DegreeStatistics(inDegrees) : nil,
            componentSizes: comps.map(\.count), isStronglyConnected: comps.count == 1 && isStronglyConnected)
        guard peerCount <= distanceLimit else { return s }
        let g = CompactGraph(self)
        var longest = 0, total = 0, pairs = 0
        var allReached = true
        for src in 0..<peerCount {
            for d in g.hops(from: src) {
                if d < 0 { allReached = false } else if d > 0 { longest = max(longest, Int(d)); total += Int(d); pairs += 1 }
            }
        }
        s.longestShortestPath = longest
        s.diameter = allReached ? longest : nil
        s.meanDistance = pairs > 0 ? Double(total) / Double(pairs) : 0
        s.distancesComputed = true
        return s
    }
}

/// Min, mean, max and the histogram of a degree sequence.
public struct DegreeStatistics: Hashable, Sendable {
    public var min: Int
    public var max: Int
    public var mean: Double
    /// (degree, number of peers with it), ascending by degree, only degrees that occur.
    public var histogram: [Bin]

    public struct Bin: Hashable, Sendable {
        public var degree: Int
        public var peers: Int
    }

    public init(_ degrees: [Int]) {
        min = degrees.min() ?? 0
        max = degrees.max() ?? 0
        mean = degrees.isEmpty ? 0 : Double(degrees.reduce(0, +)) / Double(degrees.count)
        var counts: [Int: Int] = [:]
        for d in degrees { counts[d, default: 0] += 1 }
        histogram = counts.sorted { $0.key < $1.key }.map { Bin(degree: $0.key, peers: $0.value) }
    }
}

/// What `Topology.summary()` measures.
public struct TopologySummary: Hashable, Sendable, CustomStringConvertible {
    public var peerCount: Int
    public var edgeCount: Int
    public var isDirected: Bool
    public var isWeighted: Bool
    public var addressCount: Int
    /// Out-degree statistics (degree, when undirected).
    public var degree: DegreeStatistics
    /// In-degree statistics, directed graphs only.
    public var inDegree: DegreeStatistics?
    /// Sizes of the (weakly) connected components, largest first.
    public var componentSizes: [Int]
    /// Every peer reaches every other along arcs.
    public var isStronglyConnected: Bool
    /// The largest hop distance over all ordered pairs; nil when some pair is unreachable (the diameter
    /// is infinite) or distances were not computed.
    public var diameter: Int?
    /// The largest finite hop distance (the diameter of the worst component when disconnected).
    public var longestShortestPath: Int?
    /// Mean hop distance over ordered pairs that reach each other.
    public var meanDistance: Double?
    public var distancesComputed = false

    public var isConnected: Bool { componentSizes.count == 1 }

    public var description: String {
        var lines: [String] = []
        lines.append("peers: \(peerCount), \(isDirected ? "arcs" : "edges"): \(edgeCount) (\(isDirected ? "directed" : "undirected"), \(isWeighted ? "weighted" : "unweighted"))")
        func stats(_ name: String, _ d: DegreeStatistics) {
            lines.append("\(name): min \(d.min), mean \(fixed(d.mean, 2)), max \(d.max)")
            lines.append("\(name) histogram:")
            lines += TopologySummary.histogramLines(d.histogram)
        }
        stats(isDirected ? "out-degree" : "degree", degree)
        if let inDegree { stats("in-degree", inDegree) }
        let shown = componentSizes.prefix(10).map(String.init).joined(separator: ", ") + (componentSizes.count > 10 ? ", ..." : "")
        lines.append("components: \(componentSizes.count)" + (isConnected ? " (connected)" : " (DISCONNECTED; sizes \(shown))")
                     + (isDirected && isConnected ? (isStronglyConnected ? ", strongly connected" : ", NOT strongly connected") : ""))
        if distancesComputed, let longest = longestShortestPath {
            if let diameter {
                lines.append("diameter: \(diameter) hops; mean distance \(fixed(meanDistance ?? 0, 3)) hops")
            } else {
                lines.append("diameter: infinite (some peer cannot reach another); longest finite shortest path \(longest) hops; mean distance between peers that reach each other \(fixed(meanDistance ?? 0, 3)) hops")
            }
        } else {
            lines.append("diameter: not computed (more peers than the distance limit)")
        }
        lines.append("addresses: " + (addressCount == 0 ? "none" : "\(addressCount) of \(peerCount) peers"))
        return lines.joined(separator: "\n")
    }

    /// One line per degree when there are at most 24 distinct degrees, else 16 equal-width ranges; bars
    /// scaled to 40 characters.
    static func histogramLines(_ bins: [DegreeStatistics.Bin]) -> [String] {
        guard let lo = bins.first?.degree, let hi = bins.last?.degree else { return [] }
        var rows: [(String, Int)]
        if bins.count <= 24 {
            rows = bins.map { (String($0.degree), $0.peers) }
        } else {
            let width = (hi - lo) / 16 + 1
            rows = []
            var b = lo
            while b <= hi {
                let n = bins.filter { $0.degree >= b && $0.degree < b + width }.reduce(0) { $0 + $1.peers }
                rows.append(("\(b)-\(b + width - 1)", n))
                b += width
            }
        }
        let top = max(1, rows.map(\.1).max() ?? 1)
        let labelWidth = rows.map(\.0.count).max() ?? 1
        return rows.map { label, n in
            let bar = String(repeating: "#", count: n == 0 ? 0 : max(1, n * 40 / top))
            return "  " + String(repeating: " ", count: labelWidth - label.count) + label
                + " " + String(repeating: " ", count: max(0, 7 - String(n).count)) + "\(n) " + bar
        }
    }
}

/// "3.14" with `digits` decimals, without Foundation.
func fixed(_ x: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let r = (x * scale).rounded()
    let sign = r < 0 ? "-" : ""
    let a = Int(abs(r))
    let ip = a / Int(scale), fp = a % Int(scale)
    guard digits > 0 else { return sign + String(ip) }
    let f = String(fp)
    return sign + "\(ip)." + String(repeating: "0", count: digits - f.count) + f
}

/// Compressed sparse rows (offsets into one target array) for fast BFS.
struct CompactGraph {
    var offsets: [Int32]
    var targets: [Int32]

    init(_ t: Topology, reversed: Bool = false) {
        var lists = t.adjacency.map { $0.map { Int32($0.peer) } }
        if reversed {
            lists = Array(repeating: [], count: t.peerCount)
            for (u, ns) in t.adjacency.enumerated() { for n in ns { lists[n.peer].append(Int32(u)) } }
        }
        offsets = [0]
        offsets.reserveCapacity(t.peerCount + 1)
        targets = []
        for l in lists { targets += l; offsets.append(Int32(targets.count)) }
    }

    /// BFS hop counts from `source`; -1 where unreachable.
    func hops(from source: Int) -> [Int32] {
        var dist = Array(repeating: Int32(-1), count: offsets.count - 1)
        var queue = [Int32(source)]
        queue.reserveCapacity(dist.count)
        dist[source] = 0
        var head = 0
        while head < queue.count {
            let u = Int(queue[head]); head += 1
            let du = dist[u] + 1
            for i in Int(offsets[u])..<Int(offsets[u + 1]) {
                let v = Int(targets[i])
                if dist[v] < 0 { dist[v] = du; queue.append(Int32(v)) }
            }
        }
        return dist
    }
}
