import Foundation
import GossipProtocol
import RecommenderModel

/// Traffic and drop counters of one peer (reported in its JSON lines).
public struct PeerStats: Sendable {
    public var bytesSent = 0
    public var bytesReceived = 0
    public var datagramsSent = 0
    public var datagramsReceived = 0
    /// Messages dropped, by reason (decode reasons from WireFormat, plus "busy", "send_failed", ...).
    public var dropped: [String: Int] = [:]
    /// Exchanges started, by partner.
    public var partners: [PeerID: Int] = [:]
    /// Exchanges this peer started that completed (the partner's reply arrived in time), by partner.
    public var completedWith: [PeerID: Int] = [:]
    /// Injected faults by kind: "delayed_datagrams", "duplicated_datagrams", "delayed_exchanges",
    /// "delayed_replies" (injected drops are in `dropped` as "fault_injected").
    public var faultsInjected: [String: Int] = [:]
    /// Checkpoints written (failures are in `dropped` as "checkpoint_save_failed").
    public var checkpointsSaved = 0
    public mutating func drop(_ reason: String) { dropped[reason, default: 0] += 1 }
    public mutating func fault(_ kind: String) { faultsInjected[kind, default: 0] += 1 }
}

/// How much per-source and per-sender state a peer holds: every table an outsider or a key holder can make grow,
/// each bounded (`SourceLimits.Settings.maxSources`, `PeerConfig.maxInboundStreams`,
/// `FrameSecurity.maxTrackedSenders`, `MembershipSettings.maxMembers`).
public struct TrackedState: Sendable, Hashable {
    /// Sources in the admission table, and how many were forgotten to make room.
    public var sources = 0
    public var sourceEvictions = 0
    /// Open inbound model streams.
    public var inboundStreams = 0
    /// Senders whose replay window is kept.
    public var replaySenders = 0
    /// Members held (alive, suspect or dead), self excluded.
    public var members = 0
    public init(sources: Int = 0, sourceEvictions: Int = 0, inboundStreams: Int = 0, replaySenders: Int = 0, members: Int = 0) {
        self.sources = sources; self.sourceEvictions = sourceEvictions; self.inboundStreams = inboundStreams
        self.replaySenders = replaySenders; self.members = members
    }
}

/// A peer's state at one moment, for logs and progress.
public struct PeerSnapshot: Sendable {
    public var peer: PeerID
    public var rank: Int?
    public var round: UInt64
    public var stats: PeerStats
    public var counters: GossipCounters
    public var livePeers: Int
    public var seconds: Double
    /// Client-graph mode: this peer's current top-k (most similar first) and its counters.
    public var clientGraph: (edges: ClientGraphExport, counters: ClientGraphCounters)? = nil
    /// Sizes of the peer's bounded tables.
    public var tracked = TrackedState()
    /// Test-only: this peer runs an attack (`--attack`); its lines say so, and `report` leaves it out of the swarm's
    /// quality (the attack table measures the benign peers).
    public var malicious = false

    public var hit10: Double? { rank.map { RankingMetrics.hit(rank: $0, k: 10) } }
    public var ndcg10: Double? { rank.map { RankingMetrics.ndcg(rank: $0, k: 10) } }

    /// One JSON object: time, peer, round, metrics, bytes, exchanges, drops by reason.
    public func jsonLine(event: String) -> String {
        var s = "{\"event\":\"\(event)\",\"t\":\(String(format: "%.3f", seconds)),\"peer\":\(peer.raw),\"round\":\(round)"
        if malicious { s += ",\"malicious\":true" }
        if let r = rank { s += ",\"rank\":\(r),\"hr10\":\(Int(hit10!)),\"ndcg10\":\(String(format: "%.5f", ndcg10!))" }
        s += ",\"bytes_sent\":\(stats.bytesSent),\"bytes_received\":\(stats.bytesReceived)"
        s += ",\"exchanges_started\":\(counters.exchangesStarted),\"exchanges_completed\":\(counters.exchangesCompleted)"
        s += ",\"exchanges_failed\":\(counters.exchangesFailed),\"merges\":\(counters.mergesApplied)"
        s += ",\"live_peers\":\(livePeers)"
        if stats.checkpointsSaved > 0 { s += ",\"checkpoints\":\(stats.checkpointsSaved)" }
        if counters.roundsCatchingUp > 0 { s += ",\"rounds_catching_up\":\(counters.roundsCatchingUp)" }
        if !stats.faultsInjected.isEmpty {
            s += ",\"faults\":{" + stats.faultsInjected.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
        // Completed exchanges by partner: only in the final line, which would otherwise grow with the swarm.
        if event == "stop" {
            s += ",\"tracked\":{\"sources\":\(tracked.sources),\"source_evictions\":\(tracked.sourceEvictions)"
            s += ",\"replay_senders\":\(tracked.replaySenders),\"members\":\(tracked.members)}"
            s += ",\"completed_with\":{" + stats.completedWith.sorted { $0.key < $1.key }.map { "\"\($0.key.raw)\":\($0.value)" }.joined(separator: ",") + "}"
            if let (export, c) = clientGraph {
                // Read back by `gossiprec topology from-logs` to rebuild the learned graph as a topology file.
                s += ",\"client_graph\":{\"neighbours\":[" + export.edges.map { "[\($0.to.raw),\(String(format: "%.5f", $0.similarity))]" }.joined(separator: ",")
                s += "],\"disclosures_sent\":\(c.disclosuresSent),\"disclosures_received\":\(c.disclosuresReceived)"
                s += ",\"disclosures_ignored\":\(c.disclosuresIgnored),\"neighbour_changes\":\(c.neighbourChanges),\"explorations\":\(c.explorations)}"
            }
        }
        s += ",\"dropped\":{" + stats.dropped.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}}"
        return s
    }
}
