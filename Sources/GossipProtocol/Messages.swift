import RecommenderModel

// The messages peers exchange, as plain values. WireFormat turns them into bytes and back; the protocol
// instances consume and produce them. UDP carries membership (small); TCP carries model exchange (large).

/// SWIM member status with its incarnation number. Ordered so that "apply only if newer" is one comparison
/// (as swift-cluster-membership's SWIM.Status): alive(n) < suspect(n) < alive(n+1) < ...; dead beats all.
public enum MemberStatus: Hashable, Sendable, Comparable {
    case alive(incarnation: UInt64)
    case suspect(incarnation: UInt64)
    case dead(incarnation: UInt64)

    public var incarnation: UInt64 {
        switch self {
        case .alive(let n), .suspect(let n), .dead(let n): return n
        }
    }

    private var rank: (UInt64, Int) {
        switch self {
        case .alive(let n): return (n, 0)
        case .suspect(let n): return (n, 1)
        case .dead(let n): return (n, 2)
        }
    }

    public static func < (a: MemberStatus, b: MemberStatus) -> Bool {
        // dead(n) supersedes alive/suspect of the same incarnation; a *higher* incarnation alive refutes it
        // (that is how a restarted peer re-admits itself: it rejoins with incarnation above its death).
        a.rank < b.rank
    }
}

/// One piece of membership news, gossiped by piggy-backing on pings and acks.
public struct MemberUpdate: Hashable, Sendable {
    public var peer: PeerID
    public var address: PeerAddress
    public var status: MemberStatus
    public init(peer: PeerID, address: PeerAddress, status: MemberStatus) {
        self.peer = peer; self.address = address; self.status = status
    }
}

/// An entry of a Cyclon partial view: a peer descriptor with its age in shuffle rounds.
public struct ViewEntry: Hashable, Sendable {
    public var peer: PeerID
    public var address: PeerAddress
    public var age: UInt16
    public init(peer: PeerID, address: PeerAddress, age: UInt16) {
        self.peer = peer; self.address = address; self.age = age
    }
}

extension Message {
    /// Most items in one `interests` message: with u32 items, a 32-byte frame header, an 11-byte payload head
    /// (u32 epoch, u32 catalogueSize, u8 wantsReply, u16 count), the largest auth tag WireLimits allows by
    /// default (2 + 64 bytes) and the 4-byte checksum, 320 items make a 1,393-byte frame, within the 1,400-byte datagram
    /// limit. Larger disclosures are subsampled before sending (`InterestDisclosure.make`).
    public static let maxDisclosedItems = 320
}

// `ModelPayload` (a sparse copy of item rows) lives in RecommenderModel, next to the merge rules that consume it.

/// Every message of the protocol. `seq` numbers tie replies to requests.
public enum Message: Hashable, Sendable {
    // --- membership (UDP) ---
    /// "Let me in": sent to a seed; answered with `joinReply`.
    case join(address: PeerAddress, incarnation: UInt64)
    /// A sample of live members for the newcomer.
    case joinReply(members: [MemberUpdate])
    /// SWIM direct probe, with piggy-backed membership updates.
    case ping(seq: UInt64, updates: [MemberUpdate])
    /// SWIM indirect probe request: "please ping `target` for me".
    case pingReq(seq: UInt64, target: PeerID, targetAddress: PeerAddress, updates: [MemberUpdate])
    /// SWIM acknowledgement of a ping (direct, or relayed for a pingReq), with piggy-backed updates.
    case ack(seq: UInt64, target: PeerID, updates: [MemberUpdate])
    /// Lifeguard negative acknowledgement: the relay did not hear from the target in time.
    case nack(seq: UInt64, target: PeerID)
    /// Cyclon shuffle: a subset of the sender's view (including a fresh entry for itself).
    case shuffleRequest(seq: UInt64, entries: [ViewEntry])
    case shuffleReply(seq: UInt64, entries: [ViewEntry])
    /// Client-graph interest disclosure (see `InterestDisclosure`, `ClientGraphInstance`): the sender's disclosed
    /// item set, its real items mixed with decoys, strictly increasing, each below `catalogueSize`, at most
    /// `Message.maxDisclosedItems`. `epoch` numbers the sender's disclosures (a receiver keeps the newest).
    /// With `wantsReply` the receiver answers with its own disclosure (`wantsReply: false`), so one round trip
    /// scores the pair both ways and a lost datagram is retried without replies echoing forever.
    /// Carries no ratings and nothing that marks which items are real.
    case interests(epoch: UInt32, catalogueSize: UInt32, items: [UInt32], wantsReply: Bool)
    // --- model exchange (TCP) ---
    /// Push-pull gossip: the sender's model copy; the receiver answers with `modelReply` if `wantsReply`.
    case modelPush(seq: UInt64, model: ModelPayload, wantsReply: Bool)
    case modelReply(seq: UInt64, model: ModelPayload)
    /// The receiver will not merge (busy, wrong swarm, shape mismatch); the sender moves on.
    case modelDecline(seq: UInt64, reason: UInt8)
}
