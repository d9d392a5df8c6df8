// Why one file of ~830 lines: SWIM failure detection, its Lifeguard extensions and Cyclon peer sampling share one
// member table and one set of timers, and every rule that reads or writes that table is here, next to the others it
// must agree with (a third of the lines are the doc comments that state those rules). Split by concern it would
// spread one invariant (a member's status only moves forward, alive(n) < suspect(n) < alive(n+1) < dead) over files.
import Foundation // log10 and log for the Lifeguard and retransmit formulas
import RecommenderModel

// MARK: - Events and directives

/// Timers a `MembershipInstance` asks its shell to fire (`.schedule(timer, after:)`), delivered back through
/// `onTimer(_:now:)`. The shell never cancels a timer: the instance recognises stale ones (a probe that already
/// succeeded, a suspicion that was refuted or re-armed earlier) and ignores them.
public enum MembershipTimer: Hashable, Sendable {
    /// Start of a SWIM protocol period: close the previous probe, probe the next member.
    case protocolPeriod
    /// The direct ping of probe `seq` got no ack in time: ask k relays to `pingReq` the target.
    case probeTimeout(seq: UInt64)
    /// As a relay for a `pingReq` (our ping `seq`), send the requester a Lifeguard `nack` if the target is silent.
    case relayTimeout(seq: UInt64)
    /// A suspicion about `peer` may have expired (checked against its current, possibly shortened, deadline).
    case suspicion(PeerID)
    /// Start a Cyclon shuffle.
    case shuffle
    /// No `joinReply` yet: send `join` to the seeds again.
    case joinRetry
    /// Periodic anti-partition rejoin through one seed (`MembershipSettings.rejoinInterval`).
    case rejoin
}

/// Why a member was declared dead.
public enum MemberDownReason: Hashable, Sendable {
    /// Our own suspicion of it timed out (it failed direct and indirect probes, and did not refute).
    case unreachable
    /// Another member's rumour said it is dead.
    case reportedDead
    /// It announced its own graceful leave.
    case left
    /// Forgotten to make room for a peer that contacted us (`MembershipSettings.maxMembers`); it may well be alive.
    case evicted
}

/// What a `MembershipInstance` asks its shell to do. The shell performs directives in order.
public enum MembershipDirective: Hashable, Sendable {
    /// Send `message` over UDP to `address` (best effort: loss is expected and handled by the protocol).
    case send(Message, to: PeerAddress)
    /// Call `onTimer(timer, now:)` once, no earlier than `after` from the `now` of the call that returned this.
    case schedule(MembershipTimer, after: Duration)
    /// `peer` is now a live member at `address` (new, re-admitted after death, or its address changed).
    case memberUp(PeerID, PeerAddress)
    /// `peer` is no longer a member.
    case memberDown(PeerID, reason: MemberDownReason)
    /// A human-readable note about a notable protocol event (suspicion, refutation, re-admission).
    case log(String)
}

/// A read-only snapshot of one member as this instance sees it.
public struct MemberInfo: Hashable, Sendable {
    public var peer: PeerID
    public var address: PeerAddress
    public var status: MemberStatus
    public init(peer: PeerID, address: PeerAddress, status: MemberStatus) {
        self.peer = peer; self.address = address; self.status = status
    }
}

extension MemberStatus {
    /// Alive or suspect: still a member (SWIM keeps suspects in the group until their suspicion expires).
    public var isLive: Bool { if case .dead = self { return false } else { return true } }
    public var isAlive: Bool { if case .alive = self { return true } else { return false } }
}

// MARK: - The instance

/// The membership layer of one GossipRec peer, as a pure value: SWIM failure detection with the Lifeguard
/// extensions, infection-style dissemination, and a Cyclon peer-sampling view.
///
/// The shape follows apple/swift-cluster-membership's `SWIM.Instance`: every input is a
/// `mutating func on<Event>(..., now:)` returning `[MembershipDirective]` for a shell to interpret. Unlike it,
/// the instance never reads a clock (`now` is passed in) and never calls global randomness (it owns a seeded
/// `SplitMix64`), so the same inputs give the same directive trace, bit for bit.
///
/// **Failure detection** (Das, Gupta and Motivala, "SWIM: Scalable Weakly-consistent Infection-style Process
/// Group Membership Protocol", DSN 2002): every protocol period the instance pings one member, taken
/// round-robin from a list it reshuffles after each pass (so every member is probed within one pass of at most
/// N periods). Without an ack within the ping timeout it asks k other members to `pingReq` the target; if
/// neither path acks by the end of the period the target becomes `suspect(n)`. A suspect that does not refute
/// within the suspicion timeout is declared `dead(n)`. Members refute rumours about themselves by raising their
/// incarnation above the rumour's (`alive(n + 1)` beats `suspect(n)` and `dead(n)`, see `MemberStatus`).
///
/// **Lifeguard** (Dadgar, Phillips and Currey, "Lifeguard: Local Health Awareness for More Accurate Failure
/// Detection", DSN-W 2018; memberlist's `awareness.go` and `suspicion.go`):
/// - Local Health Multiplier (LHM) in `0..<maxLocalHealthMultiplier`: +1 for a failed probe with no relays,
///   +1 per relay that sent neither ack nor nack (a sign that *we* are slow or cut off), +1 when we must refute a
///   rumour about ourselves, -1 for each successful probe. The protocol period and ping timeout are multiplied by
///   LHM + 1, so a struggling peer probes less eagerly and accuses less.
/// - Relays send `nack` when the target stays silent, so the requester can tell a dead target from its own
///   broken links.
/// - Dynamic suspicion: the timeout starts at `max = suspicionMaxMultiplier * min`, with
///   `min = suspicionMultiplier * max(1, log10 N) * protocolPeriod`, and decays as
///   `max - (max - min) * log(C + 1) / log(K + 1)` with C confirmations, down to `min` at K.
///   *Deviation:* our `MemberUpdate` does not carry the suspicion's originator (memberlist's `From`), so a
///   confirmation is a distinct peer that sent us the same `suspect(n)` rumour, or our own failed probe of a
///   suspect. Relaying counts, which is weaker evidence than memberlist's, so timeouts tend towards `min` as a
///   rumour spreads; `max` still bounds detection time.
/// - *Extension:* suspicion timeouts are also multiplied by LHM + 1 (taken when the suspicion starts or is
///   confirmed), in the spirit of Lifeguard's local-health-aware probe: a member that was just cut off (its
///   relays missed their nacks) gives its own accusations time to reach the accused and be refuted once it is
///   reconnected, instead of declaring healthy peers dead.
///
/// **Dissemination**: each membership change is queued (`RumourQueue`) and piggy-backed on pings, pingReqs and
/// acks, fewest transmissions first, at most `maxUpdatesPerMessage` per message, each `λ * ceil(log10(N + 1))`
/// times. A message to a peer we hold `suspect` or `dead` always carries that record first, so the peer learns of
/// the accusation at once and refutes. *Extensions* for short outages: starting a suspicion also pings the
/// accused with it, and a refutation is pushed at once to `indirectProbeCount` random members (piggy-backing alone
/// left a peer that had been cut off for 2.5 s declared dead in a fifth of seeded runs, see the cluster tests).
///
/// **Member cap** (`MembershipSettings.maxMembers`, off by default): a full table ignores rumours about members it
/// does not hold and admits direct contacts and Cyclon entries in place of a random alive member outside the view,
/// the probe and any suspicion (`memberDown(_, reason: .evicted)`), so a peer holds a changing random sample.
///
/// **Joining, re-admission and tombstones.** A peer may join at any time through any live member: the contact
/// answers `join` with a `joinReply` (the joiner's own record, the contact, a random sample of live members) and
/// disseminates the newcomer. hashicorp/memberlist#311 describes restarted nodes staying dead in others' views
/// after a mass restart: a node that restarts with a low incarnation never hears the high-incarnation `dead`
/// rumour about itself, so it never refutes above it. Here:
/// - a `join` is direct evidence of life and always overrides `suspect`/`dead`: the contact records the joiner
///   as `alive(max(m + 1, i))` above its last known incarnation m, and the `joinReply` hands that record back, so
///   the joiner adopts the incarnation (an `alive(n)` about ourselves with n above ours raises ours to n);
///   the contact's own record in a `joinReply` is treated the same way by the joiner;
/// - any message from a peer we hold `suspect` or `dead` is answered with that record piggy-backed, so it
///   refutes; a message from a peer we do not know at all admits it as `alive(0)` (any later record wins);
/// - dead members stay as tombstones for `deadRetention` only, then are forgotten;
/// - every `rejoinInterval` a member re-sends `join` to one random seed, which heals partitions and restarted
///   seeds that forgot everybody.
///
/// **Peer sampling**: a `CyclonView` (Voulgaris et al. 2005) of size c, shuffled every `shufflePeriod` with the
/// oldest neighbour. The view only holds peers the SWIM layer holds live; dead ones are evicted, and when loss
/// leaves the view short it is topped up from live members. Random-mode partners are drawn from it
/// (`partnerCandidates`).
///
/// **Contract for a shell** (node runtime or simulator):
/// - Call `onStart(now:)` once before anything else; then optionally `onJoin(seeds:now:)` (a first or lone node
///   skips it). Messages and timers delivered before `onStart` are ignored.
/// - Deliver every received membership `Message` to `onMessage(_:from:address:now:)` with the sender's PeerID
///   from the frame header and the datagram's source address. Model-exchange messages are ignored here.
/// - Perform directives in order. Fire each `.schedule(t, after: d)` once, at or after `now + d` (late is fine,
///   early is not); never cancel; keep timers of an instance that is replaced (restart) away from the new one.
/// - `now` must never decrease between calls.
/// - After `onLeave(now:)` the instance answers nothing; discard it once its directives are sent.
public struct MembershipInstance: Sendable {
    public let id: PeerID
    public let address: PeerAddress
    public let settings: MembershipSettings

    /// Our incarnation number. Persist it in the checkpoint; a restart may pass a stale or zero value, which the
    /// protocol raises again as needed.
    public private(set) var incarnation: UInt64
    /// Lifeguard Local Health Multiplier score, in `0..<settings.maxLocalHealthMultiplier`.
    public private(set) var localHealth: Int = 0
    /// True between `onJoin` and the first `joinReply`.
    public private(set) var isAwaitingJoinReply = false
    public private(set) var hasStarted = false
    public private(set) var hasLeft = false

    var rng: SplitMix64
    var table: [PeerID: Record] = [:]
    /// Members in `table` that are alive or suspect (kept in step by `setStatus` and `collectGarbage`).
    var liveCount = 0
    /// Admissions of members we did not hold, as a token bucket (`MembershipSettings.admissionsPerSecond`).
    var admissionTokens: Double
    var admissionsRefilled = Instant.zero
    /// Rumours and joins ignored because their incarnation jumped implausibly far (`maxIncarnationJump`).
    public private(set) var rejectedRumours = 0
    /// Members not admitted because the admission rate was exhausted.
    public private(set) var admissionsRefused = 0
    /// `pingReq`s not relayed because their target is not a live member we hold.
    public private(set) var relaysRefused = 0
    var view: CyclonView
    var seeds: [PeerAddress] = []
    var lastSeq: UInt64 = 0
    var probe: Probe?
    var probeOrder: [PeerID] = []
    /// The members in `probeOrder` (kept in step), so a newly live member is queued in O(1).
    var probeQueued: Set<PeerID> = []
    var probeIndex = 0
    var relays: [UInt64: Relay] = [:]
    var suspicions: [PeerID: Suspicion] = [:]
    /// Updates waiting to be piggy-backed.
    var gossip = RumourQueue()
    var pendingShuffle: (seq: UInt64, sent: [ViewEntry])?

    struct Record: Sendable {
        var address: PeerAddress
        var status: MemberStatus
        /// When `status` last changed (tombstone age).
        var since: Instant
    }

    struct Probe: Sendable {
        var seq: UInt64
        var target: PeerID
        var relays: Set<PeerID> = []
        var nacks: Set<PeerID> = []
        var acked = false
    }

    struct Relay: Sendable {
        var origin: PeerID
        var originAddress: PeerAddress
        var originSeq: UInt64
        var target: PeerID
        var created: Instant
        var nacked = false
    }

    struct Suspicion: Sendable {
        var incarnation: UInt64
        var start: Instant
        var confirmers: Set<PeerID>
        var expectedConfirmations: Int
        var minTimeout: Duration
        var maxTimeout: Duration
        var deadline: Instant
    }

    /// - Parameters:
    ///   - id: this peer's identity (stable across restarts).
    ///   - address: where this peer listens (sent in `join` and in our Cyclon self entry).
    ///   - incarnation: the last incarnation from the checkpoint, or 0.
    ///   - seed: seeds this instance's private generator; same seed and inputs, same directives.
    public init(id: PeerID, address: PeerAddress, incarnation: UInt64 = 0, seed: UInt64,
                settings: MembershipSettings = MembershipSettings()) {
        admissionTokens = Double(settings.admissionBurst)
        if let problem = settings.validate() { preconditionFailure("invalid MembershipSettings: \(problem)") }
        self.id = id
        self.address = address
        self.incarnation = incarnation
        self.settings = settings
        self.rng = SplitMix64(seed: seed)
        self.view = CyclonView(capacity: settings.viewSize)
    }

    // MARK: Queries

    /// Live members (alive or suspect), not including ourselves, sorted by PeerID.
    public var livePeers: [MemberInfo] {
        table.filter { $0.value.status.isLive }.map { MemberInfo(peer: $0.key, address: $0.value.address, status: $0.value.status) }
            .sorted { $0.peer < $1.peer }
    }

    /// Every member we remember, tombstones included, sorted by PeerID.
    public var knownMembers: [MemberInfo] {
        table.map { MemberInfo(peer: $0.key, address: $0.value.address, status: $0.value.status) }
            .sorted { $0.peer < $1.peer }
    }

    /// Our record of `peer`, or nil if unknown (or forgotten after `deadRetention`).
    public func status(of peer: PeerID) -> MemberStatus? { table[peer]?.status }

    /// The current Cyclon partial view.
    public var viewEntries: [ViewEntry] { view.entries }

    /// The number of live members including ourselves (the N of the SWIM formulas).
    public var clusterSize: Int { 1 + liveCount }

    /// Who a round may gossip with in random mode: the alive members of the peer-sampling view, in view order, or
    /// when none of those is alive, every alive member in id order (`PartnerPolicy`, PeerCore, draws one).
    public var partnerCandidates: [MemberInfo] {
        let fromView = view.entries.compactMap { e -> MemberInfo? in
            guard let m = table[e.peer], m.status.isAlive else { return nil }
            return MemberInfo(peer: e.peer, address: m.address, status: m.status)
        }
        if !fromView.isEmpty { return fromView }
        return sortedPeers { $0.status.isAlive }.map { MemberInfo(peer: $0, address: table[$0]!.address, status: table[$0]!.status) }
    }

    // MARK: Events

    /// Starts the periodic machinery (probing, shuffling, rejoining). Idempotent. The first protocol period and
    /// shuffle are jittered uniformly within one period so peers started together do not act in lockstep.
    public mutating func onStart(now: Instant) -> [MembershipDirective] {
        guard !hasStarted, !hasLeft else { return [] }
        hasStarted = true
        var out: [MembershipDirective] = [
            .schedule(.protocolPeriod, after: jitter(settings.protocolPeriod)),
            .schedule(.shuffle, after: jitter(settings.shufflePeriod)),
        ]
        if let r = settings.rejoinInterval { out.append(.schedule(.rejoin, after: r)) }
        return out
    }

    /// Joins the cluster through `seeds` (our own address is skipped): sends `join` to each, and retries every
    /// `joinRetryInterval` until a `joinReply` arrives. The seeds are also used by the periodic rejoin. Calls
    /// `onStart` first if needed. Joining again later (with other seeds) is allowed.
    public mutating func onJoin(seeds: [PeerAddress], now: Instant) -> [MembershipDirective] {
        var out = onStart(now: now)
        guard !hasLeft else { return out }
        var unique: [PeerAddress] = []
        for s in seeds where s != address && !unique.contains(s) { unique.append(s) }
        self.seeds = unique
        guard !unique.isEmpty else {
            out.append(.log("\(id): no seeds other than ourselves, starting alone"))
            return out
        }
        isAwaitingJoinReply = true
        for s in unique { out.append(.send(.join(address: address, incarnation: incarnation), to: s)) }
        out.append(.schedule(.joinRetry, after: settings.joinRetryInterval))
        return out
    }

    /// Leaves gracefully: tells up to `leaveFanout` live members that we are `dead(incarnation)` (piggy-backed
    /// on a ping) and goes quiet. Receivers report `memberDown(id, reason: .left)` and spread the news.
    public mutating func onLeave(now: Instant) -> [MembershipDirective] {
        guard hasStarted, !hasLeft else { return [] }
        hasLeft = true
        var targets = sortedPeers { $0.status.isLive }
        partialShuffle(&targets, first: settings.leaveFanout, rng: &rng)
        let news = [MemberUpdate(peer: id, address: address, status: .dead(incarnation: incarnation))]
        return targets.prefix(settings.leaveFanout).map { peer in
            .send(.ping(seq: nextSeq(), updates: news), to: table[peer]!.address)
        }
    }

    /// A membership message from `from` (frame header), received from source `address`.
    public mutating func onMessage(_ message: Message, from: PeerID, address: PeerAddress,
                                   now: Instant) -> [MembershipDirective] {
        guard hasStarted, !hasLeft, from != id else { return [] }
        var out: [MembershipDirective] = []
        switch message {
        case .join(_, let joinerIncarnation):
            // The joiner is admitted at, and answered to, the address its datagram came from, never the one it
            // claims: a forged join could otherwise re-point another member or reflect a joinReply anywhere.
            handleJoin(from: from, address: address, incarnation: joinerIncarnation, now: now, &out)

        case .joinReply(let members):
            handleJoinReply(from: from, address: address, members: members, now: now, &out)

        case .ping(let seq, let updates):
            apply(updates, sender: from, now: now, &out)
            noteContact(from, address: address, now: now, &out)
            out.append(.send(.ack(seq: seq, target: id, updates: piggyback(for: from)), to: address))

        case .pingReq(let seq, let target, let targetAddress, let updates):
            apply(updates, sender: from, now: now, &out)
            noteContact(from, address: address, now: now, &out)
            if target == id {
                out.append(.send(.ack(seq: seq, target: id, updates: piggyback(for: from)), to: address))
            } else if let held = table[target], held.status.isLive, held.address == targetAddress {
                // Relay only to a live member we hold, at the address we hold: a pingReq must not make us ping an
                // arbitrary address (reflection) or a member we believe gone.
                let relaySeq = nextSeq()
                relays[relaySeq] = Relay(origin: from, originAddress: address, originSeq: seq, target: target,
                                         created: now)
                out.append(.send(.ping(seq: relaySeq, updates: piggyback(for: target)), to: targetAddress))
                out.append(.schedule(.relayTimeout(seq: relaySeq),
                                     after: settings.pingTimeout.scaled(by: settings.nackFraction)))
            } else {
                relaysRefused += 1
            }

        case .ack(let seq, let target, let updates):
            apply(updates, sender: from, now: now, &out)
            noteContact(from, address: address, now: now, &out)
            if var p = probe, p.seq == seq, p.target == target {
                if !p.acked {
                    p.acked = true
                    probe = p
                    adjustHealth(-1)
                }
            } else if let r = relays[seq], r.target == target {
                relays[seq] = nil
                out.append(.send(.ack(seq: r.originSeq, target: target, updates: piggyback(for: r.origin)),
                                 to: r.originAddress))
            }

        case .nack(let seq, let target):
            noteContact(from, address: address, now: now, &out)
            if var p = probe, p.seq == seq, p.target == target, p.relays.contains(from) {
                p.nacks.insert(from)
                probe = p
            }

        case .shuffleRequest(let seq, let entries):
            noteContact(from, address: address, now: now, &out)
            let reply = view.sample(settings.shuffleLength, excluding: from, rng: &rng)
            out.append(.send(.shuffleReply(seq: seq, entries: reply), to: address))
            mergeIntoView(entries, sent: reply, now: now, &out)

        case .shuffleReply(let seq, let entries):
            noteContact(from, address: address, now: now, &out)
            if let pending = pendingShuffle, pending.seq == seq {
                pendingShuffle = nil
                mergeIntoView(entries, sent: pending.sent, now: now, &out)
            } else {
                mergeIntoView(entries, sent: [], now: now, &out)
            }

        case .modelPush, .modelReply, .modelDecline, .interests:
            break
        }
        return out
    }

    /// A timer scheduled earlier by a `.schedule` directive has fired.
    public mutating func onTimer(_ timer: MembershipTimer, now: Instant) -> [MembershipDirective] {
        guard hasStarted, !hasLeft else { return [] }
        var out: [MembershipDirective] = []
        switch timer {
        case .protocolPeriod: protocolPeriod(now: now, &out)
        case .probeTimeout(let seq): probeTimedOut(seq: seq, &out)
        case .relayTimeout(let seq):
            if var r = relays[seq], !r.nacked {
                r.nacked = true
                relays[seq] = r
                out.append(.send(.nack(seq: r.originSeq, target: r.target), to: r.originAddress))
            }
        case .suspicion(let peer): suspicionCheck(peer, now: now, &out)
        case .shuffle: shuffle(now: now, &out)
        case .joinRetry:
            guard isAwaitingJoinReply, !seeds.isEmpty else { break }
            for s in seeds { out.append(.send(.join(address: address, incarnation: incarnation), to: s)) }
            out.append(.schedule(.joinRetry, after: settings.joinRetryInterval))
        case .rejoin:
            guard let interval = settings.rejoinInterval else { break }
            out.append(.schedule(.rejoin, after: interval))
            if !isAwaitingJoinReply, !seeds.isEmpty {
                let seed = seeds[rng.next(below: seeds.count)]
                out.append(.send(.join(address: address, incarnation: incarnation), to: seed))
            }
        }
        return out
    }

    // MARK: SWIM probing

    private mutating func protocolPeriod(now: Instant, _ out: inout [MembershipDirective]) {
        finishProbe(now: now, &out)
        out.append(.schedule(.protocolPeriod, after: settings.protocolPeriod * (localHealth + 1)))
        collectGarbage(now: now)
        keepSuspicionsCirculating()
        guard let target = nextProbeTarget(), let record = table[target] else { return }
        let seq = nextSeq()
        probe = Probe(seq: seq, target: target)
        out.append(.send(.ping(seq: seq, updates: piggyback(for: target)), to: record.address))
        out.append(.schedule(.probeTimeout(seq: seq), after: settings.pingTimeout * (localHealth + 1)))
    }

    private mutating func probeTimedOut(seq: UInt64, _ out: inout [MembershipDirective]) {
        guard var p = probe, p.seq == seq, !p.acked, let target = table[p.target], target.status.isLive else {
            return
        }
        var candidates = sortedPeers { $0.status.isAlive }.filter { $0 != p.target }
        partialShuffle(&candidates, first: settings.indirectProbeCount, rng: &rng)
        for relay in candidates.prefix(settings.indirectProbeCount) {
            p.relays.insert(relay)
            out.append(.send(.pingReq(seq: seq, target: p.target, targetAddress: target.address,
                                      updates: piggyback(for: relay)),
                             to: table[relay]!.address))
        }
        probe = p
    }

    /// Closes the probe of the previous period: nothing to do if acked; otherwise adjust local health and
    /// suspect the target (or, if we already suspected it from a rumour, add our own confirmation).
    private mutating func finishProbe(now: Instant, _ out: inout [MembershipDirective]) {
        guard let p = probe else { return }
        probe = nil
        guard !p.acked, let record = table[p.target] else { return }
        adjustHealth(p.relays.isEmpty ? 1 : p.relays.count - p.nacks.count)
        switch record.status {
        case .alive(let n):
            setStatus(p.target, address: record.address, status: .suspect(incarnation: n), sender: id,
                      reason: .unreachable, now: now, &out)
        case .suspect(let n):
            if suspicions[p.target]?.confirmers.contains(id) == false {
                confirmSuspicion(p.target, by: id, now: now, &out)
                enqueue(MemberUpdate(peer: p.target, address: record.address, status: .suspect(incarnation: n)))
            }
        case .dead:
            break
        }
    }

    /// A suspicion we hold stays in the dissemination queue until it resolves (refuted or dead). Without this,
    /// an accusation whose λ log N transmissions were all lost (typically: *we* were cut off) expires unheard
    /// and we declare a live peer dead; re-queued, it reaches the accused, who refutes, once the link is back.
    /// Costs one update slot per active suspicion; re-sends come from us, so they add no confirmations.
    private mutating func keepSuspicionsCirculating() {
        guard !suspicions.isEmpty else { return }
        for peer in suspicions.keys.sorted() where !gossip.contains(peer) {
            guard let r = table[peer], case .suspect = r.status else { continue }
            enqueue(MemberUpdate(peer: peer, address: r.address, status: r.status))
        }
    }

    private mutating func nextProbeTarget() -> PeerID? {
        for _ in 0...probeOrder.count {
            if probeIndex >= probeOrder.count {
                probeOrder = sortedPeers { $0.status.isLive }
                partialShuffle(&probeOrder, first: probeOrder.count, rng: &rng)
                probeQueued = Set(probeOrder)
                probeIndex = 0
                if probeOrder.isEmpty { return nil }
            }
            let peer = probeOrder[probeIndex]
            probeIndex += 1
            if table[peer]?.status.isLive == true { return peer }
        }
        return nil
    }

    /// Inserts a newly live member at a random position of the round-robin list (as memberlist does), so it is
    /// probed within the current pass.
    private mutating func addToProbeOrder(_ peer: PeerID) {
        guard probeQueued.insert(peer).inserted else { return }
        // A uniformly random position among the members not yet probed this pass; the member there moves to the
        // end (an inside-out Fisher-Yates step: the unprobed rest stays a uniformly random order) in O(1).
        let lower = min(probeIndex, probeOrder.count)
        let position = lower + rng.next(below: probeOrder.count - lower + 1)
        if position == probeOrder.count {
            probeOrder.append(peer)
        } else {
            probeOrder.append(probeOrder[position])
            probeOrder[position] = peer
        }
    }

    private mutating func adjustHealth(_ delta: Int) {
        localHealth = min(max(localHealth + delta, 0), settings.maxLocalHealthMultiplier - 1)
    }

    // MARK: Suspicion (Lifeguard dynamic suspicion)

    private mutating func startSuspicion(_ peer: PeerID, incarnation n: UInt64, by sender: PeerID, now: Instant,
                                         _ out: inout [MembershipDirective]) {
        let size = clusterSize
        var k = settings.suspicionConfirmations
        if size - 2 < k { k = 0 }
        let nodeScale = max(1.0, log10(Double(max(1, size))))
        let minTimeout = settings.protocolPeriod.scaled(by: settings.suspicionMultiplier * nodeScale)
        let maxTimeout = minTimeout.scaled(by: settings.suspicionMaxMultiplier)
        let timeout = (k < 1 ? minTimeout : maxTimeout) * (localHealth + 1)
        suspicions[peer] = Suspicion(incarnation: n, start: now, confirmers: [sender], expectedConfirmations: k,
                                     minTimeout: minTimeout, maxTimeout: maxTimeout, deadline: now + timeout)
        out.append(.schedule(.suspicion(peer), after: timeout))
        out.append(.log("\(id): suspect \(peer) incarnation \(n), timeout \(timeout)"))
        // Tell the accused at once (the accusation rides first on any message to it): a peer that was only cut
        // off for a moment refutes now instead of when some prober happens to reach it, which after a short
        // outage was often too late (dynamic suspicion shrinks timeouts to the minimum within seconds).
        if let r = table[peer] { out.append(.send(.ping(seq: nextSeq(), updates: piggyback(for: peer)), to: r.address)) }
    }

    /// A further, distinct confirmation of the suspicion about `peer` shortens its deadline.
    private mutating func confirmSuspicion(_ peer: PeerID, by sender: PeerID, now: Instant,
                                           _ out: inout [MembershipDirective]) {
        guard sender != peer, var s = suspicions[peer], !s.confirmers.contains(sender) else { return }
        s.confirmers.insert(sender)
        let c = s.confirmers.count - 1
        if s.expectedConfirmations >= 1 {
            let span = (s.maxTimeout - s.minTimeout).inSeconds
            let fraction = log(Double(c + 1)) / log(Double(s.expectedConfirmations + 1))
            let timeout = max(s.minTimeout, s.maxTimeout - .nanoseconds(Int64((span * fraction * 1e9).rounded())))
            let deadline = s.start + timeout * (localHealth + 1)
            if deadline < s.deadline {
                s.deadline = deadline
                out.append(.schedule(.suspicion(peer), after: max(.zero, deadline - now)))
            }
        }
        suspicions[peer] = s
    }

    private mutating func suspicionCheck(_ peer: PeerID, now: Instant, _ out: inout [MembershipDirective]) {
        guard let s = suspicions[peer], now >= s.deadline, let record = table[peer],
              record.status == .suspect(incarnation: s.incarnation) else { return }
        setStatus(peer, address: record.address, status: .dead(incarnation: s.incarnation), sender: id,
                  reason: .unreachable, now: now, &out)
    }

    // MARK: Membership state changes

    /// Applies piggy-backed updates received from `sender`.
    private mutating func apply(_ updates: [MemberUpdate], sender: PeerID, now: Instant,
                                _ out: inout [MembershipDirective]) {
        for u in updates { applyUpdate(u, sender: sender, now: now, &out) }
    }

    /// Whether `claimed` is an incarnation an honest peer could have, given `held` (what we hold, nil if nothing).
    private func plausible(_ claimed: UInt64, over held: UInt64?) -> Bool {
        let base = held ?? 0
        return claimed <= base || claimed - base <= settings.maxIncarnationJump
    }

    /// Takes one admission token (refilled at `admissionsPerSecond`, up to `admissionBurst`); false when none is left.
    private mutating func admit(now: Instant) -> Bool {
        let elapsed = max(0, (now - admissionsRefilled).inSeconds)
        admissionsRefilled = now
        admissionTokens = min(Double(settings.admissionBurst), admissionTokens + elapsed * settings.admissionsPerSecond)
        guard admissionTokens >= 1 else { admissionsRefused += 1; return false }
        admissionTokens -= 1
        return true
    }

    private mutating func applyUpdate(_ u: MemberUpdate, sender: PeerID, now: Instant, limited: Bool = true,
                                      _ out: inout [MembershipDirective]) {
        if u.peer == id { return handleRumourAboutSelf(u, &out) }
        guard plausible(u.status.incarnation, over: table[u.peer]?.status.incarnation) else { rejectedRumours += 1; return }
        let reason: MemberDownReason = sender == u.peer ? .left : .reportedDead
        guard let old = table[u.peer] else {
            if isFull { return }   // someone else's member: the peers that hold it spread the rumour
            if limited, !admit(now: now) { return }
            if case .dead = u.status {
                // Remember the tombstone (so older alive rumours cannot resurrect it) without re-spreading it.
                table[u.peer] = Record(address: u.address, status: u.status, since: now)
            } else {
                setStatus(u.peer, address: u.address, status: u.status, sender: sender, reason: reason, now: now, &out)
            }
            return
        }
        if u.status > old.status {
            setStatus(u.peer, address: u.address, status: u.status, sender: sender, reason: reason, now: now, &out)
        } else if u.status == old.status, case .suspect = u.status {
            confirmSuspicion(u.peer, by: sender, now: now, &out)
        }
    }

    /// SWIM refutation: a rumour that we are suspect or dead at an incarnation >= ours makes us announce
    /// `alive(n + 1)`; an `alive(n)` above ours (a contact remembers us from before a restart) is adopted when it
    /// holds our address, and refuted like an accusation when it points us elsewhere (a forged re-pointing). A
    /// rumour whose incarnation jumps implausibly far above ours is ignored (nothing could ever refute it).
    private mutating func handleRumourAboutSelf(_ u: MemberUpdate, _ out: inout [MembershipDirective]) {
        let status = u.status
        guard plausible(status.incarnation, over: incarnation) else { rejectedRumours += 1; return }
        switch status {
        case .alive(let n) where u.address == address:
            if n > incarnation { incarnation = n }
        case .alive(let n), .suspect(let n), .dead(let n):
            if n >= incarnation {
                incarnation = n.saturatingSuccessor
                adjustHealth(1)
                out.append(.log("\(id): refuting \(status) with incarnation \(incarnation)"))
                let refutation = MemberUpdate(peer: id, address: address, status: .alive(incarnation: incarnation))
                enqueue(refutation)
                // Push the refutation to a few members now rather than only on our own probes, which Lifeguard
                // slows down right after an outage (memberlist gossips to 3 peers every 200 ms for the same reason).
                var targets = sortedPeers { $0.status.isLive }
                partialShuffle(&targets, first: settings.indirectProbeCount, rng: &rng)
                for peer in targets.prefix(settings.indirectProbeCount) {
                    let updates = [refutation] + gossip.take(settings.maxUpdatesPerMessage - 1, skipping: id,
                                                             retransmitLimit: retransmitLimit)
                    out.append(.send(.ping(seq: nextSeq(), updates: updates), to: table[peer]!.address))
                }
            } else if !gossip.contains(id) {
                // Someone still carries an old accusation or address; make sure our current record keeps circulating.
                enqueue(MemberUpdate(peer: id, address: address, status: .alive(incarnation: incarnation)))
            }
        }
    }

    /// Direct evidence that `peer` is alive (it sent us a `join`, or its own record in a `joinReply`): the record
    /// becomes alive above any suspicion or death we hold, with the higher of the claimed and known incarnations.
    private mutating func admitDirectly(_ peer: PeerID, address: PeerAddress, incarnation claimed: UInt64,
                                        now: Instant, _ out: inout [MembershipDirective]) {
        guard plausible(claimed, over: table[peer]?.status.incarnation) else { rejectedRumours += 1; return }
        let status: MemberStatus
        if table[peer] == nil { makeRoom(&out) }
        switch table[peer]?.status {
        case nil: status = .alive(incarnation: claimed)
        case .alive(let m)?:
            // A new address with the same incarnation would not propagate (equal records are not news).
            let moved = table[peer]!.address != address
            status = .alive(incarnation: moved ? max(m.saturatingSuccessor, claimed) : max(m, claimed))
        case .suspect(let m)?, .dead(let m)?: status = .alive(incarnation: max(m.saturatingSuccessor, claimed))
        }
        if let old = table[peer], old.status == status, old.address == address { return }
        setStatus(peer, address: address, status: status, sender: peer, reason: .reportedDead, now: now, &out)
    }

    /// Any message from a peer we do not know at all proves it is running: admit it as `alive(0)`, the weakest
    /// claim, which every real record of it overrides. `disseminate: false` keeps the admission to ourselves.
    private mutating func noteContact(_ peer: PeerID, address: PeerAddress, now: Instant, disseminate: Bool = true,
                                      _ out: inout [MembershipDirective]) {
        guard table[peer] == nil, admit(now: now) else { return }
        makeRoom(&out)
        setStatus(peer, address: address, status: .alive(incarnation: 0), sender: peer, reason: .reportedDead,
                  now: now, disseminate: disseminate, &out)
    }

    /// True when `settings.maxMembers` is set and reached.
    private var isFull: Bool { settings.maxMembers.map { table.count >= $0 } ?? false }

    /// With `maxMembers` reached, forgets one member to admit a peer that contacted us directly: a tombstone if
    /// there is one, else a random `alive` member that is not in the view, not being probed and not suspected
    /// (the first such member of the probe list from a random position on: the list's order is deterministic).
    /// Only when no member qualifies does the table grow by one (the cap is a target, never a reason to refuse a
    /// live contact).
    private mutating func makeRoom(_ out: inout [MembershipDirective]) {
        guard isFull else { return }
        if table.count > liveCount, let oldest = table.filter({ !$0.value.status.isLive })
            .min(by: { ($0.value.since, $0.key) < ($1.value.since, $1.key) })?.key {
            forget(oldest)
            return
        }
        guard !probeOrder.isEmpty else { return }
        let start = rng.next(below: probeOrder.count)
        for k in 0..<probeOrder.count {
            let peer = probeOrder[(start + k) % probeOrder.count]
            guard let r = table[peer], r.status.isAlive, !view.contains(peer), probe?.target != peer,
                  suspicions[peer] == nil else { continue }
            forget(peer)
            liveCount -= 1
            out.append(.memberDown(peer, reason: .evicted))
            return
        }
    }

    /// Drops every trace of `peer` (the caller adjusts `liveCount` and reports it).
    private mutating func forget(_ peer: PeerID) {
        table[peer] = nil
        removeGossip(peer)
        suspicions[peer] = nil
        probeQueued.remove(peer)   // a stale entry may stay in `probeOrder`; `nextProbeTarget` skips it
    }

    /// The one place a member's record changes: emits memberUp/memberDown, maintains suspicions, the probe list
    /// and the Cyclon view, and queues the new record for dissemination.
    private mutating func setStatus(_ peer: PeerID, address: PeerAddress, status: MemberStatus, sender: PeerID,
                                    reason: MemberDownReason, now: Instant, disseminate: Bool = true,
                                    _ out: inout [MembershipDirective]) {
        let old = table[peer]
        table[peer] = Record(address: address, status: status, since: now)
        let wasLive = old?.status.isLive ?? false
        liveCount += (status.isLive ? 1 : 0) - (wasLive ? 1 : 0)
        switch status {
        case .alive, .suspect:
            if !wasLive || old?.address != address {
                out.append(.memberUp(peer, address))
                if let old, !old.status.isLive { out.append(.log("\(id): re-admitted \(peer) as \(status)")) }
                addToProbeOrder(peer)
                view.updateAddress(of: peer, to: address)
                view.insert(ViewEntry(peer: peer, address: address, age: 0))
            }
            if case .suspect(let n) = status {
                startSuspicion(peer, incarnation: n, by: sender, now: now, &out)
            } else {
                suspicions[peer] = nil
            }
        case .dead:
            suspicions[peer] = nil
            view.remove(peer)
            if wasLive { out.append(.memberDown(peer, reason: reason)) }
        }
        if disseminate { enqueue(MemberUpdate(peer: peer, address: address, status: status)) }
    }

    /// Forgets tombstones older than `deadRetention` and relay records no requester can still be waiting for.
    private mutating func collectGarbage(now: Instant) {
        let relayLifetime = settings.protocolPeriod * settings.maxLocalHealthMultiplier
        if !relays.isEmpty { relays = relays.filter { now - $0.value.created < relayLifetime } }
        guard table.count > liveCount else { return }
        let expired = table.filter { !$0.value.status.isLive && now - $0.value.since >= settings.deadRetention }
        for peer in expired.keys { forget(peer) }
    }

    // MARK: Dissemination

    /// memberlist's retransmit limit: λ * ceil(log10(N + 1)).
    var retransmitLimit: Int {
        settings.retransmitMultiplier * Int(log10(Double(clusterSize + 1)).rounded(.up))
    }

    private mutating func enqueue(_ update: MemberUpdate) { gossip.enqueue(update) }

    private mutating func removeGossip(_ peer: PeerID) { gossip.remove(peer) }

    /// Updates to piggy-back on a message to `destination`: our record of the destination first when it is
    /// suspect or dead (so it can refute), then queued updates, least transmitted and oldest first.
    mutating func piggyback(for destination: PeerID) -> [MemberUpdate] {
        var out: [MemberUpdate] = []
        if let r = table[destination], !r.status.isAlive {
            out.append(MemberUpdate(peer: destination, address: r.address, status: r.status))
        }
        out += gossip.take(settings.maxUpdatesPerMessage - out.count, skipping: out.isEmpty ? nil : destination,
                           retransmitLimit: retransmitLimit)
        return out
    }

    // MARK: Joining

    private mutating func handleJoin(from joiner: PeerID, address joinerAddress: PeerAddress,
                                     incarnation claimed: UInt64, now: Instant, _ out: inout [MembershipDirective]) {
        if table[joiner] == nil, !admit(now: now) { return }
        admitDirectly(joiner, address: joinerAddress, incarnation: claimed, now: now, &out)
        var members: [MemberUpdate] = []
        if let r = table[joiner] { members.append(MemberUpdate(peer: joiner, address: r.address, status: r.status)) }
        members.append(MemberUpdate(peer: id, address: address, status: .alive(incarnation: incarnation)))
        var sample = sortedPeers { $0.status.isLive }.filter { $0 != joiner }
        let room = settings.maxJoinReplyMembers - members.count
        partialShuffle(&sample, first: room, rng: &rng)
        for peer in sample.prefix(room) {
            let r = table[peer]!
            members.append(MemberUpdate(peer: peer, address: r.address, status: r.status))
        }
        out.append(.send(.joinReply(members: members), to: joinerAddress))
    }

    private mutating func handleJoinReply(from contact: PeerID, address contactAddress: PeerAddress,
                                          members: [MemberUpdate], now: Instant, _ out: inout [MembershipDirective]) {
        isAwaitingJoinReply = false
        var contactRecorded = false
        for u in members {
            if u.peer == contact, case .alive(let n) = u.status {
                admitDirectly(contact, address: u.address, incarnation: n, now: now, &out)
                contactRecorded = true
            } else {
                applyUpdate(u, sender: contact, now: now, limited: false, &out)
            }
        }
        if !contactRecorded {
            admitDirectly(contact, address: contactAddress, incarnation: 0, now: now, &out)
        }
    }

    // MARK: Cyclon

    private mutating func shuffle(now: Instant, _ out: inout [MembershipDirective]) {
        out.append(.schedule(.shuffle, after: settings.shufflePeriod))
        let snapshot = table
        view.removeAll { snapshot[$0]?.status.isLive != true }
        if !view.isFull {
            var extra = sortedPeers { $0.status.isAlive }.filter { !view.contains($0) }
            let room = view.capacity - view.count
            partialShuffle(&extra, first: room, rng: &rng)
            for peer in extra.prefix(room) {
                view.insert(ViewEntry(peer: peer, address: table[peer]!.address, age: 0))
            }
        }
        view.incrementAges()
        guard let oldest = view.oldest else { return }
        view.remove(oldest.peer)
        let sent = view.sample(settings.shuffleLength - 1, rng: &rng)
        let seq = nextSeq()
        pendingShuffle = (seq, sent)
        let entries = [ViewEntry(peer: id, address: address, age: 0)] + sent
        out.append(.send(.shuffleRequest(seq: seq, entries: entries), to: table[oldest.peer]?.address ?? oldest.address))
    }

    private mutating func mergeIntoView(_ received: [ViewEntry], sent: [ViewEntry], now: Instant,
                                        _ out: inout [MembershipDirective]) {
        if settings.maxMembers != nil {
            // With a member cap the table is a sample, and Cyclon is what keeps it (and the view) moving: an entry
            // about a peer we do not hold is admitted at alive(0), the weakest claim (SWIM probes it like any
            // member), without being spread as news. Without this, views freeze on the first members learned
            // (everyone's join contact's) and those few peers receive most model pushes.
            for e in received where e.peer != id {
                noteContact(e.peer, address: e.address, now: now, disseminate: false, &out)
            }
        }
        let snapshot = table
        view.merge(received: received, sent: sent, selfID: id) { snapshot[$0]?.status.isLive == true }
    }

    // MARK: Helpers

    private mutating func nextSeq() -> UInt64 {
        lastSeq &+= 1
        return lastSeq
    }

    /// Members whose record satisfies `include`, sorted by PeerID (dictionary order is per-process random, so
    /// every random choice starts from a sorted list to keep traces reproducible).
    private func sortedPeers(_ include: (Record) -> Bool) -> [PeerID] {
        table.compactMap { include($0.value) ? $0.key : nil }.sorted()
    }

    private mutating func jitter(_ period: Duration) -> Duration {
        .nanoseconds(Int64(rng.next(below: Int(max(1, period.wholeNanoseconds)))))
    }
}

extension UInt64 {
    /// self + 1, or self at `UInt64.max`: incarnations saturate instead of wrapping (or trapping).
    var saturatingSuccessor: UInt64 { self == .max ? self : self + 1 }
}
