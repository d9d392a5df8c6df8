import GossipProtocol
import RecommenderModel

/// How a peer picks its gossip partners: the one place that decides it.
public enum PartnerMode: Sendable {
    /// A random live member of the peer-sampling view (Cyclon), as in plain gossip learning.
    case random
    /// Only these neighbours (a topology file's edges), preferring those membership does not believe dead.
    /// An empty list means the peer never starts an exchange (it still answers pushes).
    case fixed([Neighbour])
    /// DFedRec-style client graph: mostly the most similar peers found through decoy-mixed interest
    /// disclosures, with a share of exploration (`ClientGraphSettings`); their copies are trusted by similarity.
    case clientGraph(ClientGraphSettings)

    /// The mode's name, as `--mode` spells it.
    public var name: String {
        switch self {
        case .random: return "random"
        case .fixed: return "static"
        case .clientGraph: return "client-graph"
        }
    }
}

/// A static neighbour: who and where.
public struct Neighbour: Hashable, Sendable {
    public var peer: PeerID
    public var address: PeerAddress
    public init(_ peer: PeerID, _ address: PeerAddress) { self.peer = peer; self.address = address }
}

/// Partner choice and partner trust, for every mode. Every draw comes from this policy's own generator
/// (`SeedScheme.Purposes.partners`), so choosing partners never shifts membership's, the client graph's or fault
/// injection's random streams.
///
/// - random: uniform over `MembershipInstance.partnerCandidates` (the alive view entries, else every alive member).
/// - static: uniform over the neighbours membership does not believe dead (all of them when it believes every one
///   dead: a static graph has nobody else to try).
/// - client graph: with probability ε (`ClientGraphSettings.exploration`), or while no neighbour is scored, a
///   uniformly random known peer (counted as an exploration); else a top-k neighbour, drawn in proportion to its
///   similarity (`NeighbourSelection.similarityProportional`) or uniformly. When membership believes the pick dead,
///   or the client graph knows nobody yet, a random-mode pick instead.
///
/// Quarantined partners (`PartnerReputation`) are never picked: a pick that is quarantined is drawn again.
///
/// Trust: in client-graph mode a partner's copy is merged with weight scale `ClientGraphInstance.trust(of:)`
/// (DFedRec weights neighbours by similarity); 1 in the other modes.
struct PartnerPolicy: Sendable {
    var neighbours: [Neighbour]?
    var rng: SplitMix64

    init(mode: PartnerMode, seed: UInt64) {
        if case .fixed(let n) = mode { neighbours = n } else { neighbours = nil }
        rng = SplitMix64(seed: seed)
    }

    /// A partner, never one `avoid` (the quarantined: `PartnerReputation`) rejects: a rejected pick is drawn again,
    /// up to `redraws` times, and when every draw is rejected the round has no partner.
    mutating func choose(membership: MembershipInstance, clientGraph: inout ClientGraphInstance?,
                         avoid: (PeerID) -> Bool) -> (PeerID, PeerAddress)? {
        for _ in 0...Self.redraws {
            guard let pick = choose(membership: membership, clientGraph: &clientGraph) else { return nil }
            if !avoid(pick.0) { return pick }
        }
        return nil
    }

    static let redraws = 7

    mutating func choose(membership: MembershipInstance, clientGraph: inout ClientGraphInstance?) -> (PeerID, PeerAddress)? {
        if let neighbours {
            guard !neighbours.isEmpty else { return nil }
            let live = neighbours.filter { membership.status(of: $0.peer)?.isLive ?? true }
            let pool = live.isEmpty ? neighbours : live
            let n = pool[rng.next(below: pool.count)]
            return (n.peer, n.address)
        }
        if clientGraph != nil {
            let (pick, explored) = Self.similar(in: clientGraph!, rng: &rng)
            if explored { clientGraph!.noteExploration() }
            if let peer = pick, let address = clientGraph!.address(of: peer), membership.status(of: peer)?.isLive ?? true {
                return (peer, address)
            }
        }
        let candidates = membership.partnerCandidates
        guard !candidates.isEmpty else { return nil }
        let m = candidates[rng.next(below: candidates.count)]
        return (m.peer, m.address)
    }

    /// The client graph's draw: (peer, whether it explored); nil when the graph knows nobody.
    static func similar(in graph: ClientGraphInstance, rng: inout SplitMix64) -> (PeerID?, Bool) {
        let known = graph.knownPeers
        guard !known.isEmpty else { return (nil, false) }
        let top = graph.neighbours
        if top.isEmpty || rng.nextUnitDouble() < graph.settings.exploration {
            return (known[rng.next(below: known.count)], true)
        }
        switch graph.settings.selection {
        case .uniform:
            return (top[rng.next(below: top.count)], false)
        case .similarityProportional:
            let weights = top.map { Double(graph.similarity(of: $0) ?? 0) }
            var x = rng.nextUnitDouble() * weights.reduce(0, +)
            for (n, w) in zip(top, weights) {
                if x < w { return (n, false) }
                x -= w
            }
            return (top[top.count - 1], false)
        }
    }

    func trust(of peer: PeerID, clientGraph: ClientGraphInstance?) -> Float {
        guard neighbours == nil, let clientGraph else { return 1 }
        return clientGraph.trust(of: peer)
    }
}
