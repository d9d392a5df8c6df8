import Testing
@testable import SwarmSpec

/// The meaning of each scenario event, as both drivers apply it (`ScenarioState`).
@Suite struct ScenarioStateTests {
    func event(_ action: ScenarioAction, _ peers: [Int] = []) -> ScenarioEvent {
        ScenarioEvent(time: .seconds(1), peers: peers, action: action)
    }

    @Test func lifecycleEventsBecomeStopsAndStarts() {
        var s = ScenarioState()
        #expect(s.onEvent(event(.kill, [1, 2]), swarmSize: 5) == .stop(peers: [1, 2], graceful: false))
        #expect(s.onEvent(event(.leave, [3]), swarmSize: 5) == .stop(peers: [3], graceful: true))
        #expect(s.onEvent(event(.restart, [1]), swarmSize: 5) == .start(peers: [1], fresh: false))
        #expect(s.onEvent(event(.join, [4]), swarmSize: 5) == .start(peers: [4], fresh: true))
        #expect(s == ScenarioState())   // lifecycle leaves the conditions alone
    }

    @Test func aPartitionSplitsReachabilityAndAHealRestoresIt() {
        var s = ScenarioState()
        #expect(s.canReach(0, 4))
        #expect(s.onEvent(event(.partition(groups: [[0, 1], [2, 3, 4], [9]])), swarmSize: 5) == .conditionsChanged)
        #expect(s.canReach(0, 1) && s.canReach(2, 4))
        #expect(!s.canReach(1, 2) && !s.canReach(4, 0))
        #expect(s.groups == [0, 0, 1, 1, 1])   // peer 9 is beyond the swarm and ignored
        #expect(s.onEvent(event(.heal), swarmSize: 5) == .conditionsChanged)
        #expect(s.canReach(1, 2) && s.groups == nil)
        #expect(s.onEvent(event(.heal), swarmSize: 5) == .nothing)   // nothing to heal
    }

    @Test func lossIsSwarmWideAndCanGoBackToZero() {
        var s = ScenarioState()
        #expect(s.onEvent(event(.loss(0.2)), swarmSize: 3) == .conditionsChanged)
        #expect(s.loss == 0.2)
        _ = s.onEvent(event(.loss(0)), swarmSize: 3)
        #expect(s.loss == 0)
    }

    @Test func stragglersKeepTheirLatestSettingAndTheirAddedDelay() {
        var s = ScenarioState()
        let step = s.onEvent(event(.straggle(slowdown: 4, linkDelayFactor: 3, extraLinkDelay: .milliseconds(5)), [2, 3]), swarmSize: 5)
        #expect(step == .stragglersChanged(peers: [2, 3]))
        #expect(s.straggle(of: 1) == nil)
        let g = s.straggle(of: 2)
        #expect(g?.slowdown == 4)
        // base 20 ms x (3 - 1) + 5 ms
        #expect(g?.addedDelay(base: .milliseconds(20)) == .milliseconds(45))
        _ = s.onEvent(event(.straggle(slowdown: 1, linkDelayFactor: 0.5, extraLinkDelay: .zero), [2]), swarmSize: 5)
        #expect(s.straggle(of: 2)?.addedDelay(base: .milliseconds(20)) == .zero)   // a factor below 1 adds nothing
        #expect(s.straggle(of: 3)?.slowdown == 4)
    }
}
