/// Tunables of `MembershipInstance`: SWIM failure detection with the Lifeguard extensions, piggy-backed
/// dissemination, and the Cyclon peer-sampling view.
///
/// Defaults follow hashicorp/memberlist's `DefaultLANConfig` and swift-cluster-membership's `SWIM.Settings`
/// where they agree (1 s protocol period, k = 3 indirect probes, suspicion multiplier 4 and max-multiplier 6,
/// local-health cap 8, retransmit multiplier 4), and Voulgaris et al. (2005) for Cyclon (view size c = 20,
/// shuffle length l = 8). `validate()` names the first bad field; `MembershipInstance.init` traps on an invalid
/// configuration, so a shell should validate user-supplied settings first.
public struct MembershipSettings: Hashable, Sendable {
    // MARK: SWIM failure detection

    /// One SWIM protocol period T': every period the instance probes one member. Lifeguard stretches it by the
    /// local health multiplier (LHM): the effective period is `protocolPeriod * (LHM + 1)`. Default 1 s.
    public var protocolPeriod: Duration = .seconds(1)

    /// How long to wait for a direct `ack` before asking `indirectProbeCount` relays to `pingReq` the target;
    /// also stretched by `(LHM + 1)`. Should be a few round-trip times and well under the protocol period.
    /// Default 300 ms.
    public var pingTimeout: Duration = .milliseconds(300)

    /// k: relays asked to probe a target that missed its direct ping (SWIM section 3.1). Default 3.
    public var indirectProbeCount: Int = 3

    /// Fraction of `pingTimeout` after which a relay that has not heard the target's ack sends the requester a
    /// Lifeguard `nack` (memberlist uses 80 %). Default 0.8.
    public var nackFraction: Double = 0.8

    /// Lifeguard local-health ceiling S: the LHM lives in `0..<maxLocalHealthMultiplier`. 1 disables LHM.
    /// Default 8.
    public var maxLocalHealthMultiplier: Int = 8

    /// Lifeguard dynamic suspicion: the minimum suspicion timeout is
    /// `suspicionMultiplier * max(1, log10(N)) * protocolPeriod` for N known live members (self included),
    /// the maximum is `suspicionMaxMultiplier` times that, and the timeout decays from max to min as
    /// independent confirmations arrive (memberlist `suspicion.go`). Defaults 4 and 6.
    public var suspicionMultiplier: Double = 4
    public var suspicionMaxMultiplier: Double = 6

    /// K: confirmations after which the suspicion timeout reaches its minimum. Treated as 0 (timeout = min)
    /// when fewer than K + 2 members are known. Default 3.
    public var suspicionConfirmations: Int = 3

    // MARK: Dissemination

    /// λ: each membership update is piggy-backed `λ * ceil(log10(N + 1))` times (SWIM section 4.1;
    /// memberlist `RetransmitMult`). Default 4.
    public var retransmitMultiplier: Int = 4

    /// Updates piggy-backed on one ping / pingReq / ack. A `MemberUpdate` encodes to at most ~40 bytes
    /// (IPv6), so 20 keeps a membership datagram under ~1,000 bytes, below a 1,400-byte UDP budget. Default 20.
    public var maxUpdatesPerMessage: Int = 20

    /// Members listed in a `joinReply` (the joiner's own record, the contact, and a random sample of live
    /// members). 30 updates stay under ~1,300 bytes. Default 30.
    public var maxJoinReplyMembers: Int = 30

    /// How long a dead member is remembered as a tombstone (so stale alive rumours of lower incarnation cannot
    /// resurrect it, and so that when it talks to us again we can tell it it is dead and it refutes above the
    /// tombstone). After this it is forgotten. Default 60 s.
    public var deadRetention: Duration = .seconds(60)

    /// At most this many other members are remembered (nil: all, as SWIM and memberlist do). With a cap, a
    /// rumour about a member we do not hold is ignored once the table is full (neither stored nor spread: the
    /// members that hold it spread it), and a peer that contacts us directly (join, ping, any message) is
    /// admitted in place of a random `alive` member outside the Cyclon view, the probe and any suspicion,
    /// reported as `memberDown(_, reason: .evicted)`. Full membership costs O(N) per peer, which is fine on a
    /// device but O(N²) for a simulator hosting 10,000 peers; a few hundred members keep every peer on a
    /// random, well-connected overlay. Default 1,000 (nil: unbounded), so that no peer's table grows without bound
    /// whatever it is told.
    public var maxMembers: Int? = 1_000

    // MARK: Joining

    /// While no `joinReply` has arrived, `join` is re-sent to every seed this often. Default 2 s.
    public var joinRetryInterval: Duration = .seconds(2)

    /// Every this often a joined instance sends `join` to one random seed (not itself), even when healthy.
    /// This heals partitions and mass restarts: a seed that forgot us, or holds us dead, re-admits us, and
    /// its reply re-teaches us members we lost (compare antrea's periodic rejoin on top of memberlist).
    /// `nil` disables it. Default 30 s.
    public var rejoinInterval: Duration? = .seconds(30)

    /// Members told directly of a graceful leave (`dead` about ourselves, piggy-backed on a ping). Default 4.
    public var leaveFanout: Int = 4

    // MARK: Cyclon peer sampling

    /// c: the Cyclon partial-view size. Default 20.
    public var viewSize: Int = 20

    /// l: entries exchanged per shuffle (including the initiator's fresh self entry), `1...viewSize`. Default 8.
    public var shuffleLength: Int = 8

    /// Time between two shuffles started by this instance. Default 1 s.
    public var shufflePeriod: Duration = .seconds(1)

    public init() {}

    /// Nil when every field is usable, otherwise a message naming the first offending field and its value.
    /// A rumour or join may raise a member's incarnation (or ours) by at most this much over what we hold (for a
    /// member we do not hold: to at most this value). An honest peer raises its own by one per refutation, so a
    /// bigger jump is a forgery: without the bound, one `dead(UInt64.max)` rumour would kill a peer for good, since
    /// nothing can refute it. Rejected rumours are counted (`MembershipInstance.rejectedRumours`).
    public var maxIncarnationJump: UInt64 = 1 << 16
    /// At most this many members we did not hold are admitted per second (a token bucket holding up to `admissionBurst`),
    /// from rumours and first contacts alike: a key holder that invents members cannot flood the member table, the
    /// view and every peer it gossips to. A joining peer's `joinReply` is not limited.
    public var admissionsPerSecond: Double = 100
    public var admissionBurst: Int = 1_000

    public func validate() -> String? {
        if protocolPeriod <= .zero { return "protocolPeriod must be positive, got \(protocolPeriod)" }
        if pingTimeout <= .zero || pingTimeout >= protocolPeriod {
            return "pingTimeout must be in (0, protocolPeriod), got \(pingTimeout) with protocolPeriod \(protocolPeriod)"
        }
        if indirectProbeCount < 0 { return "indirectProbeCount must be >= 0, got \(indirectProbeCount)" }
        if !(nackFraction > 0 && nackFraction < 1) { return "nackFraction must be in (0, 1), got \(nackFraction)" }
        if maxLocalHealthMultiplier < 1 { return "maxLocalHealthMultiplier must be >= 1, got \(maxLocalHealthMultiplier)" }
        if !(suspicionMultiplier > 0) { return "suspicionMultiplier must be positive, got \(suspicionMultiplier)" }
        if !(suspicionMaxMultiplier >= 1) { return "suspicionMaxMultiplier must be >= 1, got \(suspicionMaxMultiplier)" }
        if suspicionConfirmations < 0 { return "suspicionConfirmations must be >= 0, got \(suspicionConfirmations)" }
        if retransmitMultiplier < 1 { return "retransmitMultiplier must be >= 1, got \(retransmitMultiplier)" }
        if maxUpdatesPerMessage < 1 { return "maxUpdatesPerMessage must be >= 1, got \(maxUpdatesPerMessage)" }
        if maxJoinReplyMembers < 2 { return "maxJoinReplyMembers must be >= 2, got \(maxJoinReplyMembers)" }
        if deadRetention <= .zero { return "deadRetention must be positive, got \(deadRetention)" }
        if joinRetryInterval <= .zero { return "joinRetryInterval must be positive, got \(joinRetryInterval)" }
        if let r = rejoinInterval, r <= .zero { return "rejoinInterval must be positive or nil, got \(r)" }
        if leaveFanout < 0 { return "leaveFanout must be >= 0, got \(leaveFanout)" }
        if let m = maxMembers, m < viewSize + indirectProbeCount + 2 {
            return "maxMembers must be nil or >= viewSize + indirectProbeCount + 2 (\(viewSize + indirectProbeCount + 2)), got \(m)"
        }
        if viewSize < 1 { return "viewSize must be >= 1, got \(viewSize)" }
        if shuffleLength < 1 || shuffleLength > viewSize {
            return "shuffleLength must be in 1...viewSize (\(viewSize)), got \(shuffleLength)"
        }
        if shufflePeriod <= .zero { return "shufflePeriod must be positive, got \(shufflePeriod)" }
        if maxIncarnationJump < 1 { return "maxIncarnationJump must be >= 1, got \(maxIncarnationJump)" }
        if !(admissionsPerSecond > 0) { return "admissionsPerSecond must be positive, got \(admissionsPerSecond)" }
        if admissionBurst < 1 { return "admissionBurst must be >= 1, got \(admissionBurst)" }
        return nil
    }
}
