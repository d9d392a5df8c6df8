import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import Testing
@testable import NodeRuntime
import PeerCore

/// Client-graph mode over real loopback sockets: peers disclose decoy-mixed interests over UDP, learn who is
/// similar, and gossip mostly with those peers.
@Suite(.serialized) struct ClientGraphSwarmTests {
    @Test func peersFindNeighboursOfTheirOwnTasteGroupAndStillLearn() throws {
        // 4 planted taste groups of 6 users: a peer's true similar peers are its own group.
        let log = SyntheticData.planted(users: 24, items: 80, groups: 4, perUser: 12, seed: 21)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 20, seed: 3)
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        let lines = Lines()
        var settings = ClientGraphSettings()
        settings.neighbours = 4
        settings.exploration = 0.1
        settings.refreshPeriod = .milliseconds(300)
        settings.disclosure.decoyRatio = 1
        let nodes = try makeSwarm(split: split, count: 24, period: .milliseconds(40), lines: lines) { pc in
            pc.peer.partners = .clientGraph(settings)
        }
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        let summary = SwarmSummary(pollSnapshots(host, timeout: 20, interval: 0.5) { snaps in
            let s = SwarmSummary(snaps)
            let full = snaps.allSatisfy { ($0.clientGraph?.edges.edges.count ?? 0) >= 4 }
            return full && s.evaluated == 24 && s.hr10 >= pop.hitRate + 0.3
        })
        let snaps = host.snapshots()
        host.stop()
        #expect(summary.hr10 >= pop.hitRate + 0.3, "swarm HR@10 \(summary.hr10) vs ItemPop \(pop.hitRate)")
        // Group of user u in SyntheticData.planted: u % groups.
        var inGroup = 0, total = 0
        for s in snaps {
            let edges = try #require(s.clientGraph).edges.edges
            total += edges.count
            inGroup += edges.filter { $0.to.raw % 4 == s.peer.raw % 4 }.count
        }
        #expect(total >= 24 * 4)
        #expect(Double(inGroup) >= 0.8 * Double(total), "\(inGroup) of \(total) neighbours share the peer's taste group")
        // Partners: mostly neighbours. Exchanges started with same-group peers dominate (random would be 5/23).
        var same = 0, all = 0
        for s in snaps {
            for (p, n) in s.stats.partners { all += n; if p.raw % 4 == s.peer.raw % 4 { same += n } }
        }
        #expect(Double(same) >= 0.5 * Double(all), "\(same) of \(all) exchanges with same-group peers")
        // The stop lines carry the learned graph for `gossiprec topology from-logs`.
        #expect(lines.all.filter { $0.contains("\"event\":\"stop\"") && $0.contains("\"client_graph\"") }.count == 24)
    }
}
