import Testing
import GossipProtocol
import RecommenderModel
import SwarmSpec
import PeerCore
import WireFormat
@testable import GossipSimulator

@Suite struct EventQueueTests {
    @Test func popsByTimeThenInsertionOrder() {
        var q = EventQueue<Int>()
        var rng = SplitMix64(seed: 3)
        var expected: [(Int64, Int)] = []
        for k in 0..<500 {
            let t = Int64(rng.next(below: 20))
            q.push(k, at: t)
            expected.append((t, k))
        }
        expected.sort { ($0.0, $0.1) < ($1.0, $1.1) }
        var got: [(Int64, Int)] = []
        while let (t, e) = q.pop() { got.append((t, e)) }
        #expect(got.map(\.0) == expected.map(\.0))
        #expect(got.map(\.1) == expected.map(\.1))
    }
}

@Suite struct EventSimulationTests {
    @Test func modelFrameSizesAreWireCodecs() throws {
        let split = try plantedSplit()
        let learner = PeerLearner(shard: split.shards[0], config: trainingConfig(), tableSeed: 1, peerSeed: 2)
        let payload = learner.items.payload(round: 3)
        for m in [Message.modelPush(seq: 9, model: payload, wantsReply: true), .modelReply(seq: 9, model: payload),
                  .modelDecline(seq: 9, reason: 1)] {
            let bytes = try WireCodec.encode(Envelope(swarmID: 1, sender: PeerID(4), sequence: 1, message: m))
            #expect(EventSimulation.frameSize(m) == bytes.count)
        }
    }

    @Test func sameSeedSameRunOtherSeedDiffers() throws {
        let profile = "churn sessions exponential mean 20s offline 30%\nstragglers 25% slowdown 10x link-delay 5x\nloss 2%"
        var a = try simulation(profile, seconds: 40, seed: 5)
        var b = try simulation(profile, seconds: 40, seed: 5)
        var c = try simulation(profile, seconds: 40, seed: 6)
        let ra = a.run(), rb = b.run(), rc = c.run()
        #expect(ra == rb)
        #expect(ra.curve.count == 9)
        #expect(ra.curve != rc.curve)
        #expect(ra.counters != rc.counters)
        // Final model tables are identical bit for bit too.
        for i in 0..<a.peerCount {
            #expect(a.learner(of: i)?.items == b.learner(of: i)?.items)
        }
    }

    /// Peers' events run in parallel windows; which thread ran which peer, and when, must not show in the result.
    @Test func theResultDoesNotDependOnTheNumberOfThreads() throws {
        let profile = """
            churn sessions exponential mean 15s offline 30%
            stragglers 25% slowdown 10x link-delay 5x
            loss 3%
            at 12s kill 25%
            at 20s restart
            at 25s partition 0-11 | 12-23
            at 32s heal
            """
        var runs: [(EventSimulation.Summary, [EventSimulation.PeerResult], [ItemTable?])] = []
        for threads in [1, 2, 5] {
            var sim = try simulation(profile, seconds: 40, seed: 9) { $0.threads = threads }
            let summary = sim.run()
            #expect((sim.parallelWindows > 1000) == (threads > 1), "\(sim.parallelWindows) windows in parallel")
            runs.append((summary, sim.peerResults(), (0..<sim.peerCount).map { sim.learner(of: $0)?.items }))
        }
        #expect(runs[0].0.counters.gossip.exchangesCompleted > 100, "a swarm that exchanges")
        #expect(runs[0].0.counters.connectsFailed > 0 && runs[0].0.counters.datagramsPartitioned > 0, "churn and a partition")
        for k in 1..<runs.count {
            #expect(runs[k].0 == runs[0].0)
            #expect(runs[k].1 == runs[0].1)
            #expect(runs[k].2 == runs[0].2)
        }
    }

    @Test func roundTrippingModelsThroughWireFormatChangesNothing() throws {
        var a = try simulation(seconds: 15) { $0.roundTripModels = false }
        var b = try simulation(seconds: 15)
        #expect(b.settings.roundTripModels, "model messages go through WireFormat by default")
        let ra = a.run(), rb = b.run()
        #expect(ra.curve == rb.curve)
        #expect(ra.counters == rb.counters)
    }

    /// With `sealFrames`, every frame is sealed and opened through each receiver's replay filter, across a restart
    /// (a new epoch); nothing fails to open, and the swarm learns as it does unsealed (frames are 12 bytes larger).
    @Test func sealedFramesOpenEverywhereAcrossARestart() throws {
        let profile = "at 20s kill peers 3\nat 25s restart peers 3"
        var plain = try simulation(profile, seconds: 40)
        var sealed = try simulation(profile, seconds: 40) { $0.sealFrames = true }
        #expect(!plain.settings.sealFrames, "off by default")
        let rp = plain.run(), rs = sealed.run()
        #expect(rs.counters.datagramsDecodeFailed == 0)
        #expect(rs.counters.streamsBroken == rp.counters.streamsBroken)
        #expect(rs.counters.datagramsSent > 0 && rs.counters.bytesSent > rp.counters.bytesSent)
        let hp = rp.curve.last?.hr10 ?? 0, hs = rs.curve.last?.hr10 ?? 0
        #expect(hs > 0.3 && abs(hs - hp) < 0.15, "sealed HR@10 \(hs), unsealed \(hp)")
    }

    @Test func plantedSwarmBeatsItemPopularity() throws {
        let split = try plantedSplit()
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        var sim = try simulation(seconds: 60)
        let r = sim.run()
        let final = try #require(r.final)
        #expect(final.online == 24 && final.evaluated == 24)
        #expect(final.hr10 > pop.hitRate + 0.2, "event sim HR@10 \(final.hr10), ItemPop \(pop.hitRate)")
        #expect(r.counters.gossip.exchangesCompleted > 24 * 60)
        #expect(r.counters.gossip.exchangesFailed == 0)
        #expect(r.counters.memberDowns == 0)
        #expect(final.mbPerPeer > 0)
    }

    @Test func theTargetIsReachedOnlyByATrainedSwarm() throws {
        // A target of 0 is met by any evaluation; the first one that counts is a sample whose peers trained, never
        // the 0 s sample, which holds the first peer alone with the initial table.
        var sim = try simulation(seconds: 20) { $0.targetHR = 0 }
        let r = sim.run()
        let first = try #require(r.curve.first)
        #expect(first.seconds == 0 && first.evaluated > 0, "the 0 s sample evaluates the first peer: \(first)")
        let reached = try #require(r.timeToTarget)
        #expect(reached > 0)
        let sample = try #require(r.curve.first { $0.seconds == reached })
        #expect(sample.meanRound >= 1)
    }

    @Test func cappedMembershipStillMixesTheSwarm() throws {
        // 120 peers that each remember at most 30 others: the overlay stays connected through direct contacts,
        // every peer keeps exchanging, and the swarm learns as well as with full membership (within noise).
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 120, items: 60, groups: 4, perUser: 9, seed: 3),
                                              negatives: 30, seed: 3, file: "planted")
        func run(cap: Int?) -> (EventSimulation, EventSimulation.Summary) {
            var s = settings(seconds: 60)
            s.membership.maxMembers = cap
            var sim = EventSimulation(shards: split.shards, config: trainingConfig(), merge: PushSumVoteMerge(decay: 0.9),
                                      scenario: .none, settings: s)
            let r = sim.run()
            return (sim, r)
        }
        let (capped, rc) = run(cap: 30)
        let (_, rf) = run(cap: nil)
        #expect(rc.counters.evictions > 0 && rf.counters.evictions == 0)
        for i in 0..<capped.peerCount {
            let live = capped.livePeers(of: i)?.count ?? -1
            #expect(live >= 20 && live <= 30, "peer \(i) knows \(live) members")
            #expect((capped.gossipCounters(of: i)?.exchangesCompleted ?? 0) > 20, "peer \(i)")
        }
        let hc = try #require(rc.final).hr10, hf = try #require(rf.final).hr10
        #expect(hc > hf - 0.1, "capped HR@10 \(hc), full membership \(hf)")
    }

    @Test func breakdownSplitsOnlinePeersByStragglingAndReturning() throws {
        var sim = try simulation("stragglers 25% slowdown 5x\nat 10s kill peers 1,2\nat 15s restart peers 1,2", seconds: 30)
        let r = sim.run()
        let groups = sim.breakdown()
        #expect(groups.map(\.peers).reduce(0, +) == r.final?.online)
        let stragglers = groups.filter { $0.group.hasPrefix("stragglers") }, others = groups.filter { $0.group.hasPrefix("others") }
        #expect(stragglers.map(\.peers).reduce(0, +) == 6, "25% of 24 peers")
        #expect(groups.filter { $0.group.hasSuffix("returned") }.map(\.peers).reduce(0, +) == 2)
        let slow = stragglers.map(\.meanRound).max() ?? 0, fast = others.map(\.meanRound).min() ?? 0
        #expect(slow < fast / 2, "straggler rounds \(slow), others \(fast)")
        // The per-peer list behind it: peers 1 and 2 returned, and the online ones are exactly those grouped.
        let each = sim.peerResults()
        #expect(each.map(\.index) == Array(0..<24))
        #expect(Set(each.filter(\.returned).map(\.index)) == [1, 2])
        #expect(each.filter(\.online).count == r.final?.online)
        #expect(each.filter { $0.online && $0.straggler }.count == stragglers.map(\.peers).reduce(0, +))
        #expect(each.allSatisfy { $0.online || $0.rank == nil })
    }

    @Test func theFinalWindowPoolsEachPeersHitsOverItsLastSamples() throws {
        // Samples every 10 s over 60 s; a 25 s window holds those at 40, 50 and 60 s. Churn makes peers miss some.
        var sim = try simulation("churn sessions exponential mean 10s offline 30%", seconds: 60) { s in
            s.sampleInterval = .seconds(10)
            s.finalWindow = .seconds(25)
        }
        let r = sim.run()
        let window = r.curve.filter { $0.seconds >= 35 }
        #expect(window.map(\.seconds) == [40, 50, 60])
        let each = sim.peerResults()
        let samples = each.map(\.windowSamples).reduce(0, +), hits = each.map(\.windowHits).reduce(0, +)
        #expect(samples == window.map(\.evaluated).reduce(0, +))
        let curveHits = window.map { $0.hr10 * Double($0.evaluated) }.reduce(0, +)
        #expect(abs(Double(hits) - curveHits) < 1e-6, "hits \(hits), from the curve \(curveHits)")
        #expect(abs(try #require(r.finalWindowHR) - Double(hits) / Double(samples)) < 1e-12)
        #expect(each.allSatisfy { $0.windowHits <= $0.windowSamples && $0.windowSamples <= 3 })
        #expect(each.contains { $0.windowSamples > 0 && $0.windowSamples < 3 }, "some peer was away for a sample")
        #expect(each.contains { $0.windowHits > 0 })

        // No window: nothing pooled.
        var off = try simulation("churn sessions exponential mean 10s offline 30%", seconds: 60) { s in
            s.sampleInterval = .seconds(10)
            s.finalWindow = .zero
        }
        let ro = off.run()
        #expect(ro.finalWindowHR == nil)
        #expect(off.peerResults().allSatisfy { $0.windowSamples == 0 && $0.windowHits == 0 })
        #expect(ro.curve == r.curve, "the window only counts; the run is the same")
    }

    @Test func slowEndsAddTheirLinkDelayRatherThanMultiplyIt() throws {
        // Every peer 10x slower on the wire, 20 ms base: a link between two of them is 19x (380 ms one way, as two
        // real stragglers each delaying their own sends), so a push-pull (handshake, push, reply: four legs, about
        // 1.5 s) completes within the 5 s exchange timeout. Multiplying the factors (100x, 2 s a leg) would fail them all.
        var sim = try simulation("stragglers 100% link-delay 10x", seconds: 30) { s in
            s.latency = .milliseconds(20) ... .milliseconds(20)
            s.jitter = 0
        }
        let r = sim.run()
        #expect(r.counters.gossip.exchangesCompleted > 100)
        #expect(r.counters.gossip.exchangesFailed == 0)
    }

    @Test func churnKeepsLearning() throws {
        var sim = try simulation("churn sessions exponential mean 15s offline 30%", seconds: 60)
        let r = sim.run()
        #expect(r.timeline.count > 24)
        #expect(r.curve.contains { $0.online < 24 })
        let first = try #require(r.curve.first { $0.evaluated > 0 })
        let final = try #require(r.final)
        #expect(final.hr10 > first.hr10 + 0.2, "HR@10 \(first.hr10) -> \(final.hr10)")
        #expect(r.counters.gossip.exchangesCompleted > 0)
    }

    @Test func runningPeersFollowTheScenarioTimeline() throws {
        var sim = try simulation("churn sessions exponential mean 10s offline 50%\nat 20s kill 25%", seconds: 40)
        let r = sim.run()
        #expect(r.timeline.first?.time == .zero)   // half the peers are offline from the start
        for p in r.curve where p.seconds >= 1 {   // after every first start (startSpread is 1 s)
            var online = Set(0..<24)
            for e in r.timeline where e.time.inSeconds <= p.seconds {
                switch e.action {
                case .kill, .leave: online.subtract(e.peers)
                case .restart, .join: online.formUnion(e.peers)
                default: break
                }
            }
            #expect(p.online == online.count, "at \(p.seconds) s")
        }
    }

    @Test func messagesToKilledPeersAreLostAndExchangesFail() throws {
        var sim = try simulation("at 10s kill peers 18-23", seconds: 90)
        sim.run(until: .seconds(9))
        #expect(sim.summary.counters.connectsFailed == 0)
        let r = sim.run()
        #expect(r.final?.online == 18)
        #expect(r.counters.datagramsToOffline > 0)
        #expect(r.counters.connectsFailed > 0)
        #expect(r.counters.gossip.exchangesFailed > 0)
        // Failure detection has removed the dead from every survivor's membership.
        for i in 0..<18 {
            let live = Set(try #require(sim.livePeers(of: i)).map(\.raw))
            #expect(live == Set((0..<18).map(UInt64.init)).subtracting([UInt64(i)]), "peer \(i) sees \(live.sorted())")
        }
        #expect(sim.livePeers(of: 20) == nil)
    }

    @Test func restartRecoversFromCheckpoint() throws {
        var sim = try simulation("at 40s kill peers 3\nat 45s restart peers 3", seconds: 70)
        sim.run(until: .seconds(39))
        let before = try #require(sim.gossipCounters(of: 3)).rounds
        sim.run(until: .seconds(46))
        // Restarted from the 30 s checkpoint: not a fresh model (round > 0), and older than the crash.
        let restored = try #require(sim.learner(of: 3)).round
        #expect(restored > 0 && restored < UInt64(before) + 2)
        let r = sim.run()
        #expect(r.final?.online == 24)
        let live = try #require(sim.livePeers(of: 0))
        #expect(live.contains(PeerID(3)))
    }

    @Test func partitionSplitsMembershipAndHealingMergesIt() throws {
        var sim = try simulation("at 10s partition 0-11 | 12-23\nat 70s heal", seconds: 160)
        sim.run(until: .seconds(68))
        let a = Set((0..<12).map(UInt64.init)), b = Set((12..<24).map(UInt64.init))
        for i in 0..<24 {
            let live = Set(try #require(sim.livePeers(of: i)).map(\.raw))
            let mine = i < 12 ? a : b
            #expect(live == mine.subtracting([UInt64(i)]), "peer \(i) during the partition sees \(live.sorted())")
        }
        let r = sim.run()
        for i in 0..<24 {
            let live = Set(try #require(sim.livePeers(of: i)).map(\.raw))
            #expect(live == a.union(b).subtracting([UInt64(i)]), "peer \(i) after healing sees \(live.sorted())")
        }
        #expect(r.counters.datagramsPartitioned > 0)
    }
}

/// Partner modes in the simulator: the same `PeerInstance` decisions the node makes.
@Suite struct SimulatedPartnerModeTests {
    @Test func inStaticModeEveryExchangeFollowsATopologyEdge() throws {
        let n = 24
        let ring = (0..<n).map { [($0 + n - 1) % n, ($0 + 1) % n] }
        var sim = try simulation(seconds: 40) { $0.partners = .neighbours(ring) }
        _ = sim.run()
        for i in 0..<n {
            let used = Set(sim.partners(of: i).keys.map { Int($0.raw) })
            #expect(used == Set(ring[i]), "peer \(i) gossiped with \(used.sorted()), its ring neighbours are \(ring[i])")
        }
    }

    @Test func theClientGraphPrefersPeersOfTheSameTasteGroupAndTheSwarmStillLearns() throws {
        // 24 planted users in 4 groups (user u in group u % 4): a random partner shares the group 5 times in 23.
        func sameGroupShare(_ partners: EventSimulation.Partners) throws -> Double {
            var sim = try simulation(seconds: 60) { $0.partners = partners }
            let r = sim.run()
            if case .clientGraph = partners {
                let split = try plantedSplit()
                let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
                let hr = try #require(r.final).hr10
                // Local training alone reaches about 0.25 here: the gap is what the similar peers' copies add.
                #expect(hr > pop.hitRate + 0.5, "client-graph swarm HR@10 \(hr), ItemPop \(pop.hitRate)")
            }
            var same = 0, all = 0
            for i in 0..<24 {
                for (p, c) in sim.partners(of: i) {
                    all += c
                    if Int(p.raw) % 4 == i % 4 { same += c }
                }
            }
            return Double(same) / Double(max(1, all))
        }
        var cg = ClientGraphSettings()
        cg.neighbours = 4
        cg.exploration = 0.1
        cg.refreshPeriod = .seconds(2)
        cg.disclosure.decoyRatio = 1
        let random = try sameGroupShare(.random)
        let graph = try sameGroupShare(.clientGraph(cg))
        #expect(random < 0.35, "random partners shared the group \(random) of the time")
        #expect(graph > 0.6, "client-graph partners shared the group \(graph) of the time (random: \(random))")
    }
}

/// The attack harness through the simulator (issue 17): a few peers of a small planted swarm inflate their weights.
@Suite struct AttackSimulationTests {
    /// 48 planted users, 5 of them malicious (about 10%), 60 virtual seconds; the benign peers' pooled HR@10.
    static func run(_ attack: Attack?, defences: Bool, seed: UInt64 = 1) throws -> (hr: Double, summary: EventSimulation.Summary) {
        try run(attack, merge: defences ? .on : .off, reputation: defences ? .init() : .off, seed: seed)
    }

    static func run(_ attack: Attack?, merge defences: MergeDefences, reputation: ReputationSettings = .init(),
                    seed: UInt64 = 1) throws -> (hr: Double, summary: EventSimulation.Summary) {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 48, items: 48, groups: 4, perUser: 9, seed: 7),
                                              negatives: 30, seed: 7, file: "planted")
        var s = EventSimulation.Settings()
        s.duration = .seconds(60)
        s.seed = seed
        s.gossip.period = .milliseconds(500)
        s.gossip.evaluationPeriod = .seconds(2)
        s.sampleInterval = .seconds(5)
        s.finalWindow = .seconds(30)
        s.gossip.defences = defences
        s.reputation = reputation
        s.attack = attack
        s.malicious = attack == nil ? [] : SeedScheme.attackers(count: 5, of: 48, seed: seed, excluding: [0, 1, 2])
        var sim = EventSimulation(shards: split.shards, config: trainingConfig(), merge: PushSumVoteMerge(decay: 0.9), settings: s)
        let summary = sim.run()
        return (try #require(summary.finalWindowHR), summary)
    }

    @Test func defencesKeepAWeightInflationAttackFromTakingTheSwarm() throws {
        let clean = try Self.run(nil, defences: true).hr
        let open = try Self.run(Attack(kind: .weightInflation), defences: false).hr
        let defended = try Self.run(Attack(kind: .weightInflation), defences: true)
        // Margins a broken defence would miss: undefended the liars take the swarm down to about random ranking.
        #expect(open < clean - 0.25, "undefended HR@10 \(open), clean \(clean)")
        #expect(defended.hr > clean - 0.1, "defended HR@10 \(defended.hr), clean \(clean)")
        #expect(defended.summary.counters.gossip.copiesDropped > 0)
    }

    /// The other kinds that hurt this swarm (measured once, seed 1, benign HR@10 undefended -> defended, clean 1.0:
    /// clock forgery 0.53 -> 1.0, huge values 0.0 -> 1.0, L-S 0.26 -> 1.0, O-D 0.24 -> 0.68 before the step cap, 0.94 with it). Free riders do not hurt
    /// and promotion barely moves HR@10 (its exposure, 0.12 -> 0.07, is left to the attack table): not tested here.
    @Test(arguments: [Attack.Kind.clockForgery, .hugeValues, .noiseSparse, .oppositeDense])
    func defencesBeatNoDefencesByAWideMargin(kind: Attack.Kind) throws {
        let open = try Self.run(Attack(kind: kind), defences: false).hr
        let defended = try Self.run(Attack(kind: kind), defences: true).hr
        #expect(defended > open + 0.2, "\(kind.rawValue): defended HR@10 \(defended), undefended \(open)")
        #expect(defended > 0.6, "\(kind.rawValue): defended HR@10 \(defended)")
    }

    /// The step cap (`MergeDefences.capSteps`) against O-D, which stays inside the clipping radius: the default stack
    /// with a row cap of 3 radii, against the same stack without the step cap. (O-S is the same attack here: its 100
    /// rows cover the 48 items.) In this swarm, 10% malicious on 48 items, the default row cap of 6 helps less (HR@10
    /// 0.68 -> 0.72, measured once); at 5% of 943 ML-100K peers it holds (README, "Trust and safety"). With 32-bit rows
    /// the cap of 3 reached 0.94 here; with the 8-bit rows of today's default, 0.67 -> 0.89.
    @Test(arguments: [Attack.Kind.oppositeDense])
    func theStepCapHoldsTheOppositeMoveAttack(kind: Attack.Kind) throws {
        var without = MergeDefences.on
        without.capSteps = false
        var with = MergeDefences.on
        with.stepCap = 3
        let before = try Self.run(Attack(kind: kind), merge: without).hr
        let after = try Self.run(Attack(kind: kind), merge: with)
        print("step cap, \(kind.rawValue): HR@10 \(before) -> \(after.hr), step-capped rows \(after.summary.counters.gossip.rowsStepCapped), copies dropped \(after.summary.counters.gossip.copiesStepDropped)")
        #expect(after.hr > before + 0.1, "\(kind.rawValue): with the step cap HR@10 \(after.hr), without \(before)")
        #expect(after.hr > 0.85, "\(kind.rawValue): with the step cap HR@10 \(after.hr)")
    }

    @Test func cleanSwarmIsTheSameWithDefencesOnOrOff() throws {
        let on = try Self.run(nil, defences: true).hr, off = try Self.run(nil, defences: false).hr
        #expect(abs(on - off) < 0.05, "clean HR@10 defended \(on), undefended \(off)")
    }
}
