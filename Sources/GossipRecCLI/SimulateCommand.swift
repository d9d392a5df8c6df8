import Foundation
import RecommenderModel
import GossipSimulator

/// `gossiprec simulate`: gossip learning on a split without a network (round-based, seeded).
struct SimulateCommand: Subcommand {
    static let name = "simulate"
    static let summary = "Simulate gossip learning over a split without a network (deterministic from --seed)"
    static let options = [
        OptionSpec("split", "PREFIX", "NCF split files PREFIX.train.rating/.test.rating/.test.negative"),
        OptionSpec("rounds", "N", "gossip rounds", default: "100"),
        OptionSpec("local-epochs", "E", "local epochs per round", default: "1"),
        OptionSpec("merge-rule", "R", "weighted (WeightedAverageMerge), pushsum (PushSumVoteMerge), none or frozen (diagnostics)", default: "pushsum"),
        OptionSpec("merge", "M", "weighted: weight of a merged row: max, mean or sum", default: "max"),
        OptionSpec("decay", "G", "pushsum: weight decay per local round, in (0, 1]", default: "0.9"),
        OptionSpec("positive-vote", "C", "pushsum: vote weight of a positive row", default: "1"),
        OptionSpec("negative-vote", "C", "pushsum: vote weight of a row sampled only as a negative, or local", default: "1"),
        OptionSpec("row-fraction", "F", "fraction of rows exchanged per push-pull (same rows both ways)", default: "1"),
        OptionSpec("half-life", "R", "staleness half-life in rounds (inf: none)", default: "inf"),
        OptionSpec("min-send-weight", "W", "send only rows with at least this training weight", default: "0"),
        OptionSpec("eval-every", "N", "evaluate every N rounds", default: "5"),
        OptionSpec("seed", "S", "random seed", default: "1"),
    ] + TrainingOptions.specs(lr: "0.5", optimizer: .sgd)   // the node's defaults

    var prefix: String, config = TrainingConfig(), settings = RoundSimulation.Settings(), merge: any MergeRule

    init(_ o: ParsedOptions) throws {
        prefix = try o.string("split")
        settings.rounds = try o.int("rounds", in: 1...1_000_000)
        settings.localEpochs = try o.int("local-epochs", in: 1...1000)
        settings.evalEvery = try o.int("eval-every", in: 1...1_000_000)
        settings.seed = try o.seed()
        settings.minSendWeight = Float(try o.double("min-send-weight", in: 0...1e12))
        config = try TrainingOptions.parse(o)
        let combine = try o.string("merge")
        guard let c = WeightedAverageMerge.Combine(rawValue: combine) else {
            throw CLIError.badValue(option: "--merge", value: combine, expected: "one of max, mean, sum")
        }
        let hl = try o.string("half-life")
        guard let h = hl == "inf" ? Double.infinity : Double(hl), h > 0 else {
            throw CLIError.badValue(option: "--half-life", value: hl, expected: "a positive number or inf")
        }
        settings.rowFraction = try o.double("row-fraction", in: 0...1)
        switch try o.string("merge-rule") {
        case "weighted":
            merge = WeightedAverageMerge(halfLife: h, combine: c)
        case "pushsum":
            let g = try o.double("decay", in: 1e-6...1)
            let pos = try o.double("positive-vote", in: 1e-6...1e6)
            let nv = try o.string("negative-vote")
            let neg: PushSumVoteMerge.NegativeMode
            if nv == "local" { neg = .local } else if let x = Float(nv), x >= 0, x.isFinite { neg = .vote(x) } else {
                throw CLIError.badValue(option: "--negative-vote", value: nv, expected: "a number >= 0 or local")
            }
            merge = PushSumVoteMerge(decay: Float(g), positiveVote: Float(pos), negatives: neg)
        case "none": merge = NoMerge()
        case "frozen": merge = FrozenItemsMerge()
        case let other:
            throw CLIError.badValue(option: "--merge-rule", value: other, expected: "one of weighted, pushsum, none, frozen")
        }
    }

    func run() throws -> Int32 {
        let split = try LeaveOneOutSplit.readNCF(prefix: prefix)
        var sim = RoundSimulation(split: split, config: config, merge: merge, settings: settings)
        let t0 = Date()
        var last: RoundSimulation.Point? = nil
        sim.run { p in
            last = p
            Console.out(String(format: "round %4d  HR@10 %.4f  NDCG@10 %.4f  MB/peer %.1f  %.1f s", p.round, p.hr10, p.ndcg10, p.mbPerPeer, Date().timeIntervalSince(t0)))
        }
        var j = JSONLine()
        j.add("merge", merge.name); j.add("rounds", settings.rounds)
        j.add("hr10", last?.hr10 ?? 0); j.add("ndcg10", last?.ndcg10 ?? 0); j.add("mb_per_peer", last?.mbPerPeer ?? 0, digits: 2)
        j.add("seconds", Date().timeIntervalSince(t0), digits: 1)
        Console.out(j.text)
        return 0
    }
}
