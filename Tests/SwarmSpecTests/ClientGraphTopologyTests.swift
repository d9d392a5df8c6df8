import Testing
import GossipProtocol
@testable import SwarmSpec

/// Combining peers' client-graph exports (`ClientGraphInstance.exportEdges()`) into a topology file.
@Suite struct ClientGraphTopologyTests {
    static func edge(_ to: UInt64, _ similarity: Float) -> ClientGraphExport.Edge {
        ClientGraphExport.Edge(to: PeerID(to), similarity: similarity)
    }

    /// Peers 10, 20, 30 export; 40 is only named. 10 lists itself, 30 twice, and 40 with similarity 0;
    /// 20's only edge is NaN.
    static let exports = [
        ClientGraphExport(peer: PeerID(30), edges: [edge(10, 0.9), edge(20, 0.5)]),
        ClientGraphExport(peer: PeerID(10), edges: [edge(30, 0.8), edge(10, 1), edge(30, 0.7), edge(40, 0)]),
        ClientGraphExport(peer: PeerID(20), edges: [edge(30, .nan)]),
    ]

    @Test func exportsCombineIntoADirectedTopologyFileThatParsesBack() throws {
        let address = PeerAddress.ipv4(127, 0, 0, 1, port: 7020)
        let combined = try ClientGraphTopology.combine(Self.exports, addresses: [PeerID(20): address])
        #expect(combined.peers == [PeerID(10), PeerID(20), PeerID(30), PeerID(40)], "numbered in PeerID order")
        #expect(combined.topology.isDirected && combined.topology.peerCount == 4)
        #expect(combined.topology.neighbours(of: 2).map { [Float($0.peer), $0.weight] } == [[0, 0.9], [1, 0.5]])
        #expect(combined.topology.neighbours(of: 0).map { [Float($0.peer), $0.weight] } == [[2, 0.8]],
                "self edge and repeated neighbour dropped, the first similarity kept")
        #expect(combined.topology.neighbourIndices(of: 1).isEmpty && combined.topology.neighbourIndices(of: 3).isEmpty)
        #expect(combined.skippedEdges == 2, "the zero and the NaN similarity")
        #expect(combined.topology.addresses[1] == address)

        let text = combined.fileText(extraComments: ["run 7"])
        #expect(text.contains("# client-graph index 2 = p30") && text.contains("# run 7"))
        let parsed = try Topology.parse(text: text, file: "client.edges")
        #expect(parsed.topology == combined.topology)
    }

    @Test func aPeerExportingTwiceOrNoExportAtAllIsAnError() {
        #expect(throws: TopologyError.self) { try ClientGraphTopology.combine([Self.exports[0], Self.exports[0]]) }
        #expect(throws: TopologyError.self) { try ClientGraphTopology.combine([]) }
    }
}
