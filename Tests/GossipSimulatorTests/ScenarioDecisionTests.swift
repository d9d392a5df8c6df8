import Testing
import GossipProtocol
import RecommenderModel
@testable import GossipSimulator

// What a profile's events make peers decide, on virtual time: these used to be wall-clock tests of real peers
// (NodeRuntimeTests), where they were slow and at the mercy of a loaded machine. The node keeps the tests of what
// only sockets and timers can show (ScenarioDriverTests, FaultInjectionSwarmTests, CheckpointRestartTests).

/// Exchanges that peer `i` started and completed, by partner index.
private func completed(_ sim: EventSimulation, _ i: Int) -> [Int: Int] {
    Dictionary(uniqueKeysWithValues: sim.completedExchanges(of: i).map { (Int($0.key.raw), $0.value) })
}

@Suite struct ScenarioDecisionTests {
    static let seed: UInt64 = 1

    @Test func aKilledPeerRestartsFromItsCheckpointAndRejoinsThroughTheMembersItKeptWithEverySeedDown() throws {
        // Peers 0-2 are everyone's seeds. Peer 5 comes back once every survivor has declared it dead (so nobody
        // probes it any more) and with every seed dead: only the members its 10 s checkpoint kept can let it in.
        var sim = try simulation("at 12s kill peers 0-2,5\nat 45s restart peers 5", seconds: 65, seed: Self.seed) { s in
            s.checkpointInterval = .seconds(10)
        }
        sim.run(until: .seconds(11))
        let roundsBefore = try #require(sim.gossipCounters(of: 5)).rounds
        sim.run(until: .seconds(44))
        #expect(!sim.isOnline(5) && sim.livePeers(of: 5) == nil, "killed (seed \(Self.seed))")
        for i in 3..<24 where i != 5 {
            #expect(try #require(sim.livePeers(of: i)).contains(PeerID(5)) == false, "peer \(i) has given peer 5 up (seed \(Self.seed))")
        }
        sim.run(until: .seconds(45))
        let restored = try #require(sim.learner(of: 5)).round
        #expect(restored > 0 && restored <= UInt64(roundsBefore), "resumed from its checkpoint at round \(restored) (seed \(Self.seed))")
        let completedAtRestart = completed(sim, 5).values.reduce(0, +)
        _ = sim.run()
        let survivors = Set((3..<24).map(UInt64.init))
        let seen = Set(try #require(sim.livePeers(of: 5)).map(\.raw))
        #expect(seen == survivors.subtracting([5]), "peer 5 rejoined and sees \(seen.sorted()) (seed \(Self.seed))")
        for i in 3..<24 where i != 5 {
            #expect(try #require(sim.livePeers(of: i)).contains(PeerID(5)), "peer \(i) sees peer 5 again (seed \(Self.seed))")
        }
        let after = completed(sim, 5).values.reduce(0, +) - completedAtRestart
        #expect(after >= 10, "peer 5 completed \(after) exchanges after its restart (seed \(Self.seed))")
    }

    @Test func aRestartedPeerLivesOneLifeTheTimersOfItsKilledProcessNeverFire() throws {
        // Back 1 ms after a crash, before the timers its first process had queued are due: the restart bumps the
        // peer's generation, so those timers are dropped and it trains at the swarm's pace, not twice as often.
        // (Timers due while it is down are dropped because it is down, whatever the generation.)
        var sim = try simulation("at 20s kill peers 3\nat 20001ms restart peers 3", seconds: 50, seed: Self.seed)
        sim.run(until: .seconds(30))
        let rounds = { (sim: EventSimulation) in (0..<24).map { sim.gossipCounters(of: $0)?.rounds ?? 0 } }
        let start = rounds(sim)
        _ = sim.run()
        let end = rounds(sim)
        let others = (0..<24).filter { $0 != 3 }.map { end[$0] - start[$0] }.sorted()
        let median = Double(others[others.count / 2]), restarted = Double(end[3] - start[3])
        #expect(median > 30, "the others trained \(median) rounds in 20 s (seed \(Self.seed))")
        #expect(restarted > 0.8 * median && restarted < 1.2 * median,
                "restarted peer: \(restarted) rounds in 20 s, the others' median \(median) (seed \(Self.seed))")
    }

    @Test func noExchangeCrossesAPartitionUntilItHealsAndThenExchangesCrossAgain() throws {
        // 30 s apart, the sides declare each other dead; after the heal, Cyclon shuffles with the far side's view
        // entries carry the news that lets each refute its death, and the far side becomes partners again.
        var sim = try simulation("at 10s partition 0-11 | 12-23\nat 40s heal", seconds: 70, seed: Self.seed)
        func side(_ i: Int) -> Int { i < 12 ? 0 : 1 }
        func tally() -> (same: Int, cross: Int) {
            var same = 0, cross = 0
            for i in 0..<24 {
                for (j, n) in completed(sim, i) { if side(i) == side(j) { same += n } else { cross += n } }
            }
            return (same, cross)
        }
        sim.run(until: .seconds(10))
        let cut = tally()
        #expect(cut.cross > 20, "exchanges crossed before the partition: \(cut) (seed \(Self.seed))")
        sim.run(until: .milliseconds(39_999))
        let during = tally()
        #expect(during.cross == cut.cross, "an exchange crossed the partition: \(cut) -> \(during) (seed \(Self.seed))")
        #expect(during.same > cut.same + 24 * 20, "each side kept exchanging: \(cut) -> \(during) (seed \(Self.seed))")
        _ = sim.run()
        let after = tally()
        #expect(after.cross > during.cross + 100, "exchanges crossed again after the heal: \(during) -> \(after) (seed \(Self.seed))")
    }

    @Test func aPeerWhoseRepliesNeverComeInTimeStallsNobody() throws {
        // Peer 3's links carry 80 ms more each way: its pings are answered in time (200 ms of a 300 ms timeout), so it
        // stays a member, but a push-pull with it (four legs, 400 ms) always misses the 300 ms exchange deadline.
        let adjust = { (s: inout EventSimulation.Settings) in
            s.latency = .milliseconds(20) ... .milliseconds(20)
            s.jitter = 0
            s.gossip.exchangeTimeout = .milliseconds(300)
        }
        var slow = try simulation("stragglers peers 3 link-delay +80ms", seconds: 30, seed: Self.seed, adjust: adjust)
        var control = try simulation(seconds: 30, seed: Self.seed, adjust: adjust)
        _ = slow.run()
        _ = control.run()
        let healthy = (0..<24).filter { $0 != 3 }
        var failed = 0, done = 0, withSlow = 0
        for i in healthy {
            let g = try #require(slow.gossipCounters(of: i)), c = try #require(control.gossipCounters(of: i))
            // Rounds never wait on an exchange: the same pace as in a swarm without the slow peer.
            #expect(Double(g.rounds) >= 0.95 * Double(c.rounds), "peer \(i): \(g.rounds) rounds, \(c.rounds) without the slow peer (seed \(Self.seed))")
            #expect(completed(slow, i)[3] == nil, "peer \(i) completed an exchange with the slow peer (seed \(Self.seed))")
            #expect(try #require(slow.livePeers(of: i)).contains(PeerID(3)), "peer \(i) still counts peer 3 a member (seed \(Self.seed))")
            failed += g.exchangesFailed
            done += g.exchangesCompleted
            withSlow += slow.partners(of: i)[PeerID(3)] ?? 0
        }
        #expect(withSlow > 20 && failed >= withSlow - 23, "\(withSlow) exchanges with the slow peer, \(failed) failed (seed \(Self.seed))")
        #expect(done > 10 * failed, "completed \(done), failed \(failed): 1 partner in 23 is slow (seed \(Self.seed))")
    }

    @Test func tenPercentDatagramLossKillsNobodyAndTheSwarmStillLearns() throws {
        let split = try plantedSplit()
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        var sim = try simulation("loss 10%", seconds: 40, seed: Self.seed)
        let r = sim.run()
        #expect(r.counters.datagramsLost > 100, "\(r.counters.datagramsLost) datagrams lost (seed \(Self.seed))")
        // Indirect probes and suspicion absorb the loss: no live peer is ever declared down.
        #expect(r.counters.memberDowns == 0, "\(r.counters.memberDowns) members declared down (seed \(Self.seed))")
        for i in 0..<24 {
            #expect(sim.livePeers(of: i)?.count == 23, "peer \(i) sees \(sim.livePeers(of: i)?.count ?? -1) live members (seed \(Self.seed))")
        }
        let final = try #require(r.final)
        #expect(final.hr10 > pop.hitRate + 0.2, "HR@10 \(final.hr10) under loss, ItemPop \(pop.hitRate) (seed \(Self.seed))")
    }
}
