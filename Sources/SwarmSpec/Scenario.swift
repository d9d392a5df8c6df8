import Foundation // exp, log, pow, tgamma for the session-length distributions
import RecommenderModel

// MARK: - Timeline values

/// What happens to the peers of one `ScenarioEvent`.
///
/// Peer life cycle: `absent` (never started) --join--> `online` --kill--> `crashed` / --leave--> `left`, and
/// `crashed`/`left` --restart--> `online`. A shell applies each action as follows:
/// - `kill`: crash-stop. The process and its in-memory state are gone; nothing is announced (others find out
///   through SWIM failure detection). Only what the peer last checkpointed survives.
/// - `leave`: graceful stop. The peer announces its departure (`MembershipInstance.onLeave`) and checkpoints.
/// - `restart`: a new process for the same `PeerID` and address, restored from its last checkpoint (model and
///   incarnation), rejoining through peers it knew plus the swarm's seeds.
/// - `join`: a first start with fresh state through the swarm's seeds.
public enum ScenarioAction: Hashable, Sendable, CustomStringConvertible {
    case kill
    case leave
    case restart
    case join
    /// From now on, traffic between peers of different groups is dropped (each peer is in exactly one group).
    case partition(groups: [[Int]])
    /// Removes any partition.
    case heal
    /// From now on, each datagram is lost with this probability (streams are reliable and unaffected).
    case loss(Double)
    /// These peers become stragglers: local training takes `slowdown` times longer, and the one-way latency of
    /// their links is multiplied by `linkDelayFactor` and then increased by `extraLinkDelay`.
    case straggle(slowdown: Double, linkDelayFactor: Double, extraLinkDelay: Duration)

    public var description: String {
        switch self {
        case .kill: return "kill"
        case .leave: return "leave"
        case .restart: return "restart"
        case .join: return "join"
        case .partition(let g): return "partition " + g.map { Scenario.formatPeers($0) }.joined(separator: " | ")
        case .heal: return "heal"
        case .loss(let p): return "loss \(Scenario.formatPercent(p))"
        case .straggle(let c, let f, let e):
            return "straggle slowdown \(c)x link-delay \(f)x" + (e > .zero ? " +\(e.wholeNanoseconds / 1_000_000)ms" : "")
        }
    }
}

/// One entry of an expanded scenario: at virtual time `time` (from the start of the run), apply `action` to
/// `peers` (indices 0..<peerCount, sorted; empty for swarm-wide actions: partition, heal, loss).
public struct ScenarioEvent: Hashable, Sendable, CustomStringConvertible {
    public var time: Duration
    public var peers: [Int]
    public var action: ScenarioAction
    public init(time: Duration, peers: [Int], action: ScenarioAction) {
        self.time = time; self.peers = peers; self.action = action
    }

    /// "120.000s kill 3,7-9" (one line of `gossiprec simulate --print-timeline` and of the swarm script input).
    public var description: String {
        let ms = time.wholeNanoseconds / 1_000_000
        let t = String(format: "%d.%03ds", ms / 1000, ms % 1000)
        if peers.isEmpty { return "\(t) \(action)" }
        return "\(t) \(action) \(Scenario.formatPeers(peers))"
    }
}

// MARK: - The profile

/// A churn / straggler / network profile for a swarm: what happens to which peers and when. Pure value; parse
/// it from text with `Scenario.parse(text:file:)` and expand it with `timeline(peers:duration:seed:)` into the
/// sorted `[ScenarioEvent]` that the event simulator (`GossipSimulator.EventSimulation`) and a real swarm
/// driver both apply, so the two see the same failures.
///
/// **Text format** (one directive per line; `#` starts a comment; blank lines ignored; keywords are
/// lower-case; times take a unit: `ms`, `s`, `m` or `h`, such as `1500ms`, `120s`, `2m`):
///
/// ```
/// seed 7                                   # seed of the expansion (used when the caller gives none)
/// loss 1%                                  # datagram loss from the start (streams are reliable)
/// latency 5ms-40ms                         # per-peer one-way base latency, uniform in the range (simulator)
/// bandwidth 100mbit                        # per-peer link bandwidth: kbit, mbit or gbit per second (simulator)
/// absent 10%                               # these peers are not started at time 0 (see `join`)
/// stragglers 20% slowdown 10x link-delay 10x          # link-delay also as an absolute `+50ms`
/// churn sessions exponential mean 300s offline 30%   # offline periods: mean derived from the target
/// churn sessions weibull shape 0.6 scale 300s offline mean 100s [start 60s] [departure leave]
/// at 120s kill 33%                         # 33 % of all peers, drawn among those online then
/// at 120s kill peers 3,7-9                 # explicit peer indices (0-based)
/// at 300s restart                          # no selector: every peer the action applies to
/// at 10s join all
/// at 200s leave 10%
/// at 100s partition 0-470 | 471-942        # or by shares: partition 50% | 50%
/// at 200s heal
/// at 400s loss 5%
/// ```
///
/// Selectors: `N%` (of the whole peer count, rounded, drawn uniformly among the peers the action applies to
/// at that time), `peers LIST` (comma-separated indices and ranges `a-b`), `all`, or nothing (= all). An
/// action applies to: `kill`/`leave` online peers, `restart` crashed or left peers, `join` absent peers.
/// In a `partition`, groups are listed as selectors separated by `|`; percentage groups take consecutive
/// blocks of peer indices in order; a peer listed in no group joins the first group. Peer indices at or
/// beyond the peer count given to `timeline` are ignored (one profile serves swarms of any size).
///
/// **Stochastic churn** (an alternating renewal process per peer, as in the churn models of Stutzbach and
/// Rejaie, "Understanding churn in peer-to-peer networks", IMC 2006, who found Weibull session lengths with
/// shape < 1): each peer alternates online sessions drawn from the session distribution and offline periods
/// drawn from the same family (same Weibull shape) with mean `D`. Given a target offline fraction f,
/// `D = E[S] f / (1 - f)`, so that the long-run offline fraction `D / (E[S] + D)` equals f. From `start`
/// (default 0) each peer begins in the stationary state: offline with probability f. Departures are crashes
/// (`kill`) unless `departure leave`; returns are `restart`s.
///
/// **Merging.** Scheduled and stochastic events are merged in time order (ties: stochastic first, then the
/// profile's line order); an event whose peers are all already in the target state is dropped, and peers that
/// are not are removed from it, so every expanded event changes something. Percentages are drawn from the
/// expansion's own generator, so the same profile, peer count, duration and seed give the same timeline.
public struct Scenario: Hashable, Sendable {
    /// Which peers a directive names.
    public enum Selector: Hashable, Sendable {
        case all
        /// A share of the whole peer count, in 0...1.
        case fraction(Double)
        /// Explicit 0-based peer indices (sorted, unique).
        case peers([Int])
    }

    /// A session (or offline period) length distribution.
    public enum Distribution: Hashable, Sendable {
        case exponential(mean: Duration)
        case weibull(shape: Double, scale: Duration)

        /// The mean length.
        public var mean: Duration {
            switch self {
            case .exponential(let m): return m
            case .weibull(let k, let s): return s.scaled(by: tgamma(1 + 1 / k))
            }
        }

        /// The same family with the given mean (Weibull keeps its shape).
        public func withMean(_ m: Duration) -> Distribution {
            switch self {
            case .exponential: return .exponential(mean: m)
            case .weibull(let k, _): return .weibull(shape: k, scale: m.scaled(by: 1 / tgamma(1 + 1 / k)))
            }
        }

        /// One draw by inversion of the CDF, from `u` uniform in (0, 1).
        public func sample(_ rng: inout SplitMix64) -> Duration {
            let u = max(rng.nextUnitDouble(), 1e-12)
            switch self {
            case .exponential(let m): return m.scaled(by: -log(u))
            case .weibull(let k, let s): return s.scaled(by: pow(-log(u), 1 / k))
            }
        }
    }

    /// How long offline periods last: an explicit mean, or derived from a target offline fraction.
    public enum OfflineModel: Hashable, Sendable {
        case mean(Duration)
        case fraction(Double)
    }

    /// The stochastic churn model (`churn ...` line).
    public struct Churn: Hashable, Sendable {
        public var sessions: Distribution
        public var offline: OfflineModel
        public var start: Duration = .zero
        /// Departures are graceful leaves instead of crashes.
        public var graceful = false
        public init(sessions: Distribution, offline: OfflineModel) { self.sessions = sessions; self.offline = offline }

        /// The offline-period distribution (same family as the sessions).
        public var offlineDistribution: Distribution {
            switch offline {
            case .mean(let m): return sessions.withMean(m)
            case .fraction(let f): return sessions.withMean(sessions.mean.scaled(by: f / (1 - f)))
            }
        }

        /// The long-run fraction of time a peer is offline.
        public var offlineFraction: Double {
            switch offline {
            case .fraction(let f): return f
            case .mean(let m):
                let d = m.inSeconds, s = sessions.mean.inSeconds
                return d / (s + d)
            }
        }
    }

    /// Stragglers (`stragglers ...` line).
    public struct Stragglers: Hashable, Sendable {
        public var peers: Selector
        public var slowdown: Double = 1
        public var linkDelayFactor: Double = 1
        public var extraLinkDelay: Duration = .zero
        public init(peers: Selector) { self.peers = peers }
    }

    /// A scheduled directive (`at T ...` line).
    public struct Scheduled: Hashable, Sendable {
        public enum Action: Hashable, Sendable {
            case kill, leave, restart, join, heal
            case partition([Selector])
            case loss(Double)
        }
        public var time: Duration
        public var action: Action
        public var peers: Selector
        /// 1-based line in the profile (for messages and tie-breaking).
        public var line: Int
        public init(time: Duration, action: Action, peers: Selector, line: Int) {
            self.time = time; self.action = action; self.peers = peers; self.line = line
        }
    }

    public var seed: UInt64?
    /// Datagram loss probability from the start.
    public var loss: Double = 0
    /// Per-peer one-way base latency range (simulator only).
    public var latency: ClosedRange<Duration>? = nil
    /// Per-peer link bandwidth in bits per second (simulator only).
    public var bandwidthBitsPerSecond: Double? = nil
    /// Peers not started at time 0.
    public var absent: Selector? = nil
    public var stragglers: [Stragglers] = []
    public var churn: Churn? = nil
    public var scheduled: [Scheduled] = []

    public init() {}

    /// The profile with nothing in it: every peer starts at 0 and stays; no loss.
    public static let none = Scenario()

    // MARK: Expansion

    enum PeerState { case absent, online, crashed, left }

    /// Expands the profile for `peerCount` peers over `[0, duration)` into a timeline sorted by time (ties in
    /// the order described on the type). Uses `seed` if given, else the profile's `seed`, else 1.
    public func timeline(peers peerCount: Int, duration: Duration, seed: UInt64? = nil) -> [ScenarioEvent] {
        precondition(peerCount >= 0)
        var rng = SplitMix64(seed: (seed ?? self.seed ?? 1) ^ 0x5CE7_A410)
        var out: [ScenarioEvent] = []
        var state = [PeerState](repeating: .online, count: peerCount)
        if let a = absent {
            for p in resolve(a, among: Array(0..<peerCount), peerCount: peerCount, rng: &rng) { state[p] = .absent }
        }
        if loss > 0 { out.append(ScenarioEvent(time: .zero, peers: [], action: .loss(loss))) }
        for s in stragglers {
            let chosen = resolve(s.peers, among: Array(0..<peerCount), peerCount: peerCount, rng: &rng)
            if !chosen.isEmpty {
                out.append(ScenarioEvent(time: .zero, peers: chosen,
                                         action: .straggle(slowdown: s.slowdown, linkDelayFactor: s.linkDelayFactor,
                                                           extraLinkDelay: s.extraLinkDelay)))
            }
        }

        // Candidate events: (time, rank, peers-or-selector, action). Stochastic ones have rank 0.
        struct Candidate {
            var time: Duration
            var rank: Int
            var order: Int
            var peer: Int?
            var scheduled: Scheduled?
            var action: ScenarioAction
        }
        var candidates: [Candidate] = []
        if let churn, peerCount > 0 {
            let f = churn.offlineFraction
            let offDist = churn.offlineDistribution
            var churnRNG = SplitMix64(seed: rng.next())
            for p in 0..<peerCount {
                var t = churn.start
                var online = churnRNG.nextUnitDouble() >= f
                if !online {
                    candidates.append(Candidate(time: t, rank: 0, order: candidates.count, peer: p, scheduled: nil,
                                                action: churn.graceful ? .leave : .kill))
                }
                while t < duration {
                    t = t + (online ? churn.sessions : offDist).sample(&churnRNG)
                    guard t < duration else { break }
                    online.toggle()
                    candidates.append(Candidate(time: t, rank: 0, order: candidates.count, peer: p, scheduled: nil,
                                                action: online ? .restart : (churn.graceful ? .leave : .kill)))
                }
            }
        }
        for s in scheduled where s.time < duration {
            let action: ScenarioAction
            switch s.action {
            case .kill: action = .kill
            case .leave: action = .leave
            case .restart: action = .restart
            case .join: action = .join
            case .heal: action = .heal
            case .loss(let p): action = .loss(p)
            case .partition: action = .heal   // groups resolved below
            }
            candidates.append(Candidate(time: s.time, rank: 1 + s.line, order: candidates.count, peer: nil,
                                        scheduled: s, action: action))
        }
        candidates.sort { ($0.time, $0.rank, $0.order) < ($1.time, $1.rank, $1.order) }

        for c in candidates {
            if let p = c.peer {
                // A stochastic transition of one peer.
                if apply(c.action, to: p, &state) { out.append(ScenarioEvent(time: c.time, peers: [p], action: c.action)) }
                continue
            }
            let s = c.scheduled!
            switch s.action {
            case .heal, .loss:
                out.append(ScenarioEvent(time: c.time, peers: [], action: c.action))
            case .partition(let groups):
                var assigned = [Int](repeating: 0, count: peerCount)
                var next = 0   // next index for percentage blocks
                for (g, sel) in groups.enumerated() {
                    switch sel {
                    case .all: for p in 0..<peerCount { assigned[p] = g }
                    case .peers(let list): for p in list where p < peerCount { assigned[p] = g }
                    case .fraction(let x):
                        let n = min(peerCount - next, Int((x * Double(peerCount)).rounded()))
                        for p in next..<(next + n) { assigned[p] = g }
                        next += n
                    }
                }
                var lists = [[Int]](repeating: [], count: groups.count)
                for p in 0..<peerCount { lists[assigned[p]].append(p) }
                out.append(ScenarioEvent(time: c.time, peers: [], action: .partition(groups: lists)))
            case .kill, .leave, .restart, .join:
                let eligible = (0..<peerCount).filter { Self.applies(c.action, to: state[$0]) }
                let chosen = resolve(s.peers, among: eligible, peerCount: peerCount, rng: &rng)
                for p in chosen { _ = apply(c.action, to: p, &state) }
                if !chosen.isEmpty { out.append(ScenarioEvent(time: c.time, peers: chosen, action: c.action)) }
            }
        }
        // `out` holds the time-0 setup first, then events in candidate order, which is sorted by time.
        return out
    }

    /// The indices of the peers that are not started at time 0 (deterministic from the same seed as
    /// `timeline`; the first draws of the expansion).
    public func absentPeers(peers peerCount: Int, seed: UInt64? = nil) -> [Int] {
        guard let a = absent else { return [] }
        var rng = SplitMix64(seed: (seed ?? self.seed ?? 1) ^ 0x5CE7_A410)
        return resolve(a, among: Array(0..<peerCount), peerCount: peerCount, rng: &rng)
    }

    static func applies(_ action: ScenarioAction, to state: PeerState) -> Bool {
        switch action {
        case .kill, .leave: return state == .online
        case .restart: return state == .crashed || state == .left
        case .join: return state == .absent
        default: return false
        }
    }

    private func apply(_ action: ScenarioAction, to p: Int, _ state: inout [PeerState]) -> Bool {
        guard Self.applies(action, to: state[p]) else { return false }
        switch action {
        case .kill: state[p] = .crashed
        case .leave: state[p] = .left
        case .restart, .join: state[p] = .online
        default: break
        }
        return true
    }

    /// The peers of `selector` among `eligible` (sorted): percentages draw `round(x * peerCount)` of them
    /// (at most all) by a partial Fisher-Yates shuffle.
    private func resolve(_ selector: Selector, among eligible: [Int], peerCount: Int, rng: inout SplitMix64) -> [Int] {
        switch selector {
        case .all: return eligible
        case .peers(let list):
            let set = Set(eligible)
            return list.filter { set.contains($0) }
        case .fraction(let x):
            let n = min(eligible.count, Int((x * Double(peerCount)).rounded()))
            var pool = eligible
            for i in 0..<n {
                let j = i + rng.next(below: pool.count - i)
                pool.swapAt(i, j)
            }
            return pool.prefix(n).sorted()
        }
    }

    // MARK: Formatting helpers

    /// "3,7-9" for [3, 7, 8, 9].
    public static func formatPeers(_ peers: [Int]) -> String {
        var parts: [String] = []
        var i = 0
        while i < peers.count {
            var j = i
            while j + 1 < peers.count && peers[j + 1] == peers[j] + 1 { j += 1 }
            parts.append(j > i ? "\(peers[i])-\(peers[j])" : "\(peers[i])")
            i = j + 1
        }
        return parts.joined(separator: ",")
    }

    static func formatPercent(_ p: Double) -> String {
        let x = p * 100
        return x == x.rounded() ? "\(Int(x))%" : "\(x)%"
    }
}
