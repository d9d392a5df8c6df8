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

/// Partner choice and partner trust, for every mode.
///
/// - random: `MembershipInstance.randomLivePeer()` (an alive view entry, else any alive member).
/// - static: a uniformly random neighbour among those membership does not believe dead (all of them when it
///   believes every one dead: a static graph has nobody else to try), drawn from this policy's own generator.
/// - client graph: `ClientGraphInstance.choosePartner()` (a top-k neighbour, or with the exploration share any
///   known peer) when membership does not believe it dead; else a random live peer as in random mode.
///
/// Trust: in client-graph mode a partner's copy is merged with weight scale `ClientGraphInstance.mergeWeight`
/// (DFedRec weights neighbours by similarity); 1 in the other modes.
struct PartnerPolicy: Sendable {
    var neighbours: [Neighbour]?
    var rng: SplitMix64

    init(mode: PartnerMode, seed: UInt64) {
        if case .fixed(let n) = mode { neighbours = n } else { neighbours = nil }
        rng = SplitMix64(seed: seed)
    }

    mutating func choose(membership: inout MembershipInstance, clientGraph: inout ClientGraphInstance?) -> (PeerID, PeerAddress)? {
        if let neighbours {
            guard !neighbours.isEmpty else { return nil }
            let live = neighbours.filter { membership.status(of: $0.peer)?.isLive ?? true }
            let pool = live.isEmpty ? neighbours : live
            let n = pool[rng.next(below: pool.count)]
            return (n.peer, n.address)
        }
        if clientGraph != nil {
            if let peer = clientGraph!.choosePartner(), let address = clientGraph!.address(of: peer),
               membership.status(of: peer)?.isLive ?? true {
                return (peer, address)
            }
        }
        return membership.randomLivePeer()
    }

    func trust(of peer: PeerID, clientGraph: ClientGraphInstance?) -> Float {
        guard neighbours == nil, let clientGraph else { return 1 }
        return clientGraph.mergeWeight(for: peer)
    }
}
