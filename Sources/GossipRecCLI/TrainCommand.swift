import DataFiles
import Foundation
import RecommenderModel

/// `gossiprec train`: the centralized MF baseline on NCF split files.
struct TrainCommand: Subcommand {
    static let name = "train"
    static let summary = "Train centralized matrix factorization on a split (the reference for gossip runs)"
    static let options = [
        OptionSpec("split", "PREFIX", "NCF split files PREFIX.train.rating/.test.rating/.test.negative"),
        OptionSpec("epochs", "N", "training epochs", default: "40"),
        OptionSpec("init-std", "X", "std of the Gaussian initialisation", default: "0.1"),
        OptionSpec("no-bias", nil, "no item bias"),
        OptionSpec("seed", "S", "random seed", default: "1"),
        OptionSpec("eval-every", "N", "evaluate every N epochs (0: only at the end)", default: "1"),
        EvaluationOption.spec,
    ] + TrainingOptions.specs(lr: "0.1", optimizer: .adagrad)

    var prefix: String, config = TrainingConfig(), epochs: Int, seed: UInt64, evalEvery: Int, evaluate: HeldOutItem

    init(_ o: ParsedOptions) throws {
        prefix = try o.string("split")
        config = try TrainingOptions.parse(o)
        epochs = try o.int("epochs", in: 0...100_000)
        config.initStd = Float(try o.double("init-std", in: 0...10))
        config.itemBias = !o.has("no-bias")
        seed = try o.seed()
        evalEvery = try o.int("eval-every", in: 0...100_000)
        evaluate = try EvaluationOption.parse(o)
    }

    func run() throws -> Int32 {
        let split = try LeaveOneOutSplit.readNCF(prefix: prefix).evaluating(on: evaluate, source: prefix)
        guard !split.trainInteractions.isEmpty else {
            throw DataError.empty(file: prefix + ".train.rating")   // nothing to train on: say so, do not run 40 empty epochs
        }
        let pop = ItemPopularity(itemCount: split.itemCount, train: split.trainInteractions).evaluate(split)
        var trainer = CentralTrainer(split: split, config: config, seed: seed)
        Console.out(String(format: "train: %d users, %d items, %d positives; evaluated on the %@ item; ItemPop HR@10 %.4f NDCG@10 %.4f",
                           split.userCount, split.itemCount, trainer.positiveCount, evaluate.rawValue, pop.hitRate, pop.ndcg))
        var trainSeconds = 0.0
        var last = trainer.evaluate()
        for e in 1...max(epochs, 1) where epochs > 0 {
            let t0 = Date()
            let loss = trainer.epoch()
            let dt = Date().timeIntervalSince(t0)
            trainSeconds += dt
            if !loss.isFinite {
                Console.err("train: loss became non-finite at epoch \(e); lower --lr")
                return 1
            }
            if (evalEvery > 0 && e % evalEvery == 0) || e == epochs {
                last = trainer.evaluate()
                Console.out(String(format: "epoch %3d  loss %.4f  HR@10 %.4f  NDCG@10 %.4f  %.3f s", e, loss, last.hitRate, last.ndcg, dt))
            }
        }
        var j = JSONLine()
        j.add("model", "mf-\(config.loss.rawValue)"); j.add("evaluate", evaluate.rawValue)
        j.add("hr10", last.hitRate); j.add("ndcg10", last.ndcg)
        j.add("itempop_hr10", pop.hitRate); j.add("itempop_ndcg10", pop.ndcg)
        j.add("users", last.count); j.add("dim", config.dimension); j.add("epochs", epochs)
        j.add("lr", Double(config.learningRate), digits: 5); j.add("l2", Double(config.l2), digits: 6); j.add("negatives", config.negatives)
        j.add("loss", config.loss.rawValue); j.add("optimizer", config.optimizer.rawValue)
        j.add("seconds", trainSeconds, digits: 3)
        j.add("samples_per_second", trainSeconds > 0 ? Double(trainer.positiveCount * epochs) / trainSeconds : 0, digits: 0)
        Console.out(j.text)
        return 0
    }
}
