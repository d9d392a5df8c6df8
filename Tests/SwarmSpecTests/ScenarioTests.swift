import Testing
import GossipProtocol
@testable import SwarmSpec

/// Parses `text`, expecting a `ScenarioParseError`, and returns it.
private func parseError(_ text: String) -> ScenarioParseError? {
    do { _ = try Scenario.parse(text: text, file: "t.profile"); return nil } catch { return error }
}

/// The long-run fraction of peer-time spent offline in `timeline` over `[0, duration)`.
private func offlineFraction(_ timeline: [ScenarioEvent], peers: Int, duration: Duration) -> Double {
    var offlineSince = [Duration?](repeating: nil, count: peers)
    var offline = 0.0
    for e in timeline {
        for p in e.peers {
            switch e.action {
            case .kill, .leave: offlineSince[p] = e.time
            case .restart, .join:
                if let s = offlineSince[p] { offline += (e.time - s).inSeconds }
                offlineSince[p] = nil
            default: break
            }
        }
    }
    for s in offlineSince { if let s { offline += (duration - s).inSeconds } }
    return offline / (Double(peers) * duration.inSeconds)
}

@Suite struct ScenarioParsingTests {
    @Test func parsesEveryDirective() throws {
        let s = try Scenario.parse(text: """
            # a comment line
            seed 7
            loss 1%
            latency 5ms-40ms
            bandwidth 20mbit
            absent 10%
            stragglers 20% slowdown 10x link-delay 10x   # trailing comment
            stragglers peers 1,3-4 compute 2x link-delay +50ms
            churn sessions weibull shape 0.6 scale 300s offline mean 100s start 60s departure leave
            at 120s kill 33%
            at 2m kill peers 3,7-9
            at 1500ms restart
            at 10s join all
            at 200s leave 10%
            at 100s partition 0-4 | 50% | peers 9
            at 200s heal
            at 400s loss 5%
            """)
        #expect(s.seed == 7)
        #expect(s.loss == 0.01)
        #expect(s.latency == Duration.milliseconds(5)...Duration.milliseconds(40))
        #expect(s.bandwidthBitsPerSecond == 20e6)
        #expect(s.absent == .fraction(0.1))
        #expect(s.stragglers.count == 2)
        #expect(s.stragglers[0].slowdown == 10 && s.stragglers[0].linkDelayFactor == 10)
        #expect(s.stragglers[1].peers == .peers([1, 3, 4]) && s.stragglers[1].extraLinkDelay == .milliseconds(50))
        let c = try #require(s.churn)
        #expect(c.sessions == .weibull(shape: 0.6, scale: .seconds(300)))
        #expect(c.offline == .mean(.seconds(100)) && c.start == .seconds(60) && c.graceful)
        #expect(s.scheduled.count == 8)
        #expect(s.scheduled[1].time == .seconds(120) && s.scheduled[1].peers == .peers([3, 7, 8, 9]))
        #expect(s.scheduled[2].time == .milliseconds(1500) && s.scheduled[2].action == .restart && s.scheduled[2].peers == .all)
        #expect(s.scheduled[5].action == .partition([.peers([0, 1, 2, 3, 4]), .fraction(0.5), .peers([9])]))
        #expect(s.scheduled[7].action == .loss(0.05))
    }

    @Test func errorsNameLineTextAndExpectation() {
        let cases: [(String, Int, String, String)] = [
            ("seed 1\nfrobnicate 3", 2, "frobnicate", "a directive"),
            ("at 120 kill 10%", 1, "120", "a time such as"),
            ("at 120s explode", 1, "explode", "an action"),
            ("loss 150%", 1, "150%", "0% to 100%"),
            ("loss", 1, "loss", "at the end of the line"),
            ("at 10s kill peers 9-3", 1, "9-3", "a peer list"),
            ("at 10s kill some", 1, "some", "peers: N%"),
            ("churn sessions gaussian mean 3s offline 10%", 1, "gaussian", "exponential or weibull"),
            ("churn sessions exponential mean 300s offline 100%", 1, "100%", "strictly between"),
            ("churn sessions exponential mean 0s offline 10%", 1, "0s", "a positive time"),
            ("churn sessions weibull shape 0 scale 3s offline 10%", 1, "0", "a Weibull shape"),
            ("\n\nstragglers 20%", 3, "stragglers 20%", "'slowdown Kx'"),
            ("stragglers 20% compute 0.5x", 1, "0.5x", "slowdown factor"),
            ("stragglers 20% link-delay fast", 1, "fast", "a link delay"),
            ("at 10s partition 0-4", 1, "at 10s partition 0-4", "at least two groups"),
            ("at 10s heal now", 1, "now", "end of line"),
            ("latency 40ms-5ms", 1, "40ms-5ms", "a latency range"),
            ("bandwidth 10", 1, "10", "a bandwidth"),
            ("seed -3", 1, "-3", "a seed"),
        ]
        for (text, line, offending, expected) in cases {
            guard let e = parseError(text) else {
                Issue.record("no error for \(text.debugDescription)")
                continue
            }
            #expect(e.line == line, "\(text.debugDescription): \(e)")
            #expect(e.text == offending, "\(text.debugDescription): \(e)")
            #expect(e.expected.contains(expected), "\(text.debugDescription): \(e)")
            #expect(e.description.hasPrefix("t.profile:\(line): '\(offending)'"))
        }
    }

    @Test func parsesDurationsWithUnitsOnly() {
        #expect(Scenario.parseDuration("1500ms") == .milliseconds(1500))
        #expect(Scenario.parseDuration("2.5m") == .seconds(150))
        #expect(Scenario.parseDuration("1h") == .seconds(3600))
        #expect(Scenario.parseDuration("12") == nil)
        #expect(Scenario.parseDuration("-3s") == nil)
        #expect(Scenario.parseDuration("s") == nil)
    }
}

@Suite struct ScenarioTimelineTests {
    @Test func sameSeedSameTimelineOtherSeedDiffers() throws {
        let s = try Scenario.parse(text: """
            churn sessions exponential mean 60s offline 30%
            stragglers 20% slowdown 4x link-delay 2x
            at 100s kill 25%
            at 200s restart
            """)
        let a = s.timeline(peers: 50, duration: .seconds(600), seed: 3)
        let b = s.timeline(peers: 50, duration: .seconds(600), seed: 3)
        let c = s.timeline(peers: 50, duration: .seconds(600), seed: 4)
        #expect(a == b)
        #expect(a != c)
        #expect(a.count > 50)
        // Sorted by time, and every event names its peers in order.
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.time <= $1.time })
        #expect(a.allSatisfy { $0.peers == $0.peers.sorted() && $0.time < .seconds(600) })
    }

    @Test func profileSeedIsUsedWhenCallerGivesNone() throws {
        let s = try Scenario.parse(text: "seed 11\nat 5s kill 50%")
        #expect(s.timeline(peers: 40, duration: .seconds(10)) == s.timeline(peers: 40, duration: .seconds(10), seed: 11))
    }

    @Test func scheduledEventsSelectAmongEligiblePeersAndDropNoOps() throws {
        let s = try Scenario.parse(text: """
            at 10s kill 33%
            at 20s kill peers 0-5
            at 30s restart
            at 40s restart
            at 50s leave peers 2
            """)
        let t = s.timeline(peers: 30, duration: .seconds(100), seed: 1)
        #expect(t.count == 4)   // the second restart changes nothing and is dropped
        #expect(t[0].action == .kill && t[0].peers.count == 10)
        // Peers 0-5 that the first kill already took are not killed twice.
        #expect(t[1].action == .kill && Set(t[1].peers).isDisjoint(with: t[0].peers) && t[1].peers.allSatisfy { $0 <= 5 })
        #expect(t[2].action == .restart && Set(t[2].peers) == Set(t[0].peers).union(t[1].peers))
        #expect(t[3] == ScenarioEvent(time: .seconds(50), peers: [2], action: .leave))
    }

    @Test func absentPeersJoinLater() throws {
        let s = try Scenario.parse(text: "absent peers 5-9\nat 30s join\nat 40s kill peers 5-7")
        #expect(s.absentPeers(peers: 10) == [5, 6, 7, 8, 9])
        let t = s.timeline(peers: 10, duration: .seconds(60))
        #expect(t == [ScenarioEvent(time: .seconds(30), peers: [5, 6, 7, 8, 9], action: .join),
                      ScenarioEvent(time: .seconds(40), peers: [5, 6, 7], action: .kill)])
    }

    @Test func partitionGroupsCoverEveryPeerOnce() throws {
        let s = try Scenario.parse(text: "at 10s partition 25% | peers 30-39\nat 20s heal")
        let t = s.timeline(peers: 40, duration: .seconds(30))
        guard case .partition(let groups) = t[0].action else { Issue.record("no partition: \(t)"); return }
        #expect(groups.count == 2)
        #expect(groups[1] == Array(30...39))
        #expect(groups[0] == Array(0..<30))   // 0-9 by share, 10-29 unlisted go to the first group
        #expect(t[1].action == .heal)
    }

    @Test func stragglersAndLossAreSetUpAtTimeZero() throws {
        let s = try Scenario.parse(text: "loss 2%\nstragglers 20% slowdown 10x link-delay +40ms")
        let t = s.timeline(peers: 50, duration: .seconds(10), seed: 9)
        #expect(t.count == 2)
        #expect(t[0] == ScenarioEvent(time: .zero, peers: [], action: .loss(0.02)))
        #expect(t[1].peers.count == 10)
        #expect(t[1].action == .straggle(slowdown: 10, linkDelayFactor: 1, extraLinkDelay: .milliseconds(40)))
    }

    @Test(arguments: [0.1, 0.3, 0.5])
    func exponentialChurnMatchesTargetOfflineFraction(target: Double) throws {
        let s = try Scenario.parse(text: "churn sessions exponential mean 300s offline \(Int(target * 100))%")
        let duration = Duration.seconds(60_000)
        let t = s.timeline(peers: 60, duration: duration, seed: 5)
        let f = offlineFraction(t, peers: 60, duration: duration)
        #expect(abs(f - target) < 0.03, "offline fraction \(f) for target \(target)")
    }

    @Test func weibullChurnMatchesTargetOfflineFractionAndExplicitMean() throws {
        let duration = Duration.seconds(100_000)
        let w = try Scenario.parse(text: "churn sessions weibull shape 0.6 scale 200s offline 30%")
        let f = offlineFraction(w.timeline(peers: 60, duration: duration, seed: 2), peers: 60, duration: duration)
        #expect(abs(f - 0.3) < 0.04, "offline fraction \(f)")
        // Explicit offline mean: 100 s offline per 300 s session -> 25 %.
        let m = try Scenario.parse(text: "churn sessions exponential mean 300s offline mean 100s")
        #expect(m.churn?.offlineFraction == 0.25)
        let g = offlineFraction(m.timeline(peers: 60, duration: duration, seed: 2), peers: 60, duration: duration)
        #expect(abs(g - 0.25) < 0.03, "offline fraction \(g)")
    }

    @Test func descriptionsAreCompact() {
        #expect(Scenario.formatPeers([3, 7, 8, 9, 11]) == "3,7-9,11")
        #expect(ScenarioEvent(time: .milliseconds(120_500), peers: [1, 2], action: .kill).description == "120.500s kill 1-2")
    }
}
