import GossipProtocol
@testable import PeerCore
import RecommenderModel
import Testing

/// The client graph's partner draw (`PartnerPolicy.similar`): exploration at rate ε, similarity-proportional or
/// uniform choice among the top-k, dead peers never drawn.
struct PartnerPolicyTests {
    static func graph(k: Int, epsilon: Double, selection: NeighbourSelection = .similarityProportional) -> ClientGraphInstance {
        var s = ClientGraphSettings()
        s.neighbours = k
        s.exploration = epsilon
        s.selection = selection
        s.disclosure.decoyRatio = 0
        return ClientGraphInstance(id: PeerID(0), realItems: (0..<UInt32(20)).map { $0 }, catalogueSize: 1_000, settings: s, seed: 1)
    }

    /// Peer `peer` discloses a set overlapping ours in `overlap` items (of 20).
    static func disclose(_ g: inout ClientGraphInstance, peer: UInt64, overlap: Int) {
        let items = (0..<UInt32(overlap)).map { $0 } + (0..<UInt32(20 - overlap)).map { 500 + $0 }
        _ = g.onInterests(from: PeerID(peer), address: PeerAddress(ipv4: 0x0A00_0000 | UInt32(peer), port: 7000), epoch: 1,
                          catalogueSize: 1_000, items: items.sorted(), wantsReply: false, now: .zero)
    }

    @Test func explorationPicksANonNeighbourAtRateEpsilon() {
        let epsilon = 0.2
        var g = Self.graph(k: 5, epsilon: epsilon)
        for p in 1...50 { Self.disclose(&g, peer: UInt64(p), overlap: p % 10 + 1) }
        #expect(g.neighbours.count == 5)
        let neighbours = Set(g.neighbours)
        var rng = SplitMix64(seed: 2)
        let draws = 20_000
        var outside = 0, explored = 0
        for _ in 0..<draws {
            let (p, e) = PartnerPolicy.similar(in: g, rng: &rng)
            guard let p else { Issue.record("no partner"); return }
            if !neighbours.contains(p) { outside += 1 }
            if e { explored += 1 }
        }
        // Exploration draws uniformly over all 50 known peers, 45 of which are not neighbours.
        let expected = epsilon * 45 / 50
        #expect(abs(Double(outside) / Double(draws) - expected) < 0.015, "outside rate \(Double(outside) / Double(draws)), expected \(expected)")
        #expect(abs(Double(explored) / Double(draws) - epsilon) < 0.015)
    }

    @Test func proportionalSelectionFavoursTheMostSimilarNeighbour() {
        var g = Self.graph(k: 2, epsilon: 0)
        Self.disclose(&g, peer: 1, overlap: 4)
        Self.disclose(&g, peer: 2, overlap: 16)
        var rng = SplitMix64(seed: 3)
        var counts: [PeerID: Int] = [:]
        for _ in 0..<10_000 { counts[PartnerPolicy.similar(in: g, rng: &rng).0!, default: 0] += 1 }
        let share = Double(counts[PeerID(2), default: 0]) / 10_000
        #expect(abs(share - 0.8) < 0.02, "share of the neighbour with 4x the similarity: \(share)")
        var u = Self.graph(k: 2, epsilon: 0, selection: .uniform)
        Self.disclose(&u, peer: 1, overlap: 4)
        Self.disclose(&u, peer: 2, overlap: 16)
        counts = [:]
        for _ in 0..<10_000 { counts[PartnerPolicy.similar(in: u, rng: &rng).0!, default: 0] += 1 }
        #expect(abs(Double(counts[PeerID(2), default: 0]) / 10_000 - 0.5) < 0.02)
    }

    @Test func deadPeersAreNeverDrawnAndAnEmptyGraphDrawsNobody() {
        var g = Self.graph(k: 3, epsilon: 0.1)
        for p in 1...6 { Self.disclose(&g, peer: UInt64(p), overlap: p) }
        _ = g.onPeerDead(PeerID(6))
        var rng = SplitMix64(seed: 4)
        for _ in 0..<2_000 { #expect(PartnerPolicy.similar(in: g, rng: &rng).0 != PeerID(6)) }
        for p in 1...5 { _ = g.onPeerDead(PeerID(UInt64(p))) }
        #expect(PartnerPolicy.similar(in: g, rng: &rng).0 == nil)
    }

    @Test func randomModeIsUniformOverTheAliveCandidates() {
        var p = PeerInstanceTests.peer(0)
        _ = p.onStart(seeds: [], now: PeerInstanceTests.t0)
        PeerInstanceTests.introduce(&p, members: Array(1...7))
        var counts: [PeerID: Int] = [:]
        for k in 0..<7_000 {
            for e in p.onTimer(.gossip(.round), now: Instant(nanoseconds: Int64(k) * 1_000_000_000)) {
                if case .exchange(let seq, _, let peer, _) = e {
                    counts[peer, default: 0] += 1
                    _ = p.onExchangeFailed(seq: seq, now: PeerInstanceTests.t0)
                }
            }
        }
        #expect(counts.count == 7)
        for (peer, c) in counts { #expect(c > 800 && c < 1_200, "\(peer) drawn \(c) times of 7,000 over 7") }
    }
}
