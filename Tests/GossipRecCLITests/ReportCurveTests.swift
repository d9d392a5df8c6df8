import Testing
@testable import GossipRecCLI

/// `gossiprec report`'s curve: every peer's latest evaluation, or with an online window only peers heard from
/// recently (a crashed peer drops out instead of freezing its last value into the mean).
@Suite struct ReportCurveTests {
    typealias E = ReportCommand.Event

    /// Peer 0 evaluates a hit every 5 s until 100 s; peer 1 a miss every 5 s until 20 s, then crashes.
    static let events: [E] = (1...20).map { E(t: Double($0) * 5, peer: 0, hit: 1, ndcg: 1, sent: 0, round: 0) }
        + (1...4).map { E(t: Double($0) * 5, peer: 1, hit: 0, ndcg: 0, sent: 0, round: 0) }

    @Test func withoutAWindowACrashedPeerKeepsItsLastValue() {
        let points = ReportCommand.curve(Self.events.sorted { $0.t < $1.t }, bucket: 10)
        let last = points.last!
        #expect(last.evaluated == 2)
        #expect(last.hr10 == 0.5)
    }

    @Test func withAWindowOnlyPeersHeardFromRecentlyCount() {
        let points = ReportCommand.curve(Self.events.sorted { $0.t < $1.t }, bucket: 10, onlineWindow: 15)
        #expect(points.first { $0.t == 20 }?.evaluated == 2, "both online at 20 s")
        let last = points.last!
        #expect(last.evaluated == 1, "the crashed peer dropped out")
        #expect(last.hr10 == 1)
    }
}
