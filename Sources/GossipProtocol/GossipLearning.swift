import RecommenderModel

/// Settings of gossip matrix factorization on one peer.
public struct GossipSettings: Hashable, Sendable {
    /// Mean time between two of this peer's gossip rounds (train, then exchange with one partner).
    public var period: Duration = .milliseconds(1000)
    /// Each period is drawn uniformly from period × [1 - jitter, 1 + jitter], so peers never fall into lock step.
    public var jitter: Double = 0.25
    /// Local epochs over the peer's own data per round.
    public var localEpochs: Int = 1
    /// A starting peer skips training for up to this many rounds, until it has merged a copy from the swarm. It
    /// still exchanges. A peer resuming a checkpoint may be far behind, and a new peer joining a running swarm
    /// holds only the initial table; training on either casts votes for stale positions (a straggler's votes weigh
    /// `slowdown` times more). At a swarm's very start the first merge brings another initial copy, so a
    /// peer waits about one round. 0: train at once.
    public var catchUpRounds: Int = 3
    /// Exchanges this peer may have outstanding at once; a round that finds them all busy trains and skips
    /// the exchange rather than waiting.
    public var maxInFlight: Int = 2
    /// An exchange with no reply after this long is abandoned (the shell also enforces it on the socket).
    public var exchangeTimeout: Duration = .seconds(5)
    /// Send only rows this copy has a training weight of at least this much for (0: every row).
    public var minSendWeight: Float = 0
    /// The precision the values of pushes and answers travel at (`RowQuantizer`: 16 or 8 bits with error feedback;
    /// `.f32`: as computed). Weights always travel at 32 bits. The receiver merges whatever precision arrives.
    /// Default 8 bits: a third of the bytes, and the same HR@10 within noise on the 943-peer ML-100K swarm (README,
    /// "Compact exchange").
    public var rowPrecision: RowPrecision = .i8
    /// Evaluate the held-out item this often (zero: never).
    public var evaluationPeriod: Duration = .seconds(5)
    /// The defences applied to every received copy before it is merged (`MergeDefences`, all on by default).
    public var defences = MergeDefences.on
    /// What this peer does to the copies it sends so they say less about its user's items (`PrivacySettings`, all off
    /// by default; see GossipPrivacy.swift).
    public var privacy = PrivacySettings.off
    public init() {}

    /// A message naming the first bad field, or nil.
    public func validate() -> String? {
        if period <= .zero { return "gossip period must be positive" }
        if !(0...0.9).contains(jitter) { return "gossip jitter must be in 0...0.9" }
        if localEpochs < 0 { return "local epochs must be >= 0" }
        if catchUpRounds < 0 { return "catch-up rounds must be >= 0" }
        if maxInFlight < 1 { return "max in-flight exchanges must be >= 1" }
        if exchangeTimeout <= .zero { return "exchange timeout must be positive" }
        return defences.validate() ?? privacy.validate()
    }
}

/// Why a model push was declined (the `reason` byte of `Message.modelDecline`).
public enum DeclineReason: UInt8, Sendable, CaseIterable {
    case shapeMismatch = 1
    case nonFinite = 2
    case notReady = 3
    /// The receiver quarantines the sender (`PartnerReputation` in PeerCore).
    case refused = 4
}

public enum GossipTimer: Hashable, Sendable {
    case round
    case evaluate
    case exchangeDeadline(seq: UInt64)
}

/// What the gossip-learning instance asks its shell to do.
public enum GossipDirective: Sendable {
    /// Open a stream to `address`, send `message` (a `modelPush`), and deliver the answer to `onModelReply`,
    /// or report `onExchangeFailed` (connect error, timeout, closed early). Never blocks the peer.
    case exchange(seq: UInt64, message: Message, to: PeerID, address: PeerAddress)
    /// Answer the stream a `modelPush` arrived on with this message, then close it.
    case reply(Message)
    case schedule(GossipTimer, after: Duration)
    /// A periodic evaluation of the held-out item.
    case evaluated(rank: Int?, round: UInt64)
}

/// Counters of what happened to exchanges, for the peer's JSON log.
public struct GossipCounters: Hashable, Sendable {
    public var rounds = 0
    public var exchangesStarted = 0
    public var exchangesCompleted = 0
    public var exchangesFailed = 0
    public var exchangesSkippedBusy = 0
    public var roundsWithoutPartner = 0
    public var mergesApplied = 0
    public var pushesDeclined = 0
    public var rollbacks = 0
    /// Rounds a starting peer did not train while waiting for its first merge (`GossipSettings.catchUpRounds`).
    public var roundsCatchingUp = 0
    /// What the defences did to received copies (`CopyScreen.Verdict`), summed: rows dropped by the value bound,
    /// rows clipped, claimed weights over the honest bound, weights cut by the tail cap, copies whose clock lead was cut.
    public var rowsRejected = 0
    public var rowsClipped = 0
    public var weightsOverBound = 0
    public var weightsTailCapped = 0
    /// Rows whose claimed weight the step cap lowered (`MergeDefences.capSteps`).
    public var rowsStepCapped = 0
    public var leadsCapped = 0
    /// Copies not merged because most of their rows sat far beyond the clipping radii (`CopyScreen.Verdict.outlier`).
    public var copiesDropped = 0
    /// Of those, copies dropped only by the step cap's whole-copy test (`CopyScreen.Verdict.stepOutlier`).
    public var copiesStepDropped = 0
    /// Model messages from quarantined partners, refused unmerged (`PartnerReputation`).
    public var copiesRefused = 0
    public init() {}

    /// Adds one screened copy's verdict.
    mutating func record(_ v: CopyScreen.Verdict) {
        rowsRejected += v.rowsRejected
        rowsClipped += v.rowsClipped
        weightsOverBound += v.weightsOverBound
        weightsTailCapped += v.weightsTailCapped
        rowsStepCapped += v.rowsStepCapped
        leadsCapped += v.leadCapped ? 1 : 0
        copiesDropped += v.outlier ? 1 : 0
        copiesStepDropped += v.stepOutlier ? 1 : 0
    }
}

/// Gossip matrix factorization on one peer, as pure code (after Ormándi, Hegedűs and Jelasity, "Gossip
/// learning with linear models on fully distributed data", 2013, with push-pull exchanges).
///
/// Every jittered period the peer (1) trains `localEpochs` over its own data, starting from whatever merges
/// have arrived since the last round, and (2) if a partner is available and fewer than `maxInFlight`
/// exchanges are outstanding, pushes its item-table copy to that partner, who merges it and answers with
/// its own copy as it was before merging (push-pull). There is no round barrier: nothing ever waits for a
/// particular peer. A reply that never comes only costs an entry in `inFlight` until its deadline.
///
/// The user vector and the raw interactions never leave the peer: messages carry item rows only.
/// Anything received that is not finite or has the wrong shape is declined, never merged; and a local
/// training round that produced non-finite parameters is rolled back, so no input can poison the model with a
/// non-finite number. Every copy that passes passes the merge defences next (`screen`, `MergeDefences`): its claimed
/// weights, clock and values are bounded by what an honest peer could have sent, and an outlier copy is dropped (still
/// answered, so that a peer far from the swarm can catch up).
public struct GossipLearningInstance: Sendable {
    public let id: PeerID
    public let settings: GossipSettings
    /// A straggler's slowness: its rounds come `slowdown` times less often (a device k times slower gets
    /// through k times fewer rounds), and each stands for that many rounds of the swarm's time in the merge rule's
    /// bookkeeping (`MergeRule.spanning(periods:)`: push-sum votes weigh k times more). 1 for a normal peer.
    public var slowdown: Double = 1
    public var learner: PeerLearner
    public var merge: any MergeRule
    /// The defences every received copy passes before `merge` (`GossipSettings.defences`), with their per-row state.
    public var screen: CopyScreen
    /// What the screen found in the copy most recently merged (nil before the first), for the caller's per-partner
    /// reputation; `verdicts` counts them, so a caller can tell whether a call produced a new one.
    public private(set) var lastVerdict: CopyScreen.Verdict?
    public private(set) var verdicts = 0
    /// False: the peer never trains (the attack harness's free rider); it still exchanges and merges.
    public var learns = true
    public private(set) var counters = GossipCounters()
    var rng: SplitMix64
    var nextSeq: UInt64 = 1
    /// Outstanding exchanges: seq -> partner.
    public private(set) var inFlight: [UInt64: PeerID] = [:]
    var started = false
    /// Rounds left in which a starting peer waits for a merge before training (`GossipSettings.catchUpRounds`).
    public private(set) var catchUpLeft = 0
    /// The sending defences' generator and pseudo items (`GossipSettings.privacy`).
    public internal(set) var sendPrivacy: SendPrivacyState
    /// Rounds what this peer sends to `settings.rowPrecision`, keeping each row's rounding error for its next send.
    public private(set) var quantizer: RowQuantizer

    public init(id: PeerID, learner: PeerLearner, merge: any MergeRule, settings: GossipSettings = .init(), seed: UInt64) {
        precondition(settings.validate() == nil, settings.validate() ?? "")
        self.id = id
        self.learner = learner
        self.merge = merge
        self.settings = settings
        screen = CopyScreen(defences: settings.defences)
        rng = SplitMix64(seed: seed ^ 0x6055_1FED)
        sendPrivacy = SendPrivacyState(seed: seed)
        quantizer = RowQuantizer(precision: settings.rowPrecision)
    }

    /// The next round's delay: the period scaled by a uniform factor in [1 - jitter, 1 + jitter].
    mutating func nextPeriod() -> Duration {
        settings.period * ((slowdown > 0 ? slowdown : 1) * (1 + settings.jitter * (2 * rng.nextUnitDouble() - 1)))
    }

    /// Starts the round timer (first round after a random fraction of a period, to spread peers out) and
    /// the evaluation timer.
    public mutating func onStart(now: Instant) -> [GossipDirective] {
        guard !started else { return [] }
        started = true
        catchUpLeft = settings.catchUpRounds
        var out: [GossipDirective] = [.schedule(.round, after: settings.period * rng.nextUnitDouble())]
        if settings.evaluationPeriod > .zero { out.append(.schedule(.evaluate, after: settings.evaluationPeriod)) }
        return out
    }

    /// A timer fired. For `.round`, `partner` is the peer the shell's sampler picked (nil if none is known).
    public mutating func onTimer(_ timer: GossipTimer, partner: (PeerID, PeerAddress)? = nil, now: Instant) -> [GossipDirective] {
        switch timer {
        case .round:
            var out: [GossipDirective] = []
            if catchUpLeft > 0 {
                catchUpLeft -= 1
                counters.roundsCatchingUp += 1
            } else if learns {
                trainRound()
            }
            if let (peer, address) = partner, peer != id {
                if inFlight.count < settings.maxInFlight {
                    let seq = nextSeq
                    nextSeq += 1
                    inFlight[seq] = peer
                    counters.exchangesStarted += 1
                    out.append(.exchange(seq: seq, message: .modelPush(seq: seq, model: quantizer.quantize(pushSnapshot()), wantsReply: true),
                                         to: peer, address: address))
                    out.append(.schedule(.exchangeDeadline(seq: seq), after: settings.exchangeTimeout))
                } else {
                    counters.exchangesSkippedBusy += 1
                }
            } else {
                counters.roundsWithoutPartner += 1
            }
            out.append(.schedule(.round, after: nextPeriod()))
            return out
        case .evaluate:
            return [.evaluated(rank: learner.testRank(), round: learner.round),
                    .schedule(.evaluate, after: settings.evaluationPeriod)]
        case .exchangeDeadline(let seq):
            if inFlight.removeValue(forKey: seq) != nil { counters.exchangesFailed += 1 }
            return []
        }
    }

    /// Local training, rolled back if it produced anything non-finite (`PeerLearner.trainRound`).
    mutating func trainRound() {
        counters.rounds += 1
        // A straggler's round stands for `slowdown` rounds of the swarm's time (`spanning` returns the rule itself
        // for 1, or for a rule with nothing to scale).
        let rule = merge.spanning(periods: slowdown)
        let before = settings.privacy.changesRounds ? SendPrivacyState.Before(learner.items) : nil
        if !learner.trainRound(epochs: settings.localEpochs, absorbingWith: rule) { counters.rollbacks += 1 }
        else if let before { protectRound(before: before, rule: rule) }
    }

    /// The rows this peer sends.
    public func snapshot() -> ModelPayload {
        learner.payload(minWeight: settings.minSendWeight)
    }

    /// A model message arrived (on a stream). Pushes are merged and answered with this peer's copy as it
    /// was before the merge; replies complete an exchange; declines end one.
    /// `trust` in (0, 1] scales the sender's row weights before merging (client-graph mode: the
    /// similarity-based trust in `from`; 1 otherwise).
    public mutating func onModelMessage(_ message: Message, from: PeerID, now: Instant, trust: Float = 1) -> [GossipDirective] {
        switch message {
        case .modelPush(let seq, let model, let wantsReply):
            // A push that gives nothing gets nothing: without this, any process could pull a peer's whole table
            // (and watch it round after round) by pushing an empty copy.
            guard !model.items.isEmpty else {
                counters.pushesDeclined += 1
                return wantsReply ? [.reply(.modelDecline(seq: seq, reason: DeclineReason.shapeMismatch.rawValue))] : []
            }
            // The reply is this peer's copy from before the merge; `learner.merge` checks the payload (shape,
            // finite numbers) and changes nothing if it fails.
            // Sharing less (`PrivacySettings.shareFraction`): both sides keep to the rows this answer carries.
            let (kept, mine) = answerRows(model, wantsReply: wantsReply)
            guard let merged = mergeScreened(kept, trust: trust) else {
                counters.pushesDeclined += 1
                let reason: DeclineReason = model.values.allSatisfy(\.isFinite) && model.weights.allSatisfy(\.isFinite) ? .shapeMismatch : .nonFinite
                return wantsReply ? [.reply(.modelDecline(seq: seq, reason: reason.rawValue))] : []
            }
            if merged { counters.mergesApplied += 1; catchUpLeft = 0 }   // a dropped outlier copy is still answered
            return mine.map { [.reply(.modelReply(seq: seq, model: quantizer.quantize($0)))] } ?? []
        case .modelReply(let seq, let model):
            guard inFlight.removeValue(forKey: seq) != nil else { return [] }   // late or unknown: ignore
            counters.exchangesCompleted += 1
            if mergeScreened(model, trust: trust) == true { counters.mergesApplied += 1; catchUpLeft = 0 }
            return []
        case .modelDecline(let seq, _):
            if inFlight.removeValue(forKey: seq) != nil { counters.exchangesFailed += 1 }
            return []
        default:
            return []
        }
    }

    /// Merges a received copy through the screen: nil when the table does not accept it (shape, non-finite numbers),
    /// false when the screen dropped it whole (`CopyScreen.Verdict.outlier`), true when merged.
    mutating func mergeScreened(_ model: ModelPayload, trust: Float) -> Bool? {
        guard let v = learner.merge(model, using: merge, trust: trust, screen: &screen) else { return nil }
        counters.record(v)
        lastVerdict = v
        verdicts += 1
        return !v.outlier
    }

    /// A model message from a partner this peer refuses (quarantined): a push is declined (`DeclineReason.refused`),
    /// a reply ends its exchange as failed; nothing is merged.
    public mutating func onRefusedModelMessage(_ message: Message) -> [GossipDirective] {
        counters.copiesRefused += 1
        switch message {
        case .modelPush(let seq, _, let wantsReply):
            return wantsReply ? [.reply(.modelDecline(seq: seq, reason: DeclineReason.refused.rawValue))] : []
        case .modelReply(let seq, _), .modelDecline(let seq, _):
            if inFlight.removeValue(forKey: seq) != nil { counters.exchangesFailed += 1 }
            return []
        default:
            return []
        }
    }

    /// The shell could not complete exchange `seq` (connect refused, stream closed, timeout).
    public mutating func onExchangeFailed(seq: UInt64, now: Instant) {
        if inFlight.removeValue(forKey: seq) != nil { counters.exchangesFailed += 1 }
    }
}

extension Duration {
    static func * (d: Duration, f: Double) -> Duration { d.scaled(by: f) }
}
