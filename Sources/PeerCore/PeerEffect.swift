import GossipProtocol
import RecommenderModel

// What a `PeerInstance` takes in and gives out. A driver (the node over sockets and Dispatch, the simulator
// over a virtual network and clock) turns the outside world into these events and carries these effects out;
// it decides nothing about the protocol.

/// Every timer a peer asks its driver for, delivered back through `PeerInstance.onTimer(_:now:)`. Drivers never
/// cancel a timer: the instances recognise stale ones and ignore them.
public enum PeerTimer: Hashable, Sendable {
    /// A membership timer (SWIM probes, Cyclon shuffles, join retries).
    case membership(MembershipTimer)
    /// A gossip-learning timer (the round, the evaluation, an exchange's deadline).
    case gossip(GossipTimer)
    /// A client-graph timer (the disclosure refresh).
    case clientGraph(ClientGraphTimer)
    /// Time to save a checkpoint (`PeerSettings.checkpointPeriod`).
    case checkpoint

    /// Whether this is the gossip round timer: the one whose handling trains the local model (the simulator
    /// charges its virtual CPU time).
    public var isRound: Bool { self == .gossip(.round) }
}

/// What a peer asks its driver to do, in order.
public enum PeerEffect: Sendable {
    /// Send `message` as one datagram to `address` (best effort).
    case send(Message, to: PeerAddress)
    /// Open a model stream to `peer` at `address` and push `message` on it; the partner's answer comes back
    /// through `onStreamMessage(_:from:inbound: false, now:)`, a failure through `onExchangeFailed(seq:now:)`.
    case exchange(seq: UInt64, message: Message, with: PeerID, at: PeerAddress)
    /// Answer on the inbound stream whose push is being handled (only returned by `onStreamMessage` with
    /// `inbound: true`).
    case reply(Message)
    /// Call `onTimer(timer, now:)` once, no earlier than `after` from the `now` of the call that returned this.
    case schedule(PeerTimer, after: Duration)
    /// Keep this state where a restart will find it (the node: its checkpoint directory; the simulator: memory).
    case checkpoint(SavedPeerState)
    /// Something to count or log; nothing to do.
    case report(PeerReport)
}

/// Things a peer reports to its driver's counters and logs.
public enum PeerReport: Sendable, Equatable {
    /// A periodic evaluation: the rank of the held-out item (nil without one) at this local round.
    case evaluated(rank: Int?, round: UInt64)
    /// Membership admitted `peer` (new, back from the dead, or at a new address).
    case memberUp(PeerID, PeerAddress)
    /// Membership gave `peer` up (`reason` says why; an eviction leaves a live peer out of the member table).
    case memberDown(PeerID, MemberDownReason)
    /// An exchange this peer started got its reply and merged it.
    case exchangeCompleted(with: PeerID)
    /// A message was dropped for this reason (the node's drop counter key).
    case dropped(String)
    /// A notable protocol event, in words (suspicion, refutation, re-admission).
    case note(String)
    /// This peer quarantined `peer` (`PartnerReputation`): its copies are refused for a while.
    case quarantined(PeerID)
}

/// What a peer keeps across a restart: its learner (model, clock, round, training generator), its membership
/// incarnation (a restarted peer refutes its own death with a higher one), and a sample of the live members it
/// knew, enough to rejoin without a seed address.
public struct SavedPeerState: Sendable {
    public var learner: PeerLearner
    public var incarnation: UInt64
    public var known: [MemberInfo]
    public init(learner: PeerLearner, incarnation: UInt64, known: [MemberInfo]) {
        self.learner = learner; self.incarnation = incarnation; self.known = known
    }
}
