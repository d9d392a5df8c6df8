import Foundation
import Testing
import GossipProtocol
@testable import SwarmSpec

/// Reading topology files: decentralizepy's files verbatim, every error kind with its line number,
/// warnings, directives, and the round trip through `serialized()`.
@Suite struct TopologyParsingTests {
    /// The repository root, from this file's path (Tests/SwarmSpecTests/<this file>).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func fixture(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    func parse(_ text: String, file: String = "t.edges") throws -> ParsedTopology {
        try Topology.parse(text: text, file: file)
    }

    /// The errors a text produces (empty when it parses).
    func errors(_ text: String, file: String = "t.edges") -> [TopologyDiagnostic] {
        do { _ = try Topology.parse(text: text, file: file); return [] } catch { return error.diagnostics }
    }

    /// decentralizepy's own reader (`Graph.read_graph_from_file`, type "edges"), restated: first line the
    /// count, then `x y` per line inserted both ways into per-node sets.
    func decentralizepyEdges(_ text: String) -> [Set<Int>] {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let n = Int(lines.removeFirst().trimmingCharacters(in: .whitespaces))!
        var adj = Array(repeating: Set<Int>(), count: n)
        for l in lines where !l.isEmpty {
            let xy = l.split(separator: " ").map { Int($0)! }
            #expect(xy.count == 2, "decentralizepy unpacks exactly two integers per line: '\(l)'")
            adj[xy[0]].insert(xy[1]); adj[xy[1]].insert(xy[0])
        }
        return adj
    }

    // MARK: decentralizepy files, verbatim

    /// Topologies/decentralizepy/6_star.edges is sacs-epfl/decentralizepy eval/6_star.edges byte for byte
    /// (no final newline, every edge listed in both directions, as their `write_graph_to_file` writes).
    @Test func decentralizepyStarEdgesReadVerbatim() throws {
        let text = try Self.fixture("Topologies/decentralizepy/6_star.edges")
        #expect(!text.contains("#") && !text.hasSuffix("\n"))
        let p = try parse(text, file: "6_star.edges")
        let t = p.topology
        #expect(p.warnings.isEmpty)
        #expect(t.peerCount == 6 && !t.isDirected && !t.isWeighted)
        #expect(t.edgeCount == 5, "0 1 and 1 0 are one undirected edge")
        #expect(t.neighbourIndices(of: 0) == [1, 2, 3, 4, 5])
        for leaf in 1...5 { #expect(t.neighbours(of: leaf).map(\.peer) == [0]) }
        #expect(t.neighbours(of: 2).map(\.weight) == [1])
        #expect(t.adjacency.map { Set($0.map(\.peer)) } == decentralizepyEdges(text))
    }

    /// eval/4_node_fullyConnected.edges (final newline, both directions).
    @Test func decentralizepyFullyConnectedEdgesReadVerbatim() throws {
        let text = try Self.fixture("Topologies/decentralizepy/4_node_fullyConnected.edges")
        let p = try parse(text, file: "4_node_fullyConnected.edges")
        #expect(p.warnings.isEmpty)
        #expect(p.topology.edgeCount == 6)
        #expect(p.topology.degrees == [3, 3, 3, 3])
        #expect(p.topology.adjacency.map { Set($0.map(\.peer)) } == decentralizepyEdges(text))
    }

    /// eval/graph.adj: after the count line, line i+1 lists peer i's neighbours (their
    /// `__insert_adj__`). This one is symmetric, so it is an undirected graph.
    @Test func decentralizepyAdjacencyReadVerbatim() throws {
        let text = try Self.fixture("Topologies/decentralizepy/graph.adj")
        let p = try Topology.parse(text: text, file: "graph.adj")
        #expect(p.warnings.isEmpty)
        let t = p.topology
        #expect(t.peerCount == 6 && !t.isDirected)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst()
        for (i, line) in lines.enumerated() {
            #expect(t.neighbourIndices(of: i) == line.split(separator: " ").map { Int($0)! }.sorted(), "peer \(i)")
        }
        #expect(t.edgeCount == lines.reduce(0) { $0 + $1.split(separator: " ").count } / 2)
        // The same graph written as an edge list reads back equal.
        #expect(try parse(t.serialized()).topology == t)
    }

    // MARK: .adj symmetry

    @Test func asymmetricAdjacencyWarnsNamingAPairAndReadsDirected() throws {
        // Peer 0 lists 1 and 2; peer 1 lists 0; peer 2 (a blank line) lists nobody.
        let p = try Topology.parse(text: "3\n1 2\n0\n\n", file: "a.adj")
        let w = try #require(p.warnings.first { $0.kind == .asymmetricAdjacency })
        #expect(w.severity == .warning && w.line == 2)
        #expect(w.message.contains("peer 0 (line 2) lists 2, but peer 2 (line 4) does not list 0"), "\(w.message)")
        #expect(w.message.contains("1 of 3"))
        #expect(p.topology.isDirected)
        #expect(p.topology.hasEdge(0, 2) && !p.topology.hasEdge(2, 0))
        #expect(p.topology.hasEdge(0, 1) && p.topology.hasEdge(1, 0))
        #expect(p.warnings.contains { $0.kind == .notStronglyConnected }, "2 reaches nobody")
    }

    @Test func asymmetricAdjacencyDeclaredDirectedIsSilentAndDeclaredUndirectedIsAnError() throws {
        let directed = try Topology.parse(text: "3\n# directed: true\n1 2\n0 2\n0\n", file: "a.adj")
        #expect(directed.warnings.isEmpty)
        #expect(directed.topology.isDirected && directed.topology.edgeCount == 5)
        let e = errors("3\n# directed: false\n1 2\n0\n\n", file: "a.adj")
        #expect(e.map(\.kind) == [.asymmetricUndirected])
        #expect(e.first?.line == 3)
    }

    @Test func shortAdjacencyWarnsAndLeavesTheRestWithoutNeighbours() throws {
        let p = try Topology.parse(text: "4\n1\n0\n", file: "short.adj")
        #expect(p.topology.neighbourIndices(of: 2).isEmpty && p.topology.neighbourIndices(of: 3).isEmpty)
        #expect(p.warnings.contains { $0.kind == .missingAdjacencyLines && $0.message.contains("2...3") })
        #expect(p.warnings.contains { $0.kind == .disconnected })
    }

    @Test func formatDirectiveAndForcedFormatOverrideTheFileName() throws {
        let text = "3\n1 2\n0 2\n0 1\n"
        #expect(try Topology.parse(text: "# format: adjacency\n" + text, file: "x.txt").topology.edgeCount == 3)
        #expect(try Topology.parse(text: text, file: "x.txt", format: .adjacency).topology.edgeCount == 3)
        // The file name decides otherwise: as an edge list "0 1" is an edge, as peer 0's adjacency line it
        // lists peer 0 itself.
        #expect(try Topology.parse(text: "3\n0 1\n", file: "x.edges").topology.edgeCount == 1)
        #expect(errors("3\n0 1\n", file: "x.adj").map(\.kind) == [.selfLoop])
    }

    // MARK: errors, each kind with its line

    static let errorCases: [(String, TopologyDiagnostic.Kind, Int?)] = [
        ("x\n0 1\n", .countLine, 1),
        ("# header\n\n3 4\n0 1\n", .countLine, 3),
        ("0\n", .countLine, 1),
        ("", .countLine, nil),
        ("# only comments\n", .countLine, nil),
        ("3\n0 1\n1 3\n", .unknownPeer, 3),
        ("3\n0 1\n-1 2\n", .unknownPeer, 3),
        ("3\n# c\n0 1\n2 2\n", .selfLoop, 4),
        ("3\n0 1\n1 2\n0 1\n", .duplicateEdge, 4),
        ("3\n0 1\n1 0\n0 1\n", .duplicateEdge, 4),
        ("3\n# directed: true\n0 1\n1 0\n0 1\n", .duplicateEdge, 5),
        ("3\n0 1 2\n1 0 3\n", .conflictingWeight, 3),
        ("3\n0 1 0.5\n1 0\n", .conflictingWeight, 3),
        ("3\n0 1 -1\n", .badWeight, 2),
        ("3\n0 1 0\n", .badWeight, 2),
        ("3\n0 1 nan\n", .badWeight, 2),
        ("3\n0 1 1e50\n", .badWeight, 2),
        ("3\n0 1 heavy\n", .badWeight, 2),
        ("3\n0 1 2 3\n", .badLine, 2),
        ("3\n\n0\n", .badLine, 3),
        ("3\na 1\n", .badLine, 2),
        ("3\n# directed: maybe\n", .badDirective, 2),
        ("3\n# directed: true\n# directed: false\n", .badDirective, 3),
        ("3\n# format: csv\n", .badDirective, 2),
        ("3\n# peer 1 host=10.0.0.1\n", .badDirective, 2),
        ("3\n# peer 1 host=example.com port=80\n", .badDirective, 2),
        ("3\n# peer 1 host=10.0.0.1 port=0\n", .badDirective, 2),
        ("3\n# peer 1 host=10.0.0.1 port=70000\n", .badDirective, 2),
        ("3\n# peer 1 host=10.0.0.1 port=7 rack=2\n", .badDirective, 2),
        ("3\n# peer 1 host=10.0.0.1 port=7\n# peer 1 host=10.0.0.2 port=7\n", .badDirective, 3),
        ("3\n0 1\n# peer 5 host=10.0.0.1 port=7\n", .unknownPeer, 3),
        ("3\n# peer 0 host=10.0.0.1 port=7\n# peer 2 host=10.0.0.1 port=7\n", .duplicateAddress, 3),
    ]

    @Test(arguments: 0..<errorCases.count)
    func eachErrorKindIsReportedWithItsLine(_ i: Int) {
        let (text, kind, line) = Self.errorCases[i]
        let e = errors(text)
        #expect(e.count == 1, "\(text.debugDescription): \(e)")
        #expect(e.first?.kind == kind, "\(text.debugDescription): \(e)")
        #expect(e.first?.line == line, "\(text.debugDescription): \(e)")
        #expect(e.first?.severity == .error)
        #expect(e.first?.description.hasPrefix("t.edges" + (line.map { ":\($0)" } ?? "") + ": error: ") == true)
    }

    @Test func adjacencyErrorsCarryTheirLines() {
        #expect(errors("2\n1\n0\n1\n", file: "a.adj").map { [$0.kind.rawValue, "\($0.line!)"] } == [["extraLines", "4"]])
        #expect(errors("2\n0 1\n0\n", file: "a.adj").map(\.kind) == [.selfLoop])
        #expect(errors("3\n1 1 2\n0\n0\n", file: "a.adj").map(\.kind) == [.duplicateEdge])
        #expect(errors("3\n1\n0 5\n", file: "a.adj").map { $0.line } == [3])
        #expect(errors("2\n1\n0\n\n\n", file: "a.adj").isEmpty, "trailing blank lines are not peers")
    }

    @Test func everyErrorIsReportedInLineOrder() {
        let e = errors("4\n0 1\n1 9\n2 2\n0 1\n# peer 1 host=x port=1\n")
        #expect(e.map(\.line) == [3, 4, 5, 6])
        #expect(e.map(\.kind) == [.unknownPeer, .selfLoop, .duplicateEdge, .badDirective])
        #expect(e[0].message.contains("unknown peer 9") && e[0].message.contains("0...3"))
        #expect(e[2].message.contains("first on line 2"))
    }

    // MARK: leniency and directives

    @Test func crlfTabsInlineCommentsAndProseCommentsAreAccepted() throws {
        let t = try parse("# peers on rack 2\r\n# directed graphs are rare here\r\n3\r\n0\t1 # first\r\n\r\n1  2\r\n").topology
        #expect(t.edgeCount == 2 && !t.isDirected)
    }

    @Test func directedFilesKeepArcs() throws {
        let p = try parse("2\n# directed: true\n0 1\n1 0 2.5\n")
        #expect(p.topology.isDirected && p.topology.edgeCount == 2)
        #expect(p.topology.neighbours(of: 1).first?.weight == 2.5)
        #expect(p.topology.neighbours(of: 0).first?.weight == 1)
        #expect(p.warnings.isEmpty)
        let chain = try parse("3\n# directed: true\n0 1\n1 2\n")
        #expect(chain.warnings.map(\.kind) == [.notStronglyConnected])
        #expect(chain.warnings[0].message.contains("cannot reach"))
    }

    @Test func weightsAndMirroredWeightedEdges() throws {
        let t = try parse("3\n0 1 0.25\n1 0 0.25\n1 2\n").topology
        #expect(t.isWeighted && t.edgeCount == 2)
        #expect(t.neighbours(of: 1).map(\.weight) == [0.25, 1])
    }

    @Test func disconnectedGraphWarnsNamingAPeerThatCannotReachPeerZero() throws {
        let p = try parse("5\n0 1\n2 3\n")
        let w = try #require(p.warnings.first)
        #expect(p.warnings.count == 1 && w.kind == .disconnected && w.line == nil)
        #expect(w.message.contains("3 components") && w.message.contains("sizes 2, 2, 1") && w.message.contains("peer 2 cannot reach peer 0"))
    }

    @Test func peerAddressesIPv4AndIPv6() throws {
        let p = try parse("3\n# peer 0 host=10.0.0.5 port=7003\n# peer 1 host=::1 port=7004\n# peer 2 host=[fe80::2] port=7005\n0 1\n1 2\n")
        #expect(p.warnings.isEmpty)
        #expect(p.topology.addresses[0] == .ipv4(10, 0, 0, 5, port: 7003))
        #expect(p.topology.addresses[1] == PeerAddress(parsing: "[::1]:7004"))
        #expect(p.topology.addresses[2] == PeerAddress(parsing: "[fe80::2]:7005"))
        let partial = try parse("3\n# peer 1 host=10.0.0.5 port=7003\n0 1\n1 2\n")
        #expect(partial.warnings.map(\.kind) == [.partialAddresses])
        #expect(partial.warnings[0].message.contains("1 of 3") && partial.warnings[0].message.contains("peer 0"))
    }

    // MARK: round trip

    @Test func roundTripKeepsDirectionWeightsAndAddresses() throws {
        let t = try Topology(peerCount: 4, directed: true,
                             edges: [.init(0, 1, weight: 0.1), .init(1, 0, weight: 3), .init(2, 3), .init(3, 0, weight: 1e-5), .init(1, 2)],
                             addresses: [0: .ipv4(10, 0, 0, 1, port: 7000), 3: PeerAddress(parsing: "[2001:db8::1]:9")!])
        let text = t.serialized(comments: ["made by a test", "two lines"])
        #expect(text.contains("# directed: true\n") && text.contains("# made by a test\n"))
        let back = try parse(text)
        #expect(back.topology == t)
        #expect(back.topology.serialized(comments: ["made by a test", "two lines"]) == text)
    }

    @Test func roundTripOfUndirectedGraphs() throws {
        for t in [try Topology.ring(peers: 7), try Topology.smallWorld(peers: 40, degree: 4, beta: 0.3, seed: 3),
                  try Topology(peerCount: 3, edges: [.init(2, 0, weight: 0.5), .init(1, 2)])] {
            #expect(try parse(t.serialized()).topology == t)
        }
    }

    /// An undirected, unweighted topology without addresses serializes to exactly decentralizepy's format.
    @Test func plainSerializationIsReadableByDecentralizepysReader() throws {
        let t = try Topology.barabasiAlbert(peers: 30, m: 2, seed: 9)
        let text = t.serialized()
        #expect(!text.contains("#"))
        #expect(t.adjacency.map { Set($0.map(\.peer)) } == decentralizepyEdges(text))
    }

    @Test func theValidatingInitializerRejectsBadEdges() {
        func kinds(_ n: Int, _ directed: Bool, _ e: [Topology.Edge]) -> [TopologyDiagnostic.Kind] {
            do { _ = try Topology(peerCount: n, directed: directed, edges: e); return [] } catch { return error.diagnostics.map(\.kind) }
        }
        #expect(kinds(3, false, [.init(0, 1), .init(1, 0)]) == [.duplicateEdge])
        #expect(kinds(3, true, [.init(0, 1), .init(1, 0)]) == [])
        #expect(kinds(3, false, [.init(0, 3), .init(1, 1), .init(0, 2, weight: .infinity)]) == [.unknownPeer, .selfLoop, .badWeight])
        #expect(kinds(0, false, []) == [.countLine])
    }
}
