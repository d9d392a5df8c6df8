import GossipProtocol
import RecommenderModel

/// Settings of `PartnerReputation`.
public struct ReputationSettings: Sendable, Hashable {
    /// The switch (on by default; `--defences` turns it off with the merge defences' switches).
    public var enabled = true
    /// A judged copy fails when more than this share of its weighted rows was clipped or dropped by the screen
    /// (`CopyScreen.Verdict.failedShare`), or when it claimed what no honest peer can hold (`Verdict.impossible`).
    public var failShare = 0.5
    /// The weight of each judged copy in a partner's failure score (an exponential average).
    public var memory = 0.3
    /// A partner whose failure score exceeds this after at least `minCopies` judged copies is quarantined.
    public var quarantineAbove = 0.6
    public var minCopies = 3
    /// How long a quarantine lasts; afterwards the partner is on probation (score just below the threshold), so one
    /// more failing copy quarantines it again.
    public var quarantine: Duration = .seconds(120)
    /// The receiver judges nobody until it has screened this many copies (its clipping radii start from a prior and
    /// settle on the swarm's spread within a few dozen merges).
    public var warmUp = 20
    /// While more than this share of all recently judged copies fail, the receiver is the odd one out (a receiver
    /// far from the whole swarm: poisoned earlier, or on a table every partner has left behind) and judges nobody.
    public var selfDoubtAbove = 0.5
    public init() {}

    /// Off (for measurements).
    public static let off: ReputationSettings = { var r = ReputationSettings(); r.enabled = false; return r }()

    public func validate() -> String? {
        if !(failShare > 0 && failShare < 1) { return "reputation: fail share must be in (0, 1)" }
        if !(memory > 0 && memory <= 1) { return "reputation: memory must be in (0, 1]" }
        if !(quarantineAbove > 0 && quarantineAbove < 1) { return "reputation: quarantine threshold must be in (0, 1)" }
        if minCopies < 1 { return "reputation: min copies must be >= 1" }
        if warmUp < 0 { return "reputation: warm-up must be >= 0" }
        if quarantine <= .zero { return "reputation: quarantine must be positive" }
        if !(selfDoubtAbove > 0 && selfDoubtAbove <= 1) { return "reputation: self-doubt threshold must be in (0, 1]" }
        return nil
    }
}

/// **Per-partner reputation with quarantine**: the one defence that remembers who sent what. Each copy the screen
/// judged (`CopyScreen.Verdict`) counts for its sender: it fails when the screen dropped it as an outlier (most of its
/// rows several honest distances from the receiver's), when more than `failShare` of its rows were clipped or over the
/// value bound, or when it claimed a weight no honest peer can hold (`Verdict.failed(share:)`). A partner
/// whose exponentially averaged failure score exceeds `quarantineAbove` is quarantined for `quarantine`: its pushes
/// are declined unmerged (`DeclineReason.refused`), its replies dropped, and `PartnerPolicy` does not pick it.
///
/// Not judged, so that honest situations do not count against anybody:
/// - any copy during the receiver's first `warmUp` screened copies (its clipping radii are still settling);
/// - copies more than `MergeDefences.maxClockLead` versions behind the receiver (a returning peer's stale copy, a late
///   joiner's first copies) or ahead of it (the receiver is the one behind: it is catching up after a restart);
/// - every copy while most recently judged copies fail (`selfDoubtAbove`): then the receiver is the outlier (a late
///   joiner on the initial table, a peer poisoned before its radii adapted), not its partners.
/// A straggler's copies sit as close as anyone's (a voter's own copy moves by one local step), and churn only
/// removes partners. An honest peer slower than `MergeDefences.maxSlowdown` claims weights over the bound and fails.
///
/// How much it adds: in a random-partner swarm of N peers a given pair meets about once per N/2 rounds, so with
/// `minCopies` = 3 a receiver rarely quarantines anybody within a few hundred rounds (10 quarantines in a 943-peer,
/// 100 s run with 47 attackers); the screen itself drops their copies meanwhile. It matters for small swarms, static
/// topologies and client-graph neighbourhoods, where the same partners come back.
///
/// What a malicious key holder can still do: stay inside the clipping radius (its copies then never fail, and move
/// rows by at most the radius each), fail less than one copy in (1 − `quarantineAbove`) or so, forge a clock more than
/// `maxClockLead` ahead so that its copies are not judged (the clock-lead bound still applies to them), or come back
/// under a new identity (Sybils: a reputation is per `PeerID`). A receiver's reputation is its own: nothing is gossiped,
/// so an attacker cannot slander an honest peer to others.
public struct PartnerReputation: Sendable {
    public let settings: ReputationSettings
    struct Entry: Sendable {
        var score = 0.0
        var judged = 0
        var quarantinedUntil: Instant?
    }
    var entries: [PeerID: Entry] = [:]
    /// Exponential average of failures over all judged copies (the receiver's self-doubt).
    public private(set) var overallFailure = 0.0
    /// Quarantines started so far.
    public private(set) var quarantines = 0
    /// Copies screened so far (judged or not).
    public private(set) var seen = 0

    public init(settings: ReputationSettings = .init()) {
        precondition(settings.validate() == nil, settings.validate() ?? "")
        self.settings = settings
    }

    /// True while `peer` is quarantined at `now`.
    public func isQuarantined(_ peer: PeerID, now: Instant) -> Bool {
        guard settings.enabled, let until = entries[peer]?.quarantinedUntil else { return false }
        return now < until
    }

    /// `peer`'s failure score (0 for a peer never judged).
    public func score(of peer: PeerID) -> Double { entries[peer]?.score ?? 0 }

    /// Counts the verdict on a copy `peer` sent; returns true when this starts a quarantine.
    @discardableResult
    public mutating func record(_ v: CopyScreen.Verdict, from peer: PeerID, now: Instant) -> Bool {
        seen += 1
        guard settings.enabled, seen > settings.warmUp, !v.stale, !v.leadCapped, v.rowsJudged + v.rowsRejected > 0 else { return false }
        let failed = v.failed(share: settings.failShare)
        let m = settings.memory
        let doubting = overallFailure > settings.selfDoubtAbove
        overallFailure = (1 - m * 0.2) * overallFailure + m * 0.2 * (failed ? 1 : 0)   // slower: over many partners
        guard !doubting else { return false }
        var e = entries[peer] ?? Entry()
        if let until = e.quarantinedUntil, now >= until {
            e.quarantinedUntil = nil
            e.score = settings.quarantineAbove * 0.99   // probation
        }
        e.score = (1 - m) * e.score + m * (failed ? 1 : 0)
        e.judged += 1
        var started = false
        if e.quarantinedUntil == nil, e.judged >= settings.minCopies, e.score > settings.quarantineAbove {
            e.quarantinedUntil = now + settings.quarantine
            quarantines += 1
            started = true
        }
        entries[peer] = e
        return started
    }
}
