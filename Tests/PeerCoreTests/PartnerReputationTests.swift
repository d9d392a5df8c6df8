import GossipProtocol
import PeerCore
import RecommenderModel
import Testing

/// Per-partner reputation and quarantine (`PartnerReputation`), alone and inside a `PeerInstance`.
struct PartnerReputationTests {
    static let t0 = Instant(nanoseconds: 0)
    static func at(_ s: Int64) -> Instant { Instant(nanoseconds: s * 1_000_000_000) }

    static func verdict(outlier: Bool = false, clipped: Int = 0, rows: Int = 100, stale: Bool = false, lead: Bool = false) -> CopyScreen.Verdict {
        var v = CopyScreen.Verdict()
        v.rows = rows; v.rowsJudged = rows; v.rowsClipped = clipped; v.outlier = outlier; v.stale = stale; v.leadCapped = lead
        return v
    }

    static func settings(warmUp: Int = 0) -> ReputationSettings {
        var s = ReputationSettings()
        s.warmUp = warmUp
        return s
    }

    @Test func aPartnerWhoseCopiesKeepFailingIsQuarantinedForAWhile() {
        var r = PartnerReputation(settings: Self.settings())
        let liar = PeerID(7), honest = PeerID(8)
        var started = false
        for k in 0..<3 {
            started = r.record(Self.verdict(outlier: true), from: liar, now: Self.at(Int64(k))) || started
            r.record(Self.verdict(clipped: 3), from: honest, now: Self.at(Int64(k)))
        }
        #expect(started && r.isQuarantined(liar, now: Self.at(10)) && r.quarantines == 1)
        #expect(!r.isQuarantined(honest, now: Self.at(10)) && r.score(of: honest) == 0)
        #expect(!r.isQuarantined(liar, now: Self.at(2 + 121)), "a quarantine ends")
        // On probation: one more failing copy quarantines it again.
        let again = r.record(Self.verdict(outlier: true), from: liar, now: Self.at(200))
        #expect(again && r.isQuarantined(liar, now: Self.at(201)))
    }

    @Test func warmUpStaleAndLeadingCopiesAreNotJudged() {
        var r = PartnerReputation(settings: Self.settings(warmUp: 5))
        let p = PeerID(3)
        for k in 0..<5 { r.record(Self.verdict(outlier: true), from: p, now: Self.at(Int64(k))) }
        #expect(r.score(of: p) == 0, "the receiver's first copies only settle its radii")
        for k in 5..<15 {
            r.record(Self.verdict(outlier: true, stale: true), from: p, now: Self.at(Int64(k)))   // a returning peer's copy
            r.record(Self.verdict(outlier: true, lead: true), from: p, now: Self.at(Int64(k)))    // the receiver is behind
        }
        #expect(r.score(of: p) == 0 && !r.isQuarantined(p, now: Self.at(20)))
    }

    @Test func aReceiverThatEveryoneFailsDoubtsItselfNotThem() {
        var r = PartnerReputation(settings: Self.settings())
        // Fifty partners, each failing once: the receiver, not they, is off (a peer poisoned before its radii adapted).
        for k in 0..<50 { r.record(Self.verdict(outlier: true), from: PeerID(UInt64(100 + k)), now: Self.at(Int64(k))) }
        #expect(r.overallFailure > 0.5)
        let p = PeerID(9)
        for k in 0..<6 { r.record(Self.verdict(outlier: true), from: p, now: Self.at(Int64(60 + k))) }
        #expect(!r.isQuarantined(p, now: Self.at(70)) && r.quarantines == 0)
    }

    @Test func offNeverQuarantines() {
        var r = PartnerReputation(settings: .off)
        for k in 0..<10 { r.record(Self.verdict(outlier: true), from: PeerID(1), now: Self.at(Int64(k))) }
        #expect(!r.isQuarantined(PeerID(1), now: Self.at(11)))
    }

    /// Through the peer: a partner whose pushes keep failing the screen is quarantined, its next push declined with
    /// `DeclineReason.refused` (unmerged), and partner choice no longer picks it.
    @Test func aPeerRefusesAndAvoidsAQuarantinedPartner() {
        var settings = PeerSettings()
        settings.reputation.warmUp = 0
        var receiver = PeerInstanceTests.peer(1, settings: settings)
        var liarSettings = PeerSettings()
        liarSettings.attack = Attack(kind: .weightInflation)
        var liar = PeerInstanceTests.peer(2, settings: liarSettings)
        _ = receiver.onStart(seeds: [], now: Self.t0)
        _ = liar.onStart(seeds: [], now: Self.t0)
        PeerInstanceTests.introduce(&receiver, members: [2, 3])
        PeerInstanceTests.introduce(&liar, members: [1])
        var quarantined = false
        for k in 0..<6 where !quarantined {
            let out = liar.onTimer(.gossip(.round), now: Self.at(Int64(k)))
            guard case .exchange(let seq, let push, _, _)? = out.first(where: { if case .exchange = $0 { return true } else { return false } }) else { continue }
            _ = liar.onExchangeFailed(seq: seq, now: Self.at(Int64(k)))
            let answer = receiver.onStreamMessage(push, from: PeerID(2), inbound: true, now: Self.at(Int64(k)))
            quarantined = answer.contains { if case .report(.quarantined(PeerID(2))) = $0 { return true } else { return false } }
        }
        #expect(quarantined && receiver.reputation.isQuarantined(PeerID(2), now: Self.at(10)))
        let table = receiver.learner.items
        let out = liar.onTimer(.gossip(.round), now: Self.at(10))
        guard case .exchange(_, let push, _, _)? = out.first(where: { if case .exchange = $0 { return true } else { return false } }) else {
            Issue.record("the liar started no exchange"); return
        }
        let answer = receiver.onStreamMessage(push, from: PeerID(2), inbound: true, now: Self.at(10))
        #expect(answer.contains { if case .reply(.modelDecline(_, DeclineReason.refused.rawValue)) = $0 { return true } else { return false } })
        #expect(receiver.learner.items == table && receiver.gossip.counters.copiesRefused == 1)
        var picked: Set<PeerID> = []
        for k in 11..<51 {
            for e in receiver.onTimer(.gossip(.round), now: Self.at(Int64(k))) {
                if case .exchange(let seq, _, let peer, _) = e { picked.insert(peer); _ = receiver.onExchangeFailed(seq: seq, now: Self.at(Int64(k))) }
            }
        }
        #expect(picked == [PeerID(3)], "partners picked while 2 is quarantined: \(picked)")
    }
}
