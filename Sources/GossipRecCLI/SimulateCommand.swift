import DataFiles
import Foundation
import GossipProtocol
import RecommenderModel
import GossipSimulator
import PeerCore
import SocketTransport
import SwarmSpec

/// `gossiprec simulate`: gossip learning without a network, deterministic from `--seed`.
/// `--engine rounds` (default): synchronous rounds over an NCF split (`RoundSimulation`).
/// `--engine events`: the event-driven twin of the node (`EventSimulation`): the real protocol instances over a
/// virtual clock and network, with a churn/straggler profile (`Scenario`, Scripts/profiles/README.md).
struct SimulateCommand: Subcommand {
    static let name = "simulate"
    static let summary = "Simulate gossip learning without a network: synchronous rounds, or the event-driven twin of the node with churn (deterministic from --seed)"
    static let options = [
        OptionSpec("engine", "E", "rounds (synchronous rounds, needs --split) or events (protocol over a virtual network)", default: "rounds"),
        OptionSpec("split", "PREFIX", "NCF split files PREFIX.train.rating/.test.rating/.test.negative"),
        OptionSpec("users-dir", "DIR", "events: per-user shard directory written by 'gossiprec split'"),
        OptionSpec("synthetic", "U,I,G,K", "events: planted synthetic data: U users, I items in G taste groups, K interactions per user"),
        OptionSpec("peers", "N", "events: simulate only the first N users (default: all)"),
        OptionSpec("profile", "FILE", "events: churn/straggler/network profile (Scripts/profiles/README.md); default: none"),
        OptionSpec("duration", "T", "events: virtual run time, such as 600s or 10m", default: "600s"),
        OptionSpec("period-ms", "MS", "events: mean gossip period", default: "2000"),
        OptionSpec("eval-period-ms", "MS", "events: how often each peer evaluates (as the node does; 0: never)", default: "5000"),
        OptionSpec("sample-seconds", "S", "events: curve sample interval in virtual seconds", default: "10"),
        OptionSpec("final-window-seconds", "S", "events: the samples of the run's last S virtual seconds also pool each peer's hits (hr10_final_window, --ranks; 0: off)", default: "100"),
        OptionSpec("target-hr", "X", "events: report the virtual time to reach this mean HR@10", default: "0.55"),
        OptionSpec("train-ns-per-sample", "NS", "events: virtual training cost per sample at compute factor 1", default: "300"),
        OptionSpec("bandwidth-mbit", "M", "events: per-peer bandwidth in Mbit/s (a profile's 'bandwidth' wins)", default: "100"),
        OptionSpec("max-members", "N|all|auto", "events: members each peer remembers (MembershipSettings.maxMembers); auto: all up to 2,000 peers, else 300", default: "auto"),
        OptionSpec("seal-frames", nil, "events: seal every frame (wire v3, ChaCha20-Poly1305 under a run key from --seed) and open it through the replay filter, as a keyed node does; off by default (about 0.31 ms per 230 KB model frame; frames 12 bytes larger)"),
        OptionSpec("skip-model-codec", nil, "events: hand model messages over without encoding and decoding them through WireFormat (faster; same result)"),
        OptionSpec("threads", "N", "events: threads for peers' events (0: one per processor; the result is the same for any N)", default: "0"),
        OptionSpec("ranks", "FILE", "events: write every peer's final state to FILE (TSV: peer, online, straggler, returned, rank, round, merges, failed, window_hits, window_samples) for paired comparisons"),
        OptionSpec("print-timeline", nil, "events: print the expanded scenario timeline and exit"),
        OptionSpec("rounds", "N", "rounds: gossip rounds", default: "100"),
        OptionSpec("local-epochs", "E", "local epochs per round", default: "1"),
        OptionSpec("row-fraction", "F", "rounds: fraction of rows exchanged per push-pull (same rows both ways)", default: "1"),
        OptionSpec("min-send-weight", "W", "send only rows with at least this training weight", default: "0"),
        OptionSpec("eval-every", "N", "rounds: evaluate every N rounds", default: "5"),
        OptionSpec("seed", "S", "random seed", default: "1"),
        EvaluationOption.spec,
        OptionSpec("attack", "KIND", "events, test-only: malicious peers run this attack: \(Attack.Kind.allCases.map(\.rawValue).joined(separator: ", "))"),
        OptionSpec("attack-fraction", "F", "events: share of the peers that are malicious (drawn from --seed, never the join seeds)", default: "0.05"),
        OptionSpec("attack-strength", "X", "events: the attack's strength (noise scale, opposite-move factor, promotion boost; default per kind)"),
    ] + PeerOptions.defenceSpecs + PeerOptions.exchangeSpecs + PeerOptions.privacySpecs + PeerOptions.mergeSpecs + PeerOptions.modeSpecs + TrainingOptions.specs(lr: "0.5", optimizer: .sgd)   // the node's defaults

    enum Engine: String, CaseIterable { case rounds, events }
    enum MemberCap { case auto, fixed(Int?) }
    var maxMembers = MemberCap.auto
    enum Source { case split(String), usersDir(String), synthetic(users: Int, items: Int, groups: Int, perUser: Int) }

    var engine: Engine, source: Source, config = TrainingConfig(), settings = RoundSimulation.Settings(), merge: any MergeRule
    var events = EventSimulation.Settings(), peers: Int?, profilePath: String?, scenario = Scenario.none, printTimeline = false
    var ranksPath: String?
    /// The held-out item peers rank (`--evaluate`).
    var evaluate = HeldOutItem.test
    /// events: the partner mode (`--mode`, `--topology`, `--cg-*`).
    var mode = PeerOptions.Mode.random
    /// events, test-only: the attack kind, the share of malicious peers and the strength (`--attack*`).
    var attack: (kind: Attack.Kind, fraction: Double, strength: Float?)?

    init(_ o: ParsedOptions) throws {
        engine = try o.choice("engine", Engine.self)
        if let p = o.optionalString("split") {
            source = .split(p)
        } else if engine == .events, let d = o.optionalString("users-dir") {
            source = .usersDir(d)
        } else if engine == .events, let spec = o.optionalString("synthetic") {
            let xs = spec.split(separator: ",").map { Int($0) }
            guard xs.count == 4, xs.allSatisfy({ $0 != nil && $0! > 0 }), xs[1]! / xs[2]! >= xs[3]!, xs[0]! <= 1_000_000 else {
                throw CLIError.badValue(option: "--synthetic", value: spec,
                                        expected: "U,I,G,K positive integers with I/G >= K, such as 10000,400,8,20")
            }
            source = .synthetic(users: xs[0]!, items: xs[1]!, groups: xs[2]!, perUser: xs[3]!)
        } else {
            throw CLIError.missingRequired(option: engine == .rounds ? "--split" : "--split, --users-dir or --synthetic")
        }
        settings.rounds = try o.int("rounds", in: 1...1_000_000)
        settings.localEpochs = try o.int("local-epochs", in: 1...1000)
        settings.evalEvery = try o.int("eval-every", in: 1...1_000_000)
        settings.seed = try o.seed()
        evaluate = try EvaluationOption.parse(o)
        settings.minSendWeight = Float(try o.double("min-send-weight", in: 0...1e12))
        config = try TrainingOptions.parse(o)
        settings.rowFraction = try o.double("row-fraction", in: 0...1)
        merge = try PeerOptions.parseMerge(o)
        switch try PeerOptions.parseMode(o, command: "simulate") {
        case .random: mode = .random
        case .fixed(let t): mode = .fixed(t)
        case .clientGraph(let cg): mode = .clientGraph(cg)
        }
        // Event engine.
        events.seed = settings.seed
        let d = try o.string("duration")
        guard let dur = Scenario.parseDuration(d) ?? Double(d).flatMap({ $0 > 0 && $0 < 1e8 ? Duration.seconds($0) : nil }), dur > .zero else {
            throw CLIError.badValue(option: "--duration", value: d, expected: "a positive time such as 600s, 10m or 600")
        }
        events.duration = dur
        events.gossip.period = .milliseconds(try o.int("period-ms", in: 1...3_600_000))
        events.gossip.rowPrecision = try PeerOptions.parseRowBits(o)
        events.gossip.evaluationPeriod = .milliseconds(try o.int("eval-period-ms", in: 0...3_600_000))
        events.gossip.localEpochs = settings.localEpochs
        events.gossip.minSendWeight = settings.minSendWeight
        events.sampleInterval = .milliseconds(Int64((try o.double("sample-seconds", in: 0.001...1e6) * 1000).rounded()))
        events.finalWindow = .milliseconds(Int64((try o.double("final-window-seconds", in: 0...1e6) * 1000).rounded()))
        events.targetHR = try o.double("target-hr", in: 0...1)
        events.trainingCostPerSample = .nanoseconds(Int64(try o.double("train-ns-per-sample", in: 0...1e9).rounded()))
        events.bandwidthBitsPerSecond = try o.double("bandwidth-mbit", in: 0.001...1e6) * 1e6
        events.roundTripModels = !o.has("skip-model-codec")
        events.sealFrames = o.has("seal-frames")
        events.threads = try o.int("threads", in: 0...1024)
        switch o.optionalString("max-members") ?? "auto" {
        case "auto": maxMembers = .auto
        case "all": maxMembers = .fixed(nil)
        default:
            let n = try o.int("max-members", in: 1...10_000_000)
            maxMembers = .fixed(n)
        }
        (events.gossip.defences, events.reputation) = try PeerOptions.parseDefences(o)
        events.gossip.privacy = try PeerOptions.parsePrivacy(o)
        if let name = o.optionalString("attack") {
            guard let kind = Attack.Kind(rawValue: name) else {
                throw CLIError.badValue(option: "--attack", value: name, expected: "one of \(Attack.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            let strength = try o.optionalString("attack-strength").map { _ in Float(try o.double("attack-strength", in: 1e-6...1e6)) }
            attack = (kind, try o.double("attack-fraction", in: 0...1), strength)
        }
        printTimeline = o.has("print-timeline")
        ranksPath = o.optionalString("ranks")
        peers = try o.optionalString("peers").map { _ in try o.int("peers", in: 1...10_000_000) }
        profilePath = o.optionalString("profile")
        if let path = profilePath {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(file: path, reason: "no such file or not readable")
            }
            do { scenario = try Scenario.parse(text: String(decoding: data, as: UTF8.self), file: path) } catch {
                throw DataError.unreadable(file: path, reason: "invalid profile: \(error)")
            }
        }
    }

    func run() throws -> Int32 {
        // Every exchange copies whole item tables (~220 KB for ML-100K at d 32): keep freed pages mapped rather
        // than trimming and faulting them in again (the node does the same).
        ProcessLimits.tuneAllocatorForLargeFrames()
        return engine == .rounds ? try runRounds() : try runEvents()
    }

    func loadShards() throws -> [UserShard] {
        var split: LeaveOneOutSplit
        switch source {
        case .split(let p): split = try LeaveOneOutSplit.readNCF(prefix: p).evaluating(on: evaluate, source: p)
        case .usersDir(let d): split = try LeaveOneOutSplit.readUserDirectory(d).evaluating(on: evaluate, source: d)
        case .synthetic(let u, let i, let g, let k):
            // Synthetic data holds a validation item out only when evaluating on it, so that test figures of
            // `--synthetic` stay what they were.
            split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: u, items: i, groups: g, perUser: k, seed: settings.seed),
                                              negatives: min(99, i - k), seed: settings.seed, file: "synthetic",
                                              validation: evaluate == .validation).evaluating(on: evaluate, source: "synthetic")
        }
        if let n = peers {
            guard n <= split.shards.count else {
                throw CLIError.badValue(option: "--peers", value: "\(n)", expected: "at most the \(split.shards.count) users of the data")
            }
            split.shards = Array(split.shards.prefix(n))
        }
        return split.shards
    }

    func runEvents() throws -> Int32 {
        let shards = try loadShards()
        if printTimeline {
            for e in scenario.timeline(peers: shards.count, duration: events.duration, seed: scenario.seed ?? events.seed) {
                Console.out(e.description)
            }
            return 0
        }
        let t0 = Date()
        let events = try eventSettings(shards)
        var sim = EventSimulation(shards: shards, config: config, merge: merge, scenario: scenario, settings: events)
        Console.err("simulate: \(shards.count) peers, \(sim.timeline.count) scenario events, \(events.duration) virtual, period \(events.gossip.period), mode \(events.partners.name), seed \(events.seed), members per peer \(events.membership.maxMembers.map(String.init) ?? "all"), defences \(PeerOptions.defencesName(events.gossip.defences, events.reputation)), privacy \(PeerOptions.privacyName(events.gossip.privacy))")
        if let a = events.attack {
            Console.err("simulate: attack \(a.kind.rawValue) by \(events.malicious.count) malicious peers (strength \(a.strength)\(a.kind == .promotion ? ", target item \(a.target)" : "")); HR@10 is the benign peers'")
        }
        Console.out("#     t  HR@10   NDCG@10  MB/peer  online  round  exch_ok  exch_failed")
        var lastProgress = Date()
        let summary = sim.run { p in
            Console.out(String(format: "%7.1f  %.4f  %.4f  %7.2f  %6d  %5.1f  %7d  %7d", p.seconds, p.hr10, p.ndcg10, p.mbPerPeer,
                               p.online, p.meanRound, p.exchangesCompleted, p.exchangesFailed))
            if Date().timeIntervalSince(lastProgress) >= 5 {
                lastProgress = Date()
                Console.err(String(format: "simulate: virtual %.0f s of %.0f, wall %.1f s", p.seconds, events.duration.inSeconds, Date().timeIntervalSince(t0)))
            }
        }
        let results = sim.peerResults()
        if let path = ranksPath {
            var tsv = "peer\tonline\tstraggler\treturned\trank\tround\tmerges\tfailed\twindow_hits\twindow_samples\n"
            for r in results {
                tsv += "\(r.index)\t\(r.online ? 1 : 0)\t\(r.straggler ? 1 : 0)\t\(r.returned ? 1 : 0)\t\(r.rank.map(String.init) ?? "-")\t\(r.round)\t\(r.merges)\t\(r.exchangesFailed)\t\(r.windowHits)\t\(r.windowSamples)\n"
            }
            do { try tsv.write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw CLIError.badValue(option: "--ranks", value: path, expected: "a writable file (\(error.localizedDescription))")
            }
        }
        for g in EventSimulation.breakdown(results) {
            Console.err("simulate: at the end, \(g.group): \(g.peers) online, " + String(format: "HR@10 %.4f, mean round %.1f", g.hr10, g.meanRound))
        }
        let c = summary.counters
        var j = JSONLine()
        j.add("engine", "events"); j.add("peers", shards.count); j.add("merge", merge.name); j.add("mode", events.partners.name)
        j.add("evaluate", evaluate.rawValue)
        j.add("profile", profilePath ?? "none"); j.add("seed", Int(truncatingIfNeeded: events.seed))
        j.add("virtual_seconds", events.duration.inSeconds, digits: 1)
        j.add("hr10", summary.final?.hr10 ?? 0); j.add("ndcg10", summary.final?.ndcg10 ?? 0)
        j.add("hr10_final_window", summary.finalWindowHR ?? .nan)
        j.add("final_window_seconds", events.finalWindow.inSeconds, digits: 1)
        j.add("mb_per_peer", summary.final?.mbPerPeer ?? 0, digits: 2); j.add("online", summary.final?.online ?? 0)
        j.add("target_hr", events.targetHR, digits: 3)
        j.add("seconds_to_target", summary.timeToTarget ?? .nan, digits: 1)
        j.add("rounds", c.gossip.rounds); j.add("exchanges_completed", c.gossip.exchangesCompleted)
        j.add("exchanges_failed", c.gossip.exchangesFailed); j.add("pushes_declined", c.gossip.pushesDeclined)
        j.add("rounds_catching_up", c.gossip.roundsCatchingUp)
        j.add("exchanges_skipped_busy", c.gossip.exchangesSkippedBusy); j.add("connects_failed", c.connectsFailed)
        j.add("streams_broken", c.streamsBroken); j.add("datagrams_sent", c.datagramsSent)
        j.add("datagrams_lost", c.datagramsLost + c.datagramsToOffline + c.datagramsPartitioned)
        j.add("member_downs", c.memberDowns); j.add("evictions", c.evictions); j.add("events", c.events)
        j.add("max_members", events.membership.maxMembers ?? shards.count - 1)
        j.add("defences", PeerOptions.defencesName(events.gossip.defences, events.reputation))
        j.add("row_bits", events.gossip.rowPrecision.bits)
        j.add("attack", events.attack?.kind.rawValue ?? "none"); j.add("malicious", events.malicious.count)
        if let a = events.attack, a.kind == .promotion { j.add("target", a.target); j.add("er10", summary.final?.er10 ?? .nan) }
        j.add("rows_clipped", c.gossip.rowsClipped); j.add("rows_rejected", c.gossip.rowsRejected)
        j.add("weights_over_bound", c.gossip.weightsOverBound); j.add("weights_tail_capped", c.gossip.weightsTailCapped)
        j.add("rows_step_capped", c.gossip.rowsStepCapped); j.add("copies_step_dropped", c.gossip.copiesStepDropped)
        j.add("leads_capped", c.gossip.leadsCapped); j.add("copies_refused", c.gossip.copiesRefused); j.add("copies_dropped", c.gossip.copiesDropped); j.add("quarantines", c.quarantines)
        j.add("wall_seconds", Date().timeIntervalSince(t0), digits: 1)
        Console.out(j.text)
        return 0
    }

    /// The event engine's settings for `shards`: the parsed options, the member cap, the partner mode and the attack.
    func eventSettings(_ shards: [UserShard]) throws -> EventSimulation.Settings {
        var events = self.events
        switch maxMembers {
        case .auto: events.membership.maxMembers = shards.count <= 2000 ? nil : 300
        case .fixed(let n): events.membership.maxMembers = n
        }
        if let problem = events.membership.validate() { throw CLIError.badValue(option: "--max-members", value: "\(events.membership.maxMembers ?? 0)", expected: problem) }
        switch mode {
        case .random: events.partners = .random
        case .fixed(let t):
            guard t.peerCount >= shards.count else {
                throw CLIError.badValue(option: "--topology", value: "\(t.peerCount) peers", expected: "a topology covering all \(shards.count) simulated peers")
            }
            events.partners = .neighbours((0..<shards.count).map { i in t.neighbourIndices(of: i).filter { $0 < shards.count } })
        case .clientGraph(let cg):
            if let problem = cg.validate(catalogueSize: shards[0].itemCount) {
                throw CLIError.badValue(option: "--cg-*", value: "\(shards[0].itemCount) items", expected: problem)
            }
            events.partners = .clientGraph(cg)
        }
        if let a = attack {
            // The attackers' side knowledge, as PipAttack and Spattack assume: item popularity in the training data, and
            // the largest number of items a benign user trains (the sparse kinds' row budget).
            var popularity = [Int](repeating: 0, count: shards[0].itemCount)
            for s in shards { for i in s.trainItemsSorted { popularity[Int(i)] += 1 } }
            let target = popularity.indices.min { popularity[$0] < popularity[$1] || (popularity[$0] == popularity[$1] && $0 < $1) } ?? 0
            events.attack = Attack(kind: a.kind, target: target, maxRows: max(1, shards.map(\.trainItemsSorted.count).max() ?? 1),
                                   popularity: popularity, sharedSeed: SeedScheme.attackNoise(events.seed), strength: a.strength)
            let count = Int((a.fraction * Double(shards.count)).rounded())
            events.malicious = SeedScheme.attackers(count: count, of: shards.count, seed: events.seed, excluding: Set(0..<events.seedCount))
        }
        return events
    }

    func runRounds() throws -> Int32 {
        guard case .split(let prefix) = source else { throw CLIError.missingRequired(option: "--split") }
        let split = try LeaveOneOutSplit.readNCF(prefix: prefix).evaluating(on: evaluate, source: prefix)
        var sim = RoundSimulation(split: split, config: config, merge: merge, settings: settings)
        let t0 = Date()
        var last: RoundSimulation.Point? = nil
        sim.run { p in
            last = p
            Console.out(String(format: "round %4d  HR@10 %.4f  NDCG@10 %.4f  MB/peer %.1f  %.1f s", p.round, p.hr10, p.ndcg10, p.mbPerPeer, Date().timeIntervalSince(t0)))
        }
        var j = JSONLine()
        j.add("merge", merge.name); j.add("rounds", settings.rounds); j.add("evaluate", evaluate.rawValue)
        j.add("hr10", last?.hr10 ?? 0); j.add("ndcg10", last?.ndcg10 ?? 0); j.add("mb_per_peer", last?.mbPerPeer ?? 0, digits: 2)
        j.add("seconds", Date().timeIntervalSince(t0), digits: 1)
        Console.out(j.text)
        return 0
    }
}
