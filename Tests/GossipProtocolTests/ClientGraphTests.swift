import Testing
import RecommenderModel
@testable import GossipProtocol

/// A tiny synchronous network of client-graph instances: every `.send` is delivered at once (a FIFO), so a
/// test can let peers meet and watch the graph form.
struct GraphSwarm {
    var peers: [ClientGraphInstance]
    var now = Instant.zero
    var delivered = 0

    static func address(_ i: Int) -> PeerAddress { .ipv4(10, 0, UInt8(i >> 8), UInt8(i & 0xFF), port: 7000) }

    /// One peer per user of `log` (PeerID = user index), real items = the user's items.
    init(log: InteractionLog, settings: ClientGraphSettings, seed: UInt64) {
        var items = [[UInt32]](repeating: [], count: log.userCount)
        for x in log.interactions { items[Int(x.user)].append(UInt32(x.item)) }
        peers = items.enumerated().map { u, its in
            ClientGraphInstance(id: PeerID(UInt64(u)), realItems: its, catalogueSize: log.itemCount,
                                settings: settings, seed: seed &+ UInt64(u))
        }
    }

    /// Peer `a` meets peer `b` through peer sampling.
    mutating func meet(_ a: Int, _ b: Int) {
        delivered += ClientGraphInstance.meet(a, b, in: &peers, address: Self.address, now: now)
    }

    /// Every peer meets every other (an upper bound of what peer sampling eventually offers).
    mutating func meetAll() {
        for a in peers.indices { for b in peers.indices where a != b { meet(a, b) } }
    }
}

@Suite struct ClientGraphTests {
    static let planted = SyntheticData.planted(users: 60, items: 600, groups: 6, perUser: 30, seed: 5)

    static func settings(k: Int = 5, rho: Double = 1, epsilon: Double = 0.1) -> ClientGraphSettings {
        var s = ClientGraphSettings()
        s.neighbours = k
        s.exploration = epsilon
        s.disclosure = DisclosureSettings(decoyRatio: rho)
        return s
    }

    @Test(arguments: [0.0, 1.0, 3.0])
    func similarityRankingFindsThePlantedGroupsDespiteDecoys(_ rho: Double) {
        var swarm = GraphSwarm(log: Self.planted, settings: Self.settings(rho: rho), seed: 100)
        swarm.meetAll()
        var inGroup = 0, total = 0
        for p in swarm.peers {
            #expect(p.neighbours.count == 5)
            for n in p.neighbours {
                total += 1
                if n.raw % 6 == p.id.raw % 6 { inGroup += 1 }
            }
        }
        let precision = Double(inGroup) / Double(total)
        #expect(precision >= 0.95, "rho \(rho): \(inGroup) of \(total) neighbours share the peer's planted group")
    }

    /// Peer 0 with real items 0..<20 scores hand-made disclosures (ρ = 0, so they are exact overlaps).
    static func single(k: Int, epsilon: Double = 0.1, selection: NeighbourSelection = .similarityProportional) -> ClientGraphInstance {
        var s = settings(k: k, rho: 0, epsilon: epsilon)
        s.selection = selection
        return ClientGraphInstance(id: PeerID(0), realItems: (0..<UInt32(20)).map { $0 }, catalogueSize: 1_000, settings: s, seed: 1)
    }

    /// Feeds peer `peer` a disclosure overlapping ours in `overlap` items (of 20).
    static func disclose(_ g: inout ClientGraphInstance, peer: UInt64, overlap: Int, epoch: UInt32 = 1) -> [ClientGraphDirective] {
        let items = (0..<UInt32(overlap)).map { $0 } + (0..<UInt32(20 - overlap)).map { 500 + $0 }
        return g.onInterests(from: PeerID(peer), address: GraphSwarm.address(Int(peer)), epoch: epoch, catalogueSize: 1_000,
                             items: items.sorted(), wantsReply: false, now: .zero)
    }

    @Test func aMoreSimilarNewcomerReplacesTheWeakestNeighbour() {
        var g = Self.single(k: 2)
        _ = Self.disclose(&g, peer: 1, overlap: 4)
        _ = Self.disclose(&g, peer: 2, overlap: 8)
        #expect(g.neighbours == [PeerID(2), PeerID(1)])
        let out = Self.disclose(&g, peer: 3, overlap: 12)
        #expect(g.neighbours == [PeerID(3), PeerID(2)])
        #expect(out.contains(.neighboursChanged([PeerID(3), PeerID(2)])))
        // A less similar one changes nothing.
        let quiet = Self.disclose(&g, peer: 4, overlap: 2)
        #expect(g.neighbours == [PeerID(3), PeerID(2)])
        #expect(!quiet.contains { if case .neighboursChanged = $0 { return true } else { return false } })
        // A neighbour whose new disclosure is less similar drops out.
        _ = Self.disclose(&g, peer: 3, overlap: 1, epoch: 2)
        #expect(g.neighbours == [PeerID(2), PeerID(1)])
        // An older epoch is ignored.
        _ = Self.disclose(&g, peer: 3, overlap: 20, epoch: 1)
        #expect(g.neighbours == [PeerID(2), PeerID(1)])
        #expect(g.counters.disclosuresIgnored == 1)
    }

    @Test func deadPeersLeaveTheNeighbourSetAndAreNeverChosen() {
        var g = Self.single(k: 3)
        for p in 1...6 { _ = Self.disclose(&g, peer: UInt64(p), overlap: p) }
        #expect(g.neighbours == [PeerID(6), PeerID(5), PeerID(4)])
        let out = g.onPeerDead(PeerID(6))
        #expect(g.neighbours == [PeerID(5), PeerID(4), PeerID(3)])
        #expect(out == [.neighboursChanged([PeerID(5), PeerID(4), PeerID(3)])])
        #expect(!g.knownPeers.contains(PeerID(6)))
        for p in 1...5 { _ = g.onPeerDead(PeerID(UInt64(p))) }
        #expect(g.neighbours.isEmpty)
        #expect(g.knownPeers.isEmpty)
    }

    @Test func trustIsBoundedAndFollowsSimilarity() {
        var g = Self.single(k: 3)
        for p in 1...4 { _ = Self.disclose(&g, peer: UInt64(p), overlap: 3 * p) }
        let lo = g.settings.minTrust
        let w = (1...4).map { g.trust(of: PeerID(UInt64($0))) }
        #expect(w.allSatisfy { $0 >= lo && $0 <= 1 })
        #expect(w[3] == 1, "the best neighbour gets full weight")
        #expect(w[0] < w[1] && w[1] < w[2] && w[2] < w[3])
        #expect(g.trust(of: PeerID(99)) == lo, "an unknown peer gets the minimum")
        _ = Self.disclose(&g, peer: 5, overlap: 0)
        #expect(g.trust(of: PeerID(5)) == lo)
    }

    @Test func oneRoundTripScoresBothSidesWithoutEchoes() {
        var swarm = GraphSwarm(log: Self.planted, settings: Self.settings(), seed: 7)
        var probe = swarm.peers[0]   // a copy: what peer 0 sends when it meets peer 6
        let first = probe.onPeerSeen(PeerID(6), address: GraphSwarm.address(6), now: .zero)
        guard case .send(.interests(_, _, _, true), PeerID(6), _) = first.first else {
            Issue.record("expected a disclosure asking for a reply: \(first)"); return
        }
        swarm.meet(0, 6)
        #expect(swarm.delivered == 2, "a disclosure and one reply")
        #expect(swarm.peers[0].similarity(of: PeerID(6)) != nil)
        #expect(swarm.peers[6].similarity(of: PeerID(0)) != nil)
        // Meeting again within the epoch sends nothing.
        #expect(swarm.peers[0].onPeerSeen(PeerID(6), address: GraphSwarm.address(6), now: .zero).isEmpty)
        #expect(swarm.peers[6].onPeerSeen(PeerID(0), address: GraphSwarm.address(0), now: .zero).isEmpty)
    }

    @Test func refreshRetriesUnansweredPeersAndPushesANewEpochAfterNewItems() {
        var g = ClientGraphInstance(id: PeerID(0), realItems: [1, 2, 3], catalogueSize: 100, settings: Self.settings(), seed: 2)
        guard case .schedule(.refresh, _) = g.onStart(now: .zero).first else { Issue.record("no refresh timer"); return }
        let lost = g.onPeerSeen(PeerID(1), address: GraphSwarm.address(1), now: .zero)
        #expect(lost.count == 1)
        // No answer came: the refresh sends again, still asking for a reply.
        let retry = g.onTimer(.refresh, now: .zero)
        #expect(retry.contains { if case .send(.interests(1, 100, _, true), PeerID(1), _) = $0 { true } else { false } })
        _ = g.onInterests(from: PeerID(1), address: GraphSwarm.address(1), epoch: 1, catalogueSize: 100,
                          items: [2, 3, 50], wantsReply: false, now: .zero)
        let idle = g.onTimer(.refresh, now: .zero)
        #expect(!idle.contains { if case .send = $0 { true } else { false } })
        // New interactions: a new epoch goes out, asking for a reply (our scores were against the old real
        // set, so the peer's disclosure is scored again); old decoys stay.
        let before = g.disclosure
        g.updateRealItems([1, 2, 3, 4])
        let push = g.onTimer(.refresh, now: .zero)
        #expect(g.epoch == 2)
        #expect(push.contains { if case .send(.interests(2, 100, let items, true), PeerID(1), _) = $0 { items.contains(4) } else { false } })
        #expect(Set(before.decoys).isSubset(of: g.disclosure.decoys))
    }

    @Test func disclosuresForAnotherCatalogueOrMalformedAreIgnored() {
        var g = Self.single(k: 3)
        _ = g.onInterests(from: PeerID(1), address: GraphSwarm.address(1), epoch: 1, catalogueSize: 999,
                          items: [1, 2], wantsReply: true, now: .zero)
        _ = g.onInterests(from: PeerID(2), address: GraphSwarm.address(2), epoch: 1, catalogueSize: 1_000,
                          items: [2, 1], wantsReply: true, now: .zero)
        _ = g.onInterests(from: PeerID(3), address: GraphSwarm.address(3), epoch: 1, catalogueSize: 1_000,
                          items: [1, 1_000], wantsReply: true, now: .zero)
        #expect(g.counters.disclosuresIgnored == 3)
        #expect(g.knownPeers.isEmpty)
    }

    @Test func theKnownPeerTableIsBoundedAndKeepsNeighbours() {
        var s = Self.settings(k: 2, rho: 0)
        s.maxKnownPeers = 5
        var g = ClientGraphInstance(id: PeerID(0), realItems: (0..<UInt32(20)).map { $0 }, catalogueSize: 1_000, settings: s, seed: 1)
        _ = Self.disclose(&g, peer: 1, overlap: 10)
        _ = Self.disclose(&g, peer: 2, overlap: 9)
        for p in 3...20 { _ = g.onPeerSeen(PeerID(UInt64(p)), address: GraphSwarm.address(p), now: .zero) }
        #expect(g.knownPeers.count == 5)
        #expect(g.neighbours == [PeerID(1), PeerID(2)])
        #expect(g.counters.peersForgotten == 15)
    }

    @Test func exportsListEachPeersTopKMostSimilarFirst() {
        var swarm = GraphSwarm(log: Self.planted, settings: Self.settings(k: 4), seed: 9)
        swarm.meetAll()
        for g in swarm.peers {
            let export = g.exportEdges()
            #expect(export.peer == g.id)
            #expect(export.edges.map(\.to) == g.neighbours && export.edges.count == 4)
            #expect(export.edges.map(\.similarity) == g.neighbours.map { g.similarity(of: $0)! })
            #expect(export.edges.map(\.similarity) == export.edges.map(\.similarity).sorted(by: >))
        }
    }
}
