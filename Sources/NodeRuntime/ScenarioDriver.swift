import Dispatch
import Foundation
import GossipProtocol
import SwarmSpec

/// Applies a churn and straggler profile (`Scenario`, Scripts/profiles/README.md) to the real peers of one
/// process, on the wall clock: the same expanded timeline the simulator applies, so real runs and simulated runs
/// of one profile can be compared. Every process of a swarm expands the same profile with the same seed and
/// applies the events of its own peers (swarm indices `first ..< first + slotCount`).
///
/// How each action is made real:
/// - `kill`: the peer stops at once without a leave message or final checkpoint (a crash as far as the swarm and
///   the disk can tell; the process lives on). `leave`: a graceful stop (leave message, final checkpoint).
/// - `restart`, `join`: a new peer for the slot, on the same port; a restarted peer resumes from its checkpoint when
///   the node runs with `--checkpoint-dir` and rejoins through the peers it knew; a joining peer starts fresh, as the
///   simulator starts it (even when its slot's directory holds a checkpoint from an earlier life).
/// - `loss p`: every peer of the process drops outgoing datagrams with probability p (fault injection).
/// - `straggle slowdown k, link-delay f (+e)`: the peer's rounds come k times less often, and its outgoing
///   datagrams, model pushes and replies wait `baseLinkDelay x (f - 1) + e` (loopback has no latency to
///   multiply, so `baseLinkDelay` stands for the one-way latency of a real link; default 20 ms).
/// - `partition groups`: every peer of the process stops sending to the peers of the other groups
///   (`FaultInjection.unreachable`: datagrams dropped, exchanges failed at once); every process does the same for
///   its peers, so no traffic crosses in either direction, even on one loopback address. `heal` lifts it. This
///   needs the address of every swarm index (`address`); without it `init` rejects a timeline with partitions.
public final class ScenarioDriver: @unchecked Sendable {
    public struct Counts: Sendable, Hashable {
        public var kills = 0, leaves = 0, restarts = 0, joins = 0, failedLaunches = 0, stragglers = 0
    }

    public enum DriverError: Error, CustomStringConvertible {
        case unsupported(String)
        public var description: String {
            switch self { case .unsupported(let what): return what }
        }
    }

    private let host: NodeHost
    private let events: [ScenarioEvent]
    private let first: Int
    private let baseLinkDelay: Duration
    private let queue = DispatchQueue(label: "gossiprec.scenario")
    private let note: @Sendable (String) -> Void
    /// What the events so far have made of the swarm (the meaning of each event: `ScenarioState`, shared with the
    /// simulator).
    private var state = ScenarioState()
    private let address: (@Sendable (Int) -> PeerAddress?)?
    private let swarmSize: Int
    /// The current partition's group of every swarm index, or nil.
    private var group: [Int]?
    /// Under a partition, for each group the addresses of every peer outside it (computed once per event and
    /// shared by that group's peers).
    private var outside: [Set<PeerAddress>] = []
    private var cancelled = false
    /// On `queue`; read with `countsSnapshot`.
    private var counts = Counts()

    /// `timeline`: the whole swarm's expanded events; only those of slots `first ..< first + host.slotCount`
    /// (and swarm-wide ones) are applied. `note` receives one line per applied event. `address` maps a swarm index
    /// (0 ..< `swarmSize`) to where that peer listens, for partitions.
    public init(host: NodeHost, timeline: [ScenarioEvent], first: Int, baseLinkDelay: Duration = .milliseconds(20),
                swarmSize: Int = 0, address: (@Sendable (Int) -> PeerAddress?)? = nil,
                note: @escaping @Sendable (String) -> Void) throws {
        for e in timeline {
            guard case .partition = e.action else { continue }
            guard address != nil, swarmSize > 0 else {
                throw DriverError.unsupported("profile event '\(e)': a partition needs the address of every peer of the swarm; "
                                              + "give the node a fixed --listen port (peer u at PORT + u - first-user) and --swarm-peers")
            }
        }
        self.address = address
        self.swarmSize = swarmSize
        self.host = host
        self.first = first
        self.baseLinkDelay = baseLinkDelay
        self.note = note
        let range = first ..< first + host.slotCount
        events = timeline.compactMap { e in
            if e.peers.isEmpty { return e }   // swarm-wide
            let mine = e.peers.filter { range.contains($0) }
            return mine.isEmpty ? nil : ScenarioEvent(time: e.time, peers: mine, action: e.action)
        }
    }

    /// Events this process will apply.
    public var eventCount: Int { events.count }

    /// Schedules every event relative to now (call right after `host.start()`).
    public func start() {
        let origin = DispatchTime.now()
        for e in events {
            let ns = max(0, e.time.wholeNanoseconds)
            queue.asyncAfter(deadline: origin + .nanoseconds(Int(clamping: ns))) { [self] in apply(e) }
        }
    }

    /// No further events (queued ones return at once).
    public func cancel() { queue.sync { cancelled = true } }

    public var countsSnapshot: Counts { queue.sync { counts } }

    private func apply(_ e: ScenarioEvent) {
        guard !cancelled else { return }
        switch state.onEvent(e, swarmSize: swarmSize) {
        case .stop(let peers, let graceful):
            var n = 0
            for p in peers where host.takeOffline(p - first, graceful: graceful) { n += 1 }
            if graceful { counts.leaves += n } else { counts.kills += n }
            if n > 0 { note("\(e.action) \(n) peer\(n == 1 ? "" : "s"): \(Scenario.formatPeers(peers))") }
        case .start(let peers, let fresh):
            // A restarted peer resumes from its checkpoint; a joining (fresh) one starts without, as in the simulator.
            let due = peers.filter { host.peer(inSlot: $0 - first) == nil }
            for p in due { launch(p, joining: fresh, attempt: 1) }
            if !due.isEmpty { note("\(e.action) \(due.count) peer\(due.count == 1 ? "" : "s"): \(Scenario.formatPeers(due))") }
        case .conditionsChanged:
            if let groups = state.groups {
                let count = (groups.max() ?? 0) + 1
                outside = (0..<count).map { k in
                    Set((0..<swarmSize).compactMap { q in state.group(of: q) == k ? nil : address?(q) })
                }
            } else {
                outside = []
            }
            if case .loss(let p) = e.action {   // a loss event sets every peer's drop rate, back to 0 too
                for node in host.peers { node.updateFaults { $0.dropOutgoingDatagrams = p } }
            }
            for slot in 0..<host.slotCount { if let node = host.peer(inSlot: slot) { configure(node, peer: first + slot) } }
            switch e.action {
            case .loss(let p): note("loss \(p) on every peer of this process")
            case .partition(let groups):
                note("partition into \(groups.count) groups of \(groups.map { String($0.count) }.joined(separator: ", ")) peers")
            default: note("heal the partition")
            }
        case .stragglersChanged(let peers):
            for p in peers { if let node = host.peer(inSlot: p - first) { configure(node, peer: p) } }
            counts.stragglers += peers.count
            if let s = state.straggle(of: peers.first ?? -1) {
                note("straggle \(peers.count) peers: rounds \(s.slowdown)x less often, "
                     + "+\(s.addedDelay(base: baseLinkDelay).wholeNanoseconds / 1_000_000) ms on outgoing traffic")
            }
        case .nothing:
            return
        }
    }

    private func unreachable(from p: Int) -> Set<PeerAddress> {
        guard state.groups != nil else { return [] }
        let g = state.group(of: p)
        return g < outside.count ? outside[g] : []
    }

    private func launch(_ p: Int, joining: Bool, attempt: Int) {
        do {
            guard let node = try host.launch(p - first, fresh: joining) else { return }
            configure(node, peer: p)
            if joining { counts.joins += 1 } else { counts.restarts += 1 }
        } catch {
            if attempt < 5 {
                queue.asyncAfter(deadline: .now() + .milliseconds(500)) { [self] in
                    guard !cancelled, host.peer(inSlot: p - first) == nil else { return }
                    launch(p, joining: joining, attempt: attempt + 1)
                }
            } else {
                counts.failedLaunches += 1
                note("could not start peer \(p): \(error)")
            }
        }
    }

    /// Loss, straggling and partitions survive restarts: a restarted peer gets them again.
    private func configure(_ node: PeerNode, peer p: Int) {
        let loss = state.loss
        let s = state.straggle(of: p)
        let delay = s?.addedDelay(base: baseLinkDelay)
        let blocked = unreachable(from: p)
        if loss > 0 || s != nil || address != nil {
            node.updateFaults { f in
                if loss > 0 { f.dropOutgoingDatagrams = loss }
                if let delay { f.outgoingDelay = delay }
                f.unreachable = blocked
            }
        }
        if let s { node.setSlowdown(s.slowdown) }
    }
}
