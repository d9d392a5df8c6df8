/// What a scenario's events have made of the swarm so far: the meaning of every `ScenarioAction`, written once for
/// both drivers (issue 15). `ScenarioDriver` (real peers, wall clock) and `EventSimulation` (virtual network) feed
/// it each event as it falls due and carry out the `Step` it returns on their own medium: stopping and starting
/// peers, and applying the conditions (loss, partition, straggling) it now holds.
///
/// Pure and deterministic: no clock, no randomness. Peers are swarm-wide indices (0-based, as in profiles).
public struct ScenarioState: Sendable, Hashable {
    /// How a straggler is slowed down: rounds `slowdown` times less often, and its links `linkDelayFactor` times
    /// the base one-way delay plus `extraLinkDelay`.
    public struct Straggle: Sendable, Hashable {
        public var slowdown: Double
        public var linkDelayFactor: Double
        public var extraLinkDelay: Duration

        public init(slowdown: Double, linkDelayFactor: Double, extraLinkDelay: Duration) {
            self.slowdown = slowdown
            self.linkDelayFactor = linkDelayFactor
            self.extraLinkDelay = extraLinkDelay
        }

        /// The delay a straggler adds to each outgoing message on top of a link whose one-way delay is `base`:
        /// `base x (factor - 1) + extra` (a factor below 1 adds nothing).
        public func addedDelay(base: Duration) -> Duration {
            base.scaled(by: max(0, linkDelayFactor - 1)) + extraLinkDelay
        }
    }

    /// What a driver does for one event.
    public enum Step: Sendable, Hashable {
        /// Take these peers offline: `graceful` (leave: they say goodbye and checkpoint) or not (a crash).
        case stop(peers: [Int], graceful: Bool)
        /// Bring these peers online: `fresh` (a newcomer: no saved state) or a restart (from its checkpoint, when
        /// it has one).
        case start(peers: [Int], fresh: Bool)
        /// The swarm-wide conditions changed (`loss`, `partition`): apply them to every peer.
        case conditionsChanged
        /// These peers' straggling changed (`straggle(of:)`): apply it to them.
        case stragglersChanged(peers: [Int])
        /// Nothing to do (a heal with no partition in place).
        case nothing
    }

    /// Share of datagrams lost, swarm-wide.
    public private(set) var loss = 0.0
    /// Partition group of each peer while a partition holds (peers beyond the list are in group 0), else nil.
    public private(set) var groups: [Int]?
    private var stragglers: [Int: Straggle] = [:]

    public init() {}

    /// The straggling of peer `p`, or nil when it runs at full speed.
    public func straggle(of p: Int) -> Straggle? { stragglers[p] }

    /// The partition group of peer `p` (0 when no partition holds).
    public func group(of p: Int) -> Int {
        guard let groups, p >= 0, p < groups.count else { return 0 }
        return groups[p]
    }

    /// Whether a message from `a` reaches `b` under the current partition (loss is a separate, random matter).
    public func canReach(_ a: Int, _ b: Int) -> Bool { groups == nil || group(of: a) == group(of: b) }

    /// Applies one event; `swarmSize` bounds the partition table (peers at or beyond it are ignored).
    public mutating func onEvent(_ e: ScenarioEvent, swarmSize: Int) -> Step {
        switch e.action {
        case .kill: return .stop(peers: e.peers, graceful: false)
        case .leave: return .stop(peers: e.peers, graceful: true)
        case .restart: return .start(peers: e.peers, fresh: false)
        case .join: return .start(peers: e.peers, fresh: true)
        case .partition(let list):
            var g = [Int](repeating: 0, count: max(0, swarmSize))
            for (k, peers) in list.enumerated() { for p in peers where p >= 0 && p < g.count { g[p] = k } }
            groups = g
            return .conditionsChanged
        case .heal:
            guard groups != nil else { return .nothing }
            groups = nil
            return .conditionsChanged
        case .loss(let p):
            loss = p
            return .conditionsChanged
        case .straggle(let slowdown, let factor, let extra):
            for p in e.peers { stragglers[p] = Straggle(slowdown: slowdown, linkDelayFactor: factor, extraLinkDelay: extra) }
            return .stragglersChanged(peers: e.peers)
        }
    }
}
