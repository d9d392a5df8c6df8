import GossipProtocol
import RecommenderModel

/// What one peer runs with, in every driver.
public struct PeerSettings: Sendable {
    public var membership = MembershipSettings()
    public var gossip = GossipSettings()
    /// How partners are chosen (`PartnerPolicy`).
    public var partners: PartnerMode = .random
    /// Save a checkpoint this often, and at a graceful stop; nil: never.
    public var checkpointPeriod: Duration? = nil
    /// At most this many live members are kept in a checkpoint (a random sample), enough to rejoin without a seed.
    public var checkpointPeers = 32
    /// Per-partner reputation and quarantine (`PartnerReputation`; the merge defences are `gossip.defences`).
    public var reputation = ReputationSettings()
    /// Test-only: makes this peer malicious (`Attack`). Nil in every normal run.
    public var attack: Attack? = nil
    public init() {}

    /// Every defence on or off: the merge defences (`gossip.defences`) and the reputation.
    public mutating func setDefences(_ on: Bool) {
        gossip.defences = on ? .on : .off
        reputation.enabled = on
    }

    /// Nil, or what is wrong (for a catalogue of `catalogueSize` items in client-graph mode).
    public func validate(catalogueSize: Int? = nil) -> String? {
        if let p = membership.validate() { return p }
        if let p = gossip.validate() { return p }
        if case .clientGraph(let cg) = partners, let p = cg.validate(catalogueSize: catalogueSize) { return p }
        if let c = checkpointPeriod, c <= .zero { return "checkpoint period must be > 0" }
        if checkpointPeers < 0 { return "checkpoint peers must be >= 0" }
        if let p = reputation.validate() { return p }
        if let a = attack, let n = catalogueSize, let p = a.validate(catalogueSize: n) { return p }
        return nil
    }
}

/// One peer, as pure code: the composition of membership (`MembershipInstance`: SWIM failure detection and
/// Cyclon peer sampling), gossip learning (`GossipLearningInstance`), the client graph (`ClientGraphInstance`,
/// client-graph mode only), partner choice and trust (`PartnerPolicy`), what a checkpoint holds, and the order
/// in which a peer starts and stops. Both drivers run exactly this: `PeerNode` over sockets and Dispatch timers,
/// `EventSimulation` over a virtual network and clock. Whatever a peer decides is decided here or in the instances
/// it composes, so every mode and every knob exists in both drivers by construction.
///
/// Defence against lying partners is split by the state it needs: what a copy may claim is decided per copy in
/// `MergeDefences` (applied by the gossip instance's `CopyScreen`), what a partner's record earns it per partner in
/// `PartnerReputation` (consulted here before merging, and by `PartnerPolicy` when choosing). The test-only attack
/// harness (`PeerSettings.attack`, `Attack`) also lives here, so both drivers can run malicious peers.
///
/// Inputs are events (`onStart`, `onStop`, `onTimer`, `onDatagram`, `onStreamMessage`, `onExchangeFailed`, and
/// the scenario commands `onSlowdown` and `onNeighbours`), each with the time `now` (monotonic, never decreasing);
/// outputs are `PeerEffect`s, which the driver performs in order. Randomness comes from generators seeded at `init`,
/// one per purpose (`SeedScheme`), so a peer's decisions replay exactly from its seed and its inputs.
///
/// A driver must: decode bytes into messages before calling in (and drop what does not decode), deliver every
/// `.schedule` back as `onTimer` (or drop it when the peer has stopped), and connect `.exchange` effects to the
/// partner's `onStreamMessage(inbound: true)`, whose `.reply` effects travel back to `onStreamMessage(inbound: false)`.
public struct PeerInstance: Sendable {
    public enum Phase: Sendable, Equatable { case created, running, stopped }

    public let id: PeerID
    public let address: PeerAddress
    public let settings: PeerSettings
    public private(set) var membership: MembershipInstance
    public private(set) var gossip: GossipLearningInstance
    /// Client-graph mode only.
    public private(set) var clientGraph: ClientGraphInstance?
    public private(set) var phase = Phase.created
    var partners: PartnerPolicy
    /// Draws the checkpoint's sample of live members.
    var checkpointRNG: SplitMix64
    /// What this peer thinks of each partner's copies (`PartnerReputation`).
    public private(set) var reputation: PartnerReputation
    /// Test-only: the malicious behaviour (`PeerSettings.attack`).
    var attacker: Attacker?

    /// A peer `id` listening at `address`, learning with `learner` (fresh, or restored from a checkpoint) and
    /// merging with `merge`. `incarnation`: the membership incarnation to start from (a restored peer's saved one).
    /// `seed`: this start's peer seed (`SeedScheme.peer`); every generator of the peer derives from it.
    public init(id: PeerID, address: PeerAddress, learner: PeerLearner, merge: any MergeRule,
                settings: PeerSettings = .init(), seed: UInt64, incarnation: UInt64 = 0) {
        precondition(settings.validate(catalogueSize: learner.shard.itemCount) == nil,
                     settings.validate(catalogueSize: learner.shard.itemCount) ?? "")
        self.id = id
        self.address = address
        self.settings = settings
        let seeds = SeedScheme.Purposes(peerSeed: seed)
        membership = MembershipInstance(id: id, address: address, incarnation: incarnation, seed: seeds.membership,
                                        settings: settings.membership)
        gossip = GossipLearningInstance(id: id, learner: learner, merge: merge, settings: settings.gossip, seed: seeds.gossip)
        if case .clientGraph(let cg) = settings.partners {
            clientGraph = ClientGraphInstance(id: id, shard: learner.shard, settings: cg, seed: seeds.clientGraph)
        }
        partners = PartnerPolicy(mode: settings.partners, seed: seeds.partners)
        checkpointRNG = SplitMix64(seed: seeds.checkpoint)
        reputation = PartnerReputation(settings: settings.reputation)
        if let attack = settings.attack {
            attacker = Attacker(attack: attack, seed: seeds.attack, table: learner.items)
            if attack.kind == .freeRider { gossip.learns = false }
        }
    }

    /// True when this peer runs the attack harness.
    public var isMalicious: Bool { attacker != nil }

    /// The local learner (model, data, clock).
    public var learner: PeerLearner { gossip.learner }
    /// A straggler's slowdown (1: a normal peer; see `onSlowdown`).
    public var slowdown: Double { gossip.slowdown }

    // MARK: Start and stop

    /// Starts the peer: membership first (a first peer of a swarm starts alone when `seeds` is empty, any other
    /// joins through `seeds`), then gossip learning, then the client graph, then the checkpoint timer.
    public mutating func onStart(seeds: [PeerAddress], now: Instant) -> [PeerEffect] {
        guard phase == .created else { return [] }
        phase = .running
        var out: [PeerEffect] = []
        add(seeds.isEmpty ? membership.onStart(now: now) : membership.onJoin(seeds: seeds, now: now), now: now, to: &out)
        add(gossip.onStart(now: now), to: &out)
        if clientGraph != nil { add(clientGraph!.onStart(now: now), to: &out) }
        if let period = settings.checkpointPeriod { out.append(.schedule(.checkpoint, after: period)) }
        return out
    }

    /// Stops the peer. A graceful stop announces the leave and then saves a last checkpoint (when checkpoints are
    /// on); `graceful: false` is a crash (nothing is sent or saved: the last periodic checkpoint is what a restart
    /// finds). Afterwards every event is ignored.
    public mutating func onStop(graceful: Bool, now: Instant) -> [PeerEffect] {
        guard phase == .running else { phase = .stopped; return [] }
        var out: [PeerEffect] = []
        if graceful {
            add(membership.onLeave(now: now), now: now, to: &out)
            if settings.checkpointPeriod != nil { out.append(.checkpoint(savedState())) }
        }
        phase = .stopped
        return out
    }

    // MARK: Events

    public mutating func onTimer(_ timer: PeerTimer, now: Instant) -> [PeerEffect] {
        guard phase == .running else { return [] }
        var out: [PeerEffect] = []
        switch timer {
        case .membership(let t):
            add(membership.onTimer(t, now: now), now: now, to: &out)
        case .gossip(let t):
            let partner = t == .round
                ? partners.choose(membership: membership, clientGraph: &clientGraph) { reputation.isQuarantined($0, now: now) } : nil
            if t == .round { attacker?.onRound(table: gossip.learner.items) }
            add(gossip.onTimer(t, partner: partner, now: now), to: &out)
        case .clientGraph(let t):
            if clientGraph != nil { add(clientGraph!.onTimer(t, now: now), to: &out) }
        case .checkpoint:
            out.append(.checkpoint(savedState()))
            if let period = settings.checkpointPeriod { out.append(.schedule(.checkpoint, after: period)) }
        }
        return out
    }

    /// A datagram arrived from `from` (the frame's sender) at `address` (where it came from).
    public mutating func onDatagram(_ message: Message, from: PeerID, address: PeerAddress, now: Instant) -> [PeerEffect] {
        guard phase == .running else { return [] }
        var out: [PeerEffect] = []
        switch message {
        case .modelPush, .modelReply, .modelDecline:
            out.append(.report(.dropped("model_on_udp")))
        case .interests:
            if clientGraph != nil {
                add(clientGraph!.onMessage(message, from: from, address: address, now: now), to: &out)
            } else {
                out.append(.report(.dropped("client_graph_off")))
            }
        default:
            add(membership.onMessage(message, from: from, address: address, now: now), now: now, to: &out)
        }
        return out
    }

    /// A model message arrived on a stream: `inbound` for the first message of a stream another peer opened (a
    /// push, answered by the `.reply` effects returned), else the answer on a stream this peer opened.
    public mutating func onStreamMessage(_ message: Message, from: PeerID, inbound: Bool, now: Instant) -> [PeerEffect] {
        guard phase == .running else { return [] }
        if inbound, case .modelPush = message {} else if inbound {
            return [.report(.dropped("unexpected_on_stream"))]
        }
        var out: [PeerEffect] = []
        if reputation.isQuarantined(from, now: now) {
            add(gossip.onRefusedModelMessage(message), to: &out)
            return out
        }
        let trust = partners.trust(of: from, clientGraph: clientGraph)
        let completed = gossip.counters.exchangesCompleted, verdicts = gossip.verdicts
        add(gossip.onModelMessage(message, from: from, now: now, trust: trust), to: &out)
        if gossip.counters.exchangesCompleted > completed { out.append(.report(.exchangeCompleted(with: from))) }
        if gossip.verdicts > verdicts, let v = gossip.lastVerdict, reputation.record(v, from: from, now: now) {
            out.append(.report(.quarantined(from)))
        }
        return out
    }

    /// Exchange `seq` could not be completed (connect failed, stream closed or broken before the answer).
    public mutating func onExchangeFailed(seq: UInt64, now: Instant) -> [PeerEffect] {
        guard phase == .running else { return [] }
        gossip.onExchangeFailed(seq: seq, now: now)
        return []
    }

    // MARK: Scenario commands

    /// Makes this peer a straggler (`factor` > 1: its rounds come `factor` times less often, and each stands for
    /// that many rounds of the swarm in the merge rule's bookkeeping) or a normal peer again (1).
    public mutating func onSlowdown(_ factor: Double) {
        gossip.slowdown = factor
    }

    /// Static mode from now on, with these neighbours (when their addresses are known only after every peer has
    /// bound its port), or back to the configured mode's choice (nil).
    public mutating func onNeighbours(_ neighbours: [Neighbour]?) {
        partners.neighbours = neighbours
    }

    // MARK: Checkpoints

    /// What a checkpoint holds now: the learner, the incarnation, and up to `checkpointPeers` live members (a
    /// random sample when there are more).
    public mutating func savedState() -> SavedPeerState {
        var live = membership.livePeers.filter { $0.peer != id }
        if live.count > settings.checkpointPeers {
            live.shuffle(using: &checkpointRNG)
            live = Array(live.prefix(settings.checkpointPeers))
        }
        return SavedPeerState(learner: gossip.learner, incarnation: membership.incarnation, known: live)
    }

    // MARK: Composition

    /// Membership's directives as effects; member changes also reach the client graph.
    private mutating func add(_ directives: [MembershipDirective], now: Instant, to out: inout [PeerEffect]) {
        for d in directives {
            switch d {
            case .send(let message, let to):
                out.append(.send(message, to: to))
            case .schedule(let timer, let after):
                out.append(.schedule(.membership(timer), after: after))
            case .memberUp(let peer, let address):
                out.append(.report(.memberUp(peer, address)))
                if clientGraph != nil { add(clientGraph!.onPeerSeen(peer, address: address, now: now), to: &out) }
            case .memberDown(let peer, let reason):
                out.append(.report(.memberDown(peer, reason)))
                // An evicted member (member cap) is alive: the client graph keeps what it learned of it.
                if reason != .evicted, clientGraph != nil { add(clientGraph!.onPeerDead(peer), to: &out) }
            case .log(let text):
                out.append(.report(.note(text)))
            }
        }
    }

    private mutating func add(_ directives: [GossipDirective], to out: inout [PeerEffect]) {
        for d in directives {
            switch d {
            case .exchange(let seq, let message, let peer, let address):
                out.append(.exchange(seq: seq, message: forged(message), with: peer, at: address))
            case .reply(let message):
                out.append(.reply(forged(message)))
            case .schedule(let timer, let after):
                out.append(.schedule(.gossip(timer), after: after))
            case .evaluated(let rank, let round):
                out.append(.report(.evaluated(rank: rank, round: round)))
            }
        }
    }

    /// `message` as this peer sends it: unchanged, or forged by the attack harness.
    private mutating func forged(_ message: Message) -> Message {
        guard attacker != nil else { return message }
        let table = gossip.learner.items
        let claim = gossip.merge.honestWeightBound(maxSlowdown: settings.gossip.defences.maxSlowdown)
            ?? table.trainedSteps.max() ?? 1
        switch message {
        case .modelPush(let seq, let model, let wantsReply):
            return .modelPush(seq: seq, model: attacker!.forge(model, table: table, claim: claim), wantsReply: wantsReply)
        case .modelReply(let seq, let model):
            return .modelReply(seq: seq, model: attacker!.forge(model, table: table, claim: claim))
        default:
            return message
        }
    }

    private func add(_ directives: [ClientGraphDirective], to out: inout [PeerEffect]) {
        for d in directives {
            switch d {
            case .send(let message, _, let address): out.append(.send(message, to: address))
            case .schedule(let timer, let after): out.append(.schedule(.clientGraph(timer), after: after))
            case .neighboursChanged: break
            }
        }
    }
}
