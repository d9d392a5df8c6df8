import GossipProtocol
import RecommenderModel
import SwarmSpec
@testable import GossipSimulator

// The planted swarm and fast settings every simulator test starts from.

/// A small planted swarm: 24 users in 4 taste groups of 12 items, 9 interactions each (one held out).
func plantedSplit(seed: UInt64 = 7) throws -> LeaveOneOutSplit {
    try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 24, items: 48, groups: 4, perUser: 9, seed: seed),
                              negatives: 30, seed: seed, file: "planted")
}

func trainingConfig() -> TrainingConfig {
    var c = TrainingConfig()
    c.dimension = 8
    c.learningRate = 0.5
    c.optimizer = .sgd
    c.l2 = 0.01
    return c
}

/// Fast timers so that a minute of virtual time holds many rounds and failure detection completes.
func settings(seconds: Int, seed: UInt64 = 1) -> EventSimulation.Settings {
    var s = EventSimulation.Settings()
    s.duration = .seconds(Int64(seconds))
    s.seed = seed
    s.gossip.period = .milliseconds(500)
    s.gossip.evaluationPeriod = .seconds(2)
    s.sampleInterval = .seconds(5)
    return s
}

/// The planted swarm under `profile` (a `Scenario` text) for `seconds` of virtual time.
func simulation(_ profile: String = "", seconds: Int, seed: UInt64 = 1,
                adjust: (inout EventSimulation.Settings) -> Void = { _ in }) throws -> EventSimulation {
    var s = settings(seconds: seconds, seed: seed)
    adjust(&s)
    return EventSimulation(shards: try plantedSplit().shards, config: trainingConfig(),
                           merge: PushSumVoteMerge(decay: 0.9), scenario: try Scenario.parse(text: profile), settings: s)
}
