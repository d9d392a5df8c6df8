import RecommenderModel

/// The model options shared by `train`, `simulate` and `node` (one definition, per-command defaults).
enum TrainingOptions {
    static func specs(lr: String, optimizer: OptimizerKind) -> [OptionSpec] {
        [
            OptionSpec("loss", "L", "bce or bpr", default: "bce"),
            OptionSpec("dim", "D", "embedding dimension", default: "32"),
            OptionSpec("lr", "X", "learning rate", default: lr),
            OptionSpec("l2", "X", "L2 penalty per touched row", default: "0.01"),
            OptionSpec("negatives", "K", "sampled negatives per positive", default: "4"),
            OptionSpec("optimizer", "O", "sgd or adagrad", default: optimizer.rawValue),
        ]
    }

    static func parse(_ o: ParsedOptions) throws -> TrainingConfig {
        var config = TrainingConfig()
        config.loss = try o.choice("loss", Loss.self)
        config.dimension = try o.int("dim", in: 1...1024)
        config.learningRate = Float(try o.double("lr", in: 0...100))
        config.l2 = Float(try o.double("l2", in: 0...100))
        config.negatives = try o.int("negatives", in: 1...1000)
        config.optimizer = try o.choice("optimizer", OptimizerKind.self)
        return config
    }
}
