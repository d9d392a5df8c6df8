import GossipProtocol

/// Combines many peers' `ClientGraphExport`s into a `Topology` (the file format of Topologies/, readable by
/// `gossiprec topology describe`).
///
/// The graph is directed (`# directed: true`): peer u's top-k need not contain v when v's contains u. Peers
/// are numbered 0..<n in increasing PeerID order over every peer that exports or is named as a neighbour;
/// the file's comments give the mapping (`# client-graph index 3 = p17`; not `# peer ...`, which is the
/// address directive). Edge weights are the similarities (weighted lines `u v w`); an edge with similarity
/// not positive and finite is left out (Topology requires positive weights), and counted in `skippedEdges`.
public enum ClientGraphTopology {
    public struct Combined: Sendable {
        public var topology: Topology
        /// `peers[i]` is the PeerID of topology index i.
        public var peers: [PeerID]
        public var skippedEdges: Int

        /// The topology file text, with the index-to-PeerID mapping as comments.
        public func fileText(extraComments: [String] = []) -> String {
            topology.serialized(comments: extraComments + ["client graph: directed top-k edges, weight = similarity"]
                                + peers.enumerated().map { "client-graph index \($0.offset) = \($0.element)" })
        }
    }

    /// Builds the combined topology; `addresses` (optional) become `# peer I host=... port=...` directives.
    /// Throws if two exports name the same peer, or two peers share an address.
    public static func combine(_ exports: [ClientGraphExport],
                               addresses: [PeerID: PeerAddress] = [:]) throws(TopologyError) -> Combined {
        var ids = Set<PeerID>()
        var exporters = Set<PeerID>()
        for e in exports {
            guard exporters.insert(e.peer).inserted else {
                throw TopologyError(diagnostics: [TopologyDiagnostic(.error, .duplicateEdge, file: "<client graph>", line: nil,
                                                                     "peer \(e.peer) exported its neighbours twice")])
            }
            ids.insert(e.peer)
            for edge in e.edges { ids.insert(edge.to) }
        }
        let peers = ids.sorted()
        guard !peers.isEmpty else {
            throw TopologyError(diagnostics: [TopologyDiagnostic(.error, .countLine, file: "<client graph>", line: nil,
                                                                 "no peer exported a client graph")])
        }
        let index = Dictionary(uniqueKeysWithValues: peers.enumerated().map { ($1, $0) })
        var edges: [Topology.Edge] = []
        var skipped = 0
        for e in exports {
            var seen = Set<PeerID>()
            for edge in e.edges where edge.to != e.peer && seen.insert(edge.to).inserted {
                guard edge.similarity.isFinite, edge.similarity > 0 else { skipped += 1; continue }
                edges.append(Topology.Edge(index[e.peer]!, index[edge.to]!, weight: edge.similarity))
            }
        }
        var indexedAddresses: [Int: PeerAddress] = [:]
        for (p, a) in addresses { if let i = index[p] { indexedAddresses[i] = a } }
        let topology = try Topology(peerCount: peers.count, directed: true, edges: edges, addresses: indexedAddresses)
        return Combined(topology: topology, peers: peers, skippedEdges: skipped)
    }
}
