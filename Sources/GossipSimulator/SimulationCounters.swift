import GossipProtocol

extension GossipCounters {
    /// Adds another peer's counters to these.
    mutating func add(_ o: GossipCounters) {
        rounds += o.rounds
        exchangesStarted += o.exchangesStarted
        exchangesCompleted += o.exchangesCompleted
        exchangesFailed += o.exchangesFailed
        exchangesSkippedBusy += o.exchangesSkippedBusy
        roundsWithoutPartner += o.roundsWithoutPartner
        mergesApplied += o.mergesApplied
        pushesDeclined += o.pushesDeclined
        rollbacks += o.rollbacks
        roundsCatchingUp += o.roundsCatchingUp
        rowsRejected += o.rowsRejected
        rowsClipped += o.rowsClipped
        weightsOverBound += o.weightsOverBound
        weightsTailCapped += o.weightsTailCapped
        rowsStepCapped += o.rowsStepCapped
        leadsCapped += o.leadsCapped
        copiesRefused += o.copiesRefused
        copiesDropped += o.copiesDropped
        copiesStepDropped += o.copiesStepDropped
    }
}

extension EventSimulation.Counters {
    /// Adds another peer's traffic counters to these (not `gossip`).
    mutating func add(_ o: EventSimulation.Counters) {
        datagramsSent += o.datagramsSent
        datagramsLost += o.datagramsLost
        datagramsToOffline += o.datagramsToOffline
        datagramsPartitioned += o.datagramsPartitioned
        datagramsDecodeFailed += o.datagramsDecodeFailed
        streamsOpened += o.streamsOpened
        connectsFailed += o.connectsFailed
        streamsBroken += o.streamsBroken
        repliesToOffline += o.repliesToOffline
        bytesSent += o.bytesSent
        modelBytesSent += o.modelBytesSent
        memberDowns += o.memberDowns
        evictions += o.evictions
        memberUps += o.memberUps
        quarantines += o.quarantines
        events += o.events
    }
}
