import RecommenderModel
import Testing
@testable import GossipProtocol

/// The pure gossip-learning instance: what it sends, merges, declines and never waits for.
@Suite struct GossipLearningTests {
    static func instance(id: UInt64, user: Int = 0, settings: GossipSettings = GossipSettings()) throws -> GossipLearningInstance {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 8, items: 40, groups: 2, perUser: 10, seed: 1),
                                              negatives: 10, seed: 1)
        var config = TrainingConfig()
        config.dimension = 8
        config.optimizer = .sgd
        config.learningRate = 0.2
        let learner = PeerLearner(shard: split.shards[user], config: config, tableSeed: 5, peerSeed: id)
        return GossipLearningInstance(id: PeerID(id), learner: learner, merge: WeightedAverageMerge(), settings: settings, seed: id)
    }

    static let partner = (PeerID(2), PeerAddress.ipv4(127, 0, 0, 1, port: 7002))

    func push(_ directives: [GossipDirective]) -> (UInt64, ModelPayload)? {
        for d in directives { if case .exchange(let seq, .modelPush(_, let model, true), _, _) = d { return (seq, model) } }
        return nil
    }

    /// Settings whose copies travel unrounded, so a test can compare a push with the table bit for bit (rounded
    /// copies: `pushesAndAnswersTravelAtTheConfiguredPrecision`).
    static var exact: GossipSettings { var s = GossipSettings(); s.rowPrecision = .f32; return s }

    @Test func aRoundTrainsThenPushesItsCopyAndSchedulesTheNextRoundWithJitter() throws {
        var a = try Self.instance(id: 1, settings: Self.exact)
        let before = a.learner.items
        let out = a.onTimer(.round, partner: Self.partner, now: .zero)
        #expect(a.learner.round == 1)
        #expect(a.learner.items != before, "local training moved the table")
        let (_, model) = try #require(push(out))
        #expect(model == a.learner.items.payload(round: 1), "the push carries the trained copy")
        let delays = out.compactMap { d -> Duration? in if case .schedule(.round, let after) = d { return after } else { return nil } }
        #expect(delays.count == 1)
        let period = GossipSettings().period
        #expect(delays[0] >= period * 0.75 && delays[0] <= period * 1.25)
    }

    @Test func aStragglersRoundVotesForTheTimeItStandsFor() throws {
        // Rounds 10x rarer: each of its push-sum votes weighs 10, so its data counts per unit of time as much as a
        // normal peer's in a consensus that forgets old votes; rows the epoch does not touch only decay, as anyone's.
        var normal = try Self.instance(id: 1), slow = try Self.instance(id: 1)
        normal.merge = PushSumVoteMerge(decay: 0.9)
        slow.merge = PushSumVoteMerge(decay: 0.9)
        slow.slowdown = 10
        for i in 0..<normal.learner.items.itemCount { normal.learner.items.trainedSteps[i] = 1; slow.learner.items.trainedSteps[i] = 1 }
        _ = normal.onTimer(.round, partner: nil, now: .zero)
        _ = slow.onTimer(.round, partner: nil, now: .zero)
        let positive = Int(try #require(normal.learner.positivesSorted.first))
        #expect(abs(normal.learner.items.trainedSteps[positive] - 1.9) < 1e-5)
        #expect(abs(slow.learner.items.trainedSteps[positive] - 10.9) < 1e-5)
        let untouched = try #require((0..<normal.learner.items.itemCount).first { normal.learner.items.trainedSteps[$0] == 0.9 })
        #expect(slow.learner.items.trainedSteps[untouched] == 0.9)
        #expect(WeightedAverageMerge().spanning(periods: 10).name == WeightedAverageMerge().name)
    }

    @Test func aStartingPeerExchangesButWaitsForAMergeBeforeTraining() throws {
        var fresh = try Self.instance(id: 1)
        _ = fresh.onStart(now: .zero)
        let freshBefore = fresh.learner.items
        let (freshSeq, _) = try #require(push(fresh.onTimer(.round, partner: Self.partner, now: .zero)), "a new peer exchanges at once")
        #expect(fresh.learner.round == 0 && fresh.learner.items == freshBefore, "a new peer does not vote from the initial table")
        _ = fresh.onModelMessage(.modelReply(seq: freshSeq, model: try Self.instance(id: 2, user: 1).snapshot()), from: PeerID(2), now: .zero)
        _ = fresh.onTimer(.round, partner: nil, now: .zero)
        #expect(fresh.learner.round == 1, "and trains once it has merged a copy")

        var resumed = try Self.instance(id: 1)
        resumed.learner.trainLocal()   // it has trained before: a model restored from a checkpoint
        _ = resumed.onStart(now: .zero)
        let before = resumed.learner.items
        let out = resumed.onTimer(.round, partner: Self.partner, now: .zero)
        #expect(resumed.learner.round == 1 && resumed.learner.items == before, "no training on the old copy")
        let (seq, _) = try #require(push(out), "it still exchanges")
        let other = try Self.instance(id: 2, user: 1)
        _ = resumed.onModelMessage(.modelReply(seq: seq, model: other.snapshot()), from: PeerID(2), now: .zero)
        _ = resumed.onTimer(.round, partner: nil, now: .zero)
        #expect(resumed.learner.round == 2, "trains once it has merged a copy")
        #expect(resumed.counters.roundsCatchingUp == 1)
    }

    @Test func aResumedPeerThatHearsFromNobodyTrainsAfterItsCatchUpRounds() throws {
        var settings = GossipSettings()
        settings.catchUpRounds = 2
        var resumed = try Self.instance(id: 1, settings: settings)
        resumed.learner.trainLocal()
        _ = resumed.onStart(now: .zero)
        for _ in 0..<3 { _ = resumed.onTimer(.round, partner: nil, now: .zero) }
        #expect(resumed.learner.round == 2, "two rounds skipped, the third trains")
        #expect(resumed.counters.roundsCatchingUp == 2)
    }

    @Test func aPushIsAnsweredWithTheCopyAsItWasBeforeMerging() throws {
        var a = try Self.instance(id: 1, user: 0, settings: Self.exact), b = try Self.instance(id: 2, user: 1, settings: Self.exact)
        _ = b.onTimer(.round, partner: nil, now: .zero)
        let (seq, model) = try #require(push(a.onTimer(.round, partner: Self.partner, now: .zero)))
        let bBefore = b.learner.items.payload(round: b.learner.round)
        let replies = b.onModelMessage(.modelPush(seq: seq, model: model, wantsReply: true), from: PeerID(1), now: .zero)
        guard case .reply(.modelReply(let rseq, let rmodel)) = replies.first else { Issue.record("no reply: \(replies)"); return }
        #expect(rseq == seq)
        #expect(rmodel == bBefore)
        #expect(b.learner.items.payload(round: b.learner.round) != bBefore, "b merged a's copy")
        _ = a.onModelMessage(.modelReply(seq: seq, model: rmodel), from: PeerID(2), now: .zero)
        #expect(a.counters.exchangesCompleted == 1)
        #expect(a.inFlight.isEmpty)
    }

    @Test func pushesAndAnswersTravelAtTheConfiguredPrecision() throws {
        var s = GossipSettings()
        s.rowPrecision = .i8
        var a = try Self.instance(id: 1, user: 0, settings: s), b = try Self.instance(id: 2, user: 1, settings: s)
        let (seq, model) = try #require(push(a.onTimer(.round, partner: Self.partner, now: .zero)))
        let exact = a.learner.items.payload(round: a.learner.round)
        #expect(model.precision == .i8 && model.scales.count == model.items.count)
        #expect(model.items == exact.items && model.weights == exact.weights, "rows and weights travel exactly")
        #expect(model.values != exact.values && zip(model.values, exact.values).allSatisfy { abs($0 - $1) < 0.05 })
        #expect(a.quantizer.maxResidual > 0, "the rounding error is kept for the next send")
        let replies = b.onModelMessage(.modelPush(seq: seq, model: model, wantsReply: true), from: PeerID(1), now: .zero)
        guard case .reply(.modelReply(_, let answer)) = replies.first else { Issue.record("no reply: \(replies)"); return }
        #expect(answer.precision == .i8)
        #expect(b.counters.mergesApplied == 1, "a rounded copy merges like any other")
    }

    @Test func nonFiniteOrMisshapenModelsAreDeclinedAndNeverMerged() throws {
        var a = try Self.instance(id: 1)
        var bad = a.learner.items.payload(round: 0)
        bad.values[3] = .nan
        let before = a.learner.items
        let out = a.onModelMessage(.modelPush(seq: 9, model: bad, wantsReply: true), from: PeerID(5), now: .zero)
        guard case .reply(.modelDecline(9, let reason)) = out.first else { Issue.record("expected a decline: \(out)"); return }
        #expect(reason == DeclineReason.nonFinite.rawValue)
        var wrong = a.learner.items.payload(round: 0)
        wrong.itemCount += 1
        let out2 = a.onModelMessage(.modelPush(seq: 10, model: wrong, wantsReply: true), from: PeerID(5), now: .zero)
        guard case .reply(.modelDecline(10, let reason2)) = out2.first else { Issue.record("expected a decline: \(out2)"); return }
        #expect(reason2 == DeclineReason.shapeMismatch.rawValue)
        #expect(a.learner.items == before)
        #expect(a.counters.pushesDeclined == 2)
    }

    @Test func roundsNeverWaitAndAtMostMaxInFlightExchangesAreOutstanding() throws {
        var settings = GossipSettings()
        settings.maxInFlight = 2
        var a = try Self.instance(id: 1, settings: settings)
        var seqs: [UInt64] = []
        for _ in 0..<5 {   // no reply ever comes
            if let (seq, _) = push(a.onTimer(.round, partner: Self.partner, now: .zero)) { seqs.append(seq) }
        }
        #expect(a.learner.round == 5, "every round trained")
        #expect(seqs.count == 2)
        #expect(a.counters.exchangesSkippedBusy == 3)
        _ = a.onTimer(.exchangeDeadline(seq: seqs[0]), now: .zero)
        #expect(a.counters.exchangesFailed == 1)
        #expect(push(a.onTimer(.round, partner: Self.partner, now: .zero)) != nil, "a slot freed by the deadline is reused")
        // A reply after its deadline is ignored.
        let late = a.learner.items.payload(round: 0)
        let before = a.learner.items
        _ = a.onModelMessage(.modelReply(seq: seqs[0], model: late), from: PeerID(2), now: .zero)
        #expect(a.learner.items == before)
    }

    @Test func aRoundThatProducesNonFiniteParametersIsRolledBack() throws {
        var a = try Self.instance(id: 1)
        a.learner.config.learningRate = .infinity
        let before = (a.learner.items, a.learner.user)
        _ = a.onTimer(.round, partner: nil, now: .zero)
        #expect(a.counters.rollbacks == 1)
        #expect(a.learner.items == before.0)
        #expect(a.learner.user == before.1)
    }

    @Test func theSameSeedGivesTheSameDirectives() throws {
        func trace() throws -> [String] {
            var a = try Self.instance(id: 3)
            var out: [String] = []
            _ = a.onStart(now: .zero)
            for _ in 0..<4 { out += a.onTimer(.round, partner: Self.partner, now: .zero).map { "\($0)" } }
            return out
        }
        #expect(try trace() == trace())
    }
}
