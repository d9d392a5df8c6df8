import Foundation
import RecommenderModel
import Testing
import GossipProtocol
@testable import SwarmSpec

/// Generators (degrees, edge counts, connectivity, seeded determinism), the summary on graphs whose
/// measures are known, and the files shipped in Topologies/.
@Suite struct TopologyGeneratorTests {
    /// No self loops, no duplicate edges, symmetric adjacency: rebuilding through the validating
    /// initializer from the edge list gives the same value.
    func wellFormed(_ t: Topology) throws {
        #expect(try Topology(peerCount: t.peerCount, directed: t.isDirected, edges: t.edges) == t)
        for u in 0..<t.peerCount { for v in t.neighbourIndices(of: u) { #expect(t.hasEdge(v, u)) } }
    }

    @Test(arguments: [1, 2, 3, 10, 11])
    func ringHasDegreeTwoNEdgesAndDiameterHalfN(_ n: Int) throws {
        let t = try Topology.ring(peers: n)
        try wellFormed(t)
        #expect(t.edgeCount == (n >= 3 ? n : n - 1))
        if n >= 3 { #expect(t.degrees.allSatisfy { $0 == 2 }) }
        let s = t.summary()
        #expect(s.isConnected)
        #expect(s.diameter == n / 2)
    }

    @Test func fullGraphHasAllPairsAndDiameterOne() throws {
        let t = try Topology.full(peers: 12)
        try wellFormed(t)
        #expect(t.edgeCount == 12 * 11 / 2)
        let s = t.summary()
        #expect(s.diameter == 1 && s.meanDistance == 1)
        #expect(s.degree.min == 11 && s.degree.max == 11 && s.degree.histogram == [.init(degree: 11, peers: 12)])
    }

    @Test(arguments: [(10, 3), (20, 4), (101, 8), (943, 8), (9, 8), (50, 0)])
    func regularGraphsAreRegularConnectedAndSeeded(_ n: Int, _ k: Int) throws {
        let t = try Topology.regular(peers: n, degree: k, seed: 7)
        try wellFormed(t)
        #expect(t.degrees.allSatisfy { $0 == k })
        #expect(t.edgeCount == n * k / 2)
        if k >= 3 { #expect(t.isConnected) }
        #expect(try Topology.regular(peers: n, degree: k, seed: 7) == t, "same seed, same graph")
        if k >= 3 && k < n - 1 { #expect(try Topology.regular(peers: n, degree: k, seed: 8) != t, "another seed, another graph") }
    }

    @Test func regularRejectsImpossibleDegrees() {
        #expect(throws: TopologyGeneratorError.self) { try Topology.regular(peers: 9, degree: 3, seed: 1) }
        #expect(throws: TopologyGeneratorError.self) { try Topology.regular(peers: 9, degree: 9, seed: 1) }
        do { _ = try Topology.regular(peers: 9, degree: 3, seed: 1) } catch { #expect(error.parameter == "degree") }
    }

    @Test(arguments: [(12, 3), (12, 4), (7, 6), (30, 5)])
    func randomCirculantFallbackIsRegularAndConnected(_ n: Int, _ k: Int) throws {
        var rng = SplitMix64(seed: 3)
        let t = Topology.randomCirculant(n: n, k: k, rng: &rng)
        try wellFormed(t)
        #expect(t.degrees.allSatisfy { $0 == k })
        #expect(t.isConnected)
    }

    @Test func erdosRenyiEdgeCountMatchesPAndSeedsReplay() throws {
        #expect(try Topology.erdosRenyi(peers: 50, p: 0, seed: 1).edgeCount == 0)
        #expect(try Topology.erdosRenyi(peers: 50, p: 1, seed: 1) == Topology.full(peers: 50))
        let n = 400, p = 0.05
        let pairs = Double(n * (n - 1) / 2)
        let sd = (pairs * p * (1 - p)).squareRoot()
        var counts: [Int] = []
        for seed in UInt64(1)...5 {
            let t = try Topology.erdosRenyi(peers: n, p: p, seed: seed)
            try wellFormed(t)
            #expect(abs(Double(t.edgeCount) - pairs * p) < 5 * sd, "seed \(seed): \(t.edgeCount) edges, expected about \(pairs * p)")
            counts.append(t.edgeCount)
            #expect(try Topology.erdosRenyi(peers: n, p: p, seed: seed) == t)
        }
        #expect(Set(counts).count > 1, "different seeds, different graphs")
        // Every pair is reachable by the skip sequence: with p = 0.5 on 6 peers some seed hits the last pair.
        #expect((UInt64(1)...64).contains { (try? Topology.erdosRenyi(peers: 6, p: 0.5, seed: $0).hasEdge(5, 4)) == true })
        #expect((UInt64(1)...64).contains { (try? Topology.erdosRenyi(peers: 6, p: 0.5, seed: $0).hasEdge(1, 0)) == true })
    }

    @Test func smallWorldKeepsTheLatticeEdgeCountAndRewiresWithBeta() throws {
        let n = 60, k = 6
        let lattice = try Topology.smallWorld(peers: n, degree: k, beta: 0, seed: 1)
        for u in 0..<n { for j in 1...(k / 2) { #expect(lattice.hasEdge(u, (u + j) % n)) } }
        #expect(lattice.degrees.allSatisfy { $0 == k })
        var previous: Topology?
        for beta in [0.1, 0.5, 1.0] {
            let t = try Topology.smallWorld(peers: n, degree: k, beta: beta, seed: 4)
            try wellFormed(t)
            #expect(t.edgeCount == n * k / 2)
            #expect(t != lattice)
            #expect(try Topology.smallWorld(peers: n, degree: k, beta: beta, seed: 4) == t)
            #expect(try Topology.smallWorld(peers: n, degree: k, beta: beta, seed: 5) != t)
            if let previous { #expect(previous != t) }
            previous = t
        }
        // Rewiring shortens paths: the small-world effect.
        let sw = try Topology.smallWorld(peers: 400, degree: 4, beta: 0.2, seed: 2).summary()
        let ringLattice = try Topology.smallWorld(peers: 400, degree: 4, beta: 0, seed: 2).summary()
        #expect(ringLattice.diameter == 100)
        #expect(sw.longestShortestPath! < 40)
        #expect(throws: TopologyGeneratorError.self) { try Topology.smallWorld(peers: 10, degree: 3, beta: 0.1, seed: 1) }
    }

    @Test(arguments: [(50, 1), (200, 2), (943, 4)])
    func barabasiAlbertEdgeCountMinDegreeHubsAndSeeds(_ n: Int, _ m: Int) throws {
        let t = try Topology.barabasiAlbert(peers: n, m: m, seed: 11)
        try wellFormed(t)
        #expect(t.edgeCount == m * (m + 1) / 2 + (n - m - 1) * m)
        #expect(t.degrees.min() == m)
        #expect(t.isConnected)
        let d = DegreeStatistics(t.degrees)
        #expect(Double(d.max) > 3 * d.mean, "preferential attachment grows hubs: max \(d.max), mean \(d.mean)")
        #expect(try Topology.barabasiAlbert(peers: n, m: m, seed: 11) == t)
        #expect(try Topology.barabasiAlbert(peers: n, m: m, seed: 12) != t)
    }

    @Test func generateDispatchesOnTheRecipeAndNamesMissingParameters() throws {
        #expect(try Topology.generate(TopologyRecipe(kind: .ring, peers: 5)) == Topology.ring(peers: 5))
        #expect(try Topology.generate(TopologyRecipe(kind: .barabasiAlbert, peers: 20, m: 2, seed: 3))
                == Topology.barabasiAlbert(peers: 20, m: 2, seed: 3))
        do { _ = try Topology.generate(TopologyRecipe(kind: .erdosRenyi, peers: 5)); Issue.record("no p") } catch {
            #expect(error.parameter == "p")
        }
    }

    // MARK: summary on known graphs

    @Test func summaryOfAStarAPathAndADisconnectedGraph() throws {
        let star = try Topology(peerCount: 6, edges: (1...5).map { .init(0, $0) }).summary()
        #expect(star.diameter == 2)
        #expect(star.degree.histogram == [.init(degree: 1, peers: 5), .init(degree: 5, peers: 1)])
        #expect(star.degree.min == 1 && star.degree.max == 5 && abs(star.degree.mean - 10.0 / 6) < 1e-12)
        let split = try Topology(peerCount: 7, edges: [.init(0, 1), .init(1, 2), .init(2, 3), .init(4, 5)]).summary()
        #expect(split.componentSizes == [4, 2, 1])
        #expect(split.diameter == nil && split.longestShortestPath == 3)
        #expect(split.description.contains("DISCONNECTED") && split.description.contains("infinite"))
        let cycle = try Topology(peerCount: 3, directed: true, edges: [.init(0, 1), .init(1, 2), .init(2, 0)]).summary()
        #expect(cycle.diameter == 2 && cycle.isStronglyConnected)
        #expect(cycle.inDegree?.histogram == [.init(degree: 1, peers: 3)])
        let big = try Topology.ring(peers: 50).summary(distanceLimit: 10)
        #expect(!big.distancesComputed && big.diameter == nil && big.description.contains("not computed"))
    }

    @Test func histogramBinsManyDistinctDegrees() throws {
        let t = try Topology.barabasiAlbert(peers: 943, m: 4, seed: 1)
        let lines = TopologySummary.histogramLines(DegreeStatistics(t.degrees).histogram)
        #expect(lines.count <= 17)
        let total = lines.map { Int($0.split(separator: " ")[1])! }.reduce(0, +)
        #expect(total == 943, "every peer lands in one bin")
    }

    // MARK: shipped files

    /// Topologies/README.md documents these commands; the files must be exactly what they generate.
    static let shipped: [(String, TopologyRecipe)] = [
        ("ml100k-ring.edges", TopologyRecipe(kind: .ring, peers: 943)),
        ("ml100k-regular8.edges", TopologyRecipe(kind: .regular, peers: 943, degree: 8, seed: 1)),
        ("ml100k-smallworld.edges", TopologyRecipe(kind: .smallWorld, peers: 943, degree: 8, beta: 0.1, seed: 1)),
        ("ml100k-ba.edges", TopologyRecipe(kind: .barabasiAlbert, peers: 943, m: 4, seed: 1)),
    ]

    @Test(arguments: 0..<shipped.count)
    func shippedMovieLensTopologiesAreValidConnectedAndReproducible(_ i: Int) throws {
        let (name, recipe) = Self.shipped[i]
        let text = try TopologyParsingTests.fixture("Topologies/" + name)
        let p = try Topology.parse(text: text, file: name)
        #expect(p.warnings.isEmpty, "\(p.warnings)")
        #expect(p.topology.peerCount == 943 && p.topology.isConnected)
        #expect(p.topology == (try Topology.generate(recipe)), "\(name) is what its recipe generates")
        #expect(!text.contains("#"), "plain files, readable by decentralizepy too")
    }

    @Test func shippedThreeHostExampleGivesEveryPeerADistinctAddress() throws {
        let p = try Topology.parse(text: TopologyParsingTests.fixture("Topologies/example-3hosts.edges"), file: "example-3hosts.edges")
        #expect(p.warnings.isEmpty, "\(p.warnings)")
        let addrs = p.topology.addresses.compactMap { $0 }
        #expect(addrs.count == p.topology.peerCount && Set(addrs).count == addrs.count)
        #expect(Set(addrs.map { $0.ip }).count == 3)
    }
}
