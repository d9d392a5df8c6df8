import Foundation  // log, for Erdős–Rényi's geometric skips
import RecommenderModel

/// The graph families `gossiprec topology generate` builds.
public enum TopologyKind: String, Sendable, CaseIterable {
    case ring
    case regular
    case erdosRenyi = "erdos-renyi"
    case smallWorld = "small-world"
    case barabasiAlbert = "barabasi-albert"
    case full
}

/// A generator's parameters. Only those of the chosen kind are used.
public struct TopologyRecipe: Hashable, Sendable {
    public var kind: TopologyKind
    public var peers: Int
    /// `regular`: every peer's degree; `small-world`: the ring lattice's degree (even).
    public var degree: Int?
    /// `erdos-renyi`: edge probability.
    public var p: Double?
    /// `small-world`: rewiring probability.
    public var beta: Double?
    /// `barabasi-albert`: edges each new peer brings.
    public var m: Int?
    public var seed: UInt64

    public init(kind: TopologyKind, peers: Int, degree: Int? = nil, p: Double? = nil, beta: Double? = nil,
                m: Int? = nil, seed: UInt64 = 1) {
        self.kind = kind; self.peers = peers; self.degree = degree; self.p = p; self.beta = beta; self.m = m; self.seed = seed
    }
}

/// A generator parameter out of range, naming the parameter (`degree`, `p`, `beta`, `m`, `peers`).
public struct TopologyGeneratorError: Error, Hashable, Sendable, CustomStringConvertible {
    public var parameter: String
    public var value: String
    public var expected: String
    public var description: String { "\(parameter) = \(value): expected \(expected)" }
}

/// Seeded generators. Same parameters and seed, same graph, bit for bit: every random choice comes from
/// one `SplitMix64` through `next(below:)` / `nextUnitDouble()` and an explicit Fisher–Yates shuffle (not
/// the standard library's `shuffle`, whose algorithm is not promised to stay the same).
extension Topology {
    /// Builds the topology a recipe describes.
    public static func generate(_ r: TopologyRecipe) throws(TopologyGeneratorError) -> Topology {
        func need<T>(_ v: T?, _ name: String, _ expected: String) throws(TopologyGeneratorError) -> T {
            guard let v else { throw TopologyGeneratorError(parameter: name, value: "missing", expected: expected) }
            return v
        }
        switch r.kind {
        case .ring: return try ring(peers: r.peers)
        case .full: return try full(peers: r.peers)
        case .regular:
            return try regular(peers: r.peers, degree: need(r.degree, "degree", "an integer"), seed: r.seed)
        case .erdosRenyi:
            return try erdosRenyi(peers: r.peers, p: need(r.p, "p", "a probability"), seed: r.seed)
        case .smallWorld:
            return try smallWorld(peers: r.peers, degree: need(r.degree, "degree", "an even integer"),
                                  beta: need(r.beta, "beta", "a probability"), seed: r.seed)
        case .barabasiAlbert:
            return try barabasiAlbert(peers: r.peers, m: need(r.m, "m", "an integer"), seed: r.seed)
        }
    }

    /// Peer i joined to i+1 (mod n). One edge for 2 peers, none for 1.
    public static func ring(peers n: Int) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        var b = Builder(n)
        if n == 2 { b.add(0, 1) } else if n >= 3 { for i in 0..<n { b.add(i, (i + 1) % n) } }
        return b.topology
    }

    /// Every pair joined: n(n-1)/2 edges, diameter 1.
    public static func full(peers n: Int) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        guard n <= 20_000 else { throw TopologyGeneratorError(parameter: "peers", value: String(n), expected: "at most 20000 for a full graph") }
        var b = Builder(n)
        for u in 0..<n { for v in (u + 1)..<max(u + 1, n) { b.add(u, v) } }
        return b.topology
    }

    /// A random k-regular graph: every peer has exactly `degree` neighbours (needs peers x degree even and
    /// degree < peers).
    ///
    /// Method: the pairing (configuration) model done incrementally, as Steger and Wormald propose
    /// ("Generating random regular graphs quickly", Combinatorics, Probability and Computing 8, 1999) and
    /// networkx's `random_regular_graph` does (the generator decentralizepy's `graphs/Regular.py` calls):
    /// shuffle the n·k half-edges, pair neighbours in the shuffled list, keep every pair that is neither a
    /// loop nor a repeat, and reshuffle only the leftovers; restart when no valid pair can be formed among
    /// them. Plain rejection of whole pairings would almost never succeed at k = 8 (acceptance about
    /// exp(-(k²-1)/4) ≈ 1e-7). For degree >= 3 a result that is not connected is also rejected (random
    /// regular graphs with k >= 3 are connected with high probability, so this rarely costs a retry).
    /// After 50 failed attempts it falls back to a random circulant: a random permutation π of the peers,
    /// π(i) joined to π(i+1), ..., π(i+⌊k/2⌋) (and to π(i+n/2) when k is odd), which is k-regular and
    /// connected but far from uniform. Degree 2 gives a union of random cycles, usually disconnected; use
    /// `ring` for one cycle.
    public static func regular(peers n: Int, degree k: Int, seed: UInt64) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        guard k >= 0 && k < n else { throw TopologyGeneratorError(parameter: "degree", value: String(k), expected: "an integer in 0...\(n - 1) (below the peer count)") }
        guard (n * k) % 2 == 0 else { throw TopologyGeneratorError(parameter: "degree", value: String(k), expected: "an even degree, since peers x degree must be even (\(n) peers)") }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<50 {
            if let b = tryPairing(n: n, k: k, rng: &rng) {
                let t = b.topology
                if k < 3 || t.isConnected { return t }
            }
        }
        return randomCirculant(n: n, k: k, rng: &rng)
    }

    static func tryPairing(n: Int, k: Int, rng: inout SplitMix64) -> Builder? {
        var b = Builder(n)
        var stubs: [Int] = []
        stubs.reserveCapacity(n * k)
        for v in 0..<n { for _ in 0..<k { stubs.append(v) } }
        var rounds = 0
        while !stubs.isEmpty {
            rounds += 1
            if rounds > 10_000 { return nil }
            shuffle(&stubs, &rng)
            var left: [Int] = []
            var i = 0
            while i + 1 < stubs.count {
                let (u, v) = (stubs[i], stubs[i + 1])
                if u != v && !b.has(u, v) { b.add(u, v) } else { left.append(u); left.append(v) }
                i += 2
            }
            if left.isEmpty { break }
            // Is any valid pair left at all? If not, no reshuffle can finish this attempt.
            let distinct = Array(Set(left)).sorted()
            var possible = false
            search: for a in 0..<distinct.count {
                for c in (a + 1)..<max(a + 1, distinct.count) where !b.has(distinct[a], distinct[c]) { possible = true; break search }
            }
            if !possible { return nil }
            stubs = left
        }
        return b
    }

    static func randomCirculant(n: Int, k: Int, rng: inout SplitMix64) -> Topology {
        var perm = Array(0..<n)
        shuffle(&perm, &rng)
        var b = Builder(n)
        for i in 0..<n {
            for j in stride(from: 1, through: k / 2, by: 1) { b.add(perm[i], perm[(i + j) % n]) }
            if k % 2 == 1 && i < n / 2 { b.add(perm[i], perm[i + n / 2]) }
        }
        return b.topology
    }

    /// Erdős–Rényi G(n, p): each of the n(n-1)/2 pairs is an edge independently with probability p
    /// (Gilbert's model; Erdős and Rényi, "On random graphs I", 1959). Drawn in O(n + edges) with
    /// geometric skips over the pair sequence (Batagelj and Brandes, "Efficient generation of large random
    /// networks", Phys. Rev. E 71, 2005). Connected with high probability once p > ln(n)/n; not forced.
    public static func erdosRenyi(peers n: Int, p: Double, seed: UInt64) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        guard p.isFinite && p >= 0 && p <= 1 else { throw TopologyGeneratorError(parameter: "p", value: "\(p)", expected: "a probability in 0...1") }
        if p == 1 { return try full(peers: n) }
        var b = Builder(n)
        guard p > 0 else { return b.topology }
        var rng = SplitMix64(seed: seed)
        let logQ = log(1 - p)
        var v = 1, w = -1
        while v < n {
            let skip = (log(1 - rng.nextUnitDouble()) / logQ).rounded(.down)
            w += 1 + Int(min(skip, Double(n) * Double(n)))
            while w >= v && v < n { w -= v; v += 1 }
            if v < n { b.add(v, w) }
        }
        return b.topology
    }

    /// Watts–Strogatz small world (Watts and Strogatz, "Collective dynamics of 'small-world' networks",
    /// Nature 393, 1998): a ring lattice where each peer is joined to its `degree`/2 nearest peers on each
    /// side, then each lattice edge (u, u+j), for j = 1...degree/2 and u = 0...n-1 in that order (as
    /// networkx's `watts_strogatz_graph`), is rewired with probability `beta` to (u, w) with w uniform
    /// among the peers that are neither u nor already u's neighbours. The edge count stays n·degree/2;
    /// beta 0 is the lattice, beta 1 close to a random graph. Connectivity is likely for small beta, not
    /// forced (`describe` says).
    public static func smallWorld(peers n: Int, degree k: Int, beta: Double, seed: UInt64) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        guard k >= 2 && k % 2 == 0 && k < n else { throw TopologyGeneratorError(parameter: "degree", value: String(k), expected: "an even integer in 2...\(n - 1)") }
        guard beta.isFinite && beta >= 0 && beta <= 1 else { throw TopologyGeneratorError(parameter: "beta", value: "\(beta)", expected: "a probability in 0...1") }
        var rng = SplitMix64(seed: seed)
        var b = Builder(n)
        for u in 0..<n { for j in 1...(k / 2) { b.add(u, (u + j) % n) } }
        for j in 1...(k / 2) {
            for u in 0..<n {
                let v = (u + j) % n
                guard rng.nextUnitDouble() < beta, b.degree(u) < n - 1, b.has(u, v) else { continue }
                var w = rng.next(below: n)
                while w == u || b.has(u, w) { w = rng.next(below: n) }
                b.remove(u, v)
                b.add(u, w)
            }
        }
        return b.topology
    }

    /// Barabási–Albert preferential attachment (Barabási and Albert, "Emergence of scaling in random
    /// networks", Science 286, 1999): start from a complete graph on m+1 peers, then each further peer
    /// joins m distinct existing peers chosen with probability proportional to their degree (sampled from
    /// the list of all edge endpoints). Edges: m(m+1)/2 + (n-m-1)·m; connected; every peer has degree
    /// >= m (networkx seeds with a star instead, whose leaves may keep degree 1).
    public static func barabasiAlbert(peers n: Int, m: Int, seed: UInt64) throws(TopologyGeneratorError) -> Topology {
        try checkPeers(n)
        guard m >= 1 && m < n else { throw TopologyGeneratorError(parameter: "m", value: String(m), expected: "an integer in 1...\(n - 1) (below the peer count)") }
        var rng = SplitMix64(seed: seed)
        var b = Builder(n)
        var endpoints: [Int] = []
        for u in 0...m { for v in (u + 1)..<(m + 1) { b.add(u, v); endpoints.append(u); endpoints.append(v) } }
        for v in (m + 1)..<max(m + 1, n) {
            var targets: [Int] = []
            while targets.count < m {
                let t = endpoints[rng.next(below: endpoints.count)]
                if !targets.contains(t) { targets.append(t) }
            }
            for t in targets { b.add(v, t); endpoints.append(v); endpoints.append(t) }
        }
        return b.topology
    }

    static func checkPeers(_ n: Int) throws(TopologyGeneratorError) {
        guard n >= 1 && n <= 1_000_000 else { throw TopologyGeneratorError(parameter: "peers", value: String(n), expected: "an integer in 1...1000000") }
    }

    /// Fisher–Yates with `next(below:)`.
    static func shuffle(_ a: inout [Int], _ rng: inout SplitMix64) {
        var i = a.count - 1
        while i > 0 {
            a.swapAt(i, rng.next(below: i + 1))
            i -= 1
        }
    }

    /// An undirected, unweighted graph under construction: neighbour sets.
    struct Builder {
        var sets: [Set<Int>]
        init(_ n: Int) { sets = Array(repeating: [], count: n) }
        func has(_ u: Int, _ v: Int) -> Bool { sets[u].contains(v) }
        func degree(_ u: Int) -> Int { sets[u].count }
        mutating func add(_ u: Int, _ v: Int) { sets[u].insert(v); sets[v].insert(u) }
        mutating func remove(_ u: Int, _ v: Int) { sets[u].remove(v); sets[v].remove(u) }
        var topology: Topology {
            Topology(peerCount: sets.count, directed: false,
                     adjacency: sets.map { $0.sorted().map { Topology.Neighbour(peer: $0) } }, addresses: [])
        }
    }
}
