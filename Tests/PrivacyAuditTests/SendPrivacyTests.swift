import GossipProtocol
import RecommenderModel
import Testing
@testable import PrivacyAudit

/// Each sending defence (`PrivacySettings`) against the attack on the planted swarm of `LeakAttackTests`, with the same
/// seed: the figure it targets must fall by a margin that the undefended run (the no-op) does not reach.
@Suite struct SendPrivacyTests {
    static let weightScorings: [Scoring] = [.raw, .relative, .jump, .intersection]

    /// The attack's figures at each budget with `privacy`, and the swarm's HR@10.
    static func audit(_ privacy: PrivacySettings, rounds: Int = 120) throws -> (summaries: [LeakSummary], hr: Double) {
        var swarm = try PlantedSwarm(privacy: privacy)
        swarm.run(rounds: rounds)
        return (swarm.auditor.summaries(), swarm.hitRate())
    }

    static func maxAUC(_ s: LeakSummary, _ scorings: [Scoring]) -> Double { scorings.map { s.auc[$0]! }.max()! }

    /// The margins the tests below ask for, as predicates, so the no-op test can check they fail without a defence.
    static func weightsHidden(_ s: LeakSummary) -> Bool { maxAUC(s, weightScorings) < 0.6 }
    static func everythingHidden(_ s: LeakSummary) -> Bool { s.bestAUC < 0.65 && s.bestSamePopularityAUC < 0.65 }
    static func precisionHalved(_ s: LeakSummary, from base: LeakSummary) -> Bool {
        weightScorings.map { s.precision[$0]! }.max()! < 0.6 * weightScorings.map { base.precision[$0]! }.max()!
    }

    @Test func aNoOpDefenceMeetsNoneOfTheMargins() throws {
        var noop = PrivacySettings.off
        noop.decoyMove = 2   // a knob that only matters when decoys are on
        let base = try Self.audit(.off).summaries.last!, s = try Self.audit(noop).summaries.last!
        #expect(!Self.weightsHidden(s))
        #expect(!Self.everythingHidden(s))
        #expect(!Self.precisionHalved(s, from: base))
        #expect(Self.maxAUC(s, [.raw]) > 0.9)
    }

    @Test func spreadVotesGiveEveryRowTheSameWeight() throws {
        var p = PrivacySettings.off
        p.spreadVotes = 1
        let s = try Self.audit(p).summaries.last!
        #expect(Self.weightsHidden(s), "weight scorings' AUC \(Self.maxAUC(s, Self.weightScorings))")
    }

    @Test func pseudoItemsDiluteThePrecision() throws {
        var p = PrivacySettings.off
        p.pseudoItems = 3
        let base = try Self.audit(.off).summaries.last!, s = try Self.audit(p).summaries.last!
        #expect(Self.precisionHalved(s, from: base), "precision \(s.bestPrecision) against \(base.bestPrecision)")
    }

    @Test func noiseOnEveryRowWithSpreadVotesHidesWeightsAndMoves() throws {
        var p = PrivacySettings.off
        p.spreadVotes = 1; p.clipNorm = 0.05; p.noiseMultiplier = 1
        let s = try Self.audit(p).summaries.last!
        #expect(Self.everythingHidden(s), "AUC \(s.bestAUC), same-popularity AUC \(s.bestSamePopularityAUC)")
        #expect(p.epsilonPerRound()! > 4.8 && p.epsilonPerRound()! < 4.9)   // √(2 ln 125000) ≈ 4.84
    }

    @Test func sharingLessShowsLessPerCopy() throws {
        var p = PrivacySettings.off
        p.shareFraction = 0.3
        let base = try Self.audit(.off).summaries.first!, s = try Self.audit(p).summaries.first!
        #expect(s.budget == 1 && base.budget == 1)
        #expect(s.auc[.raw]! < base.auc[.raw]! - 0.1, "one copy: raw AUC \(s.auc[.raw]!) against \(base.auc[.raw]!)")
    }

    @Test func sharingLessConservesPushSumMass() throws {
        var p = PrivacySettings.off
        p.shareFraction = 0.3
        // No staleness discount and no receiving defences: then a merge moves weight between the two copies and
        // creates or destroys none, if both sides merged the same rows.
        var swarm = try PlantedSwarm(privacy: p, merge: PushSumVoteMerge(stalenessDecay: 1), defences: .off)
        swarm.run(rounds: 5)
        var a = swarm.peers[0], b = swarm.peers[1]
        let before = Double(a.learner.items.trainedSteps.reduce(0, +) + b.learner.items.trainedSteps.reduce(0, +))
        let out = a.onTimer(.round, partner: (PeerID(1), PlantedSwarm.address(1)), now: Instant(nanoseconds: 99_000_000_000))
        let afterTraining = Double(a.learner.items.trainedSteps.reduce(0, +) + b.learner.items.trainedSteps.reduce(0, +))
        for case .exchange(_, let push, _, _) in out {
            if case .modelPush(_, let m, _) = push { #expect(m.items.count < 60) }   // about 30% of 120 rows
            for case .reply(let reply) in b.onModelMessage(push, from: PeerID(0), now: Instant(nanoseconds: 99_000_000_000)) {
                _ = a.onModelMessage(reply, from: PeerID(1), now: Instant(nanoseconds: 99_000_000_000))
            }
        }
        let after = Double(a.learner.items.trainedSteps.reduce(0, +) + b.learner.items.trainedSteps.reduce(0, +))
        #expect(abs(after - afterTraining) < 1e-3 * max(1, afterTraining), "mass \(afterTraining) -> \(after) (before training \(before))")
    }
}
