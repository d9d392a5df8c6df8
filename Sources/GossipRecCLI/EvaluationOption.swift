import RecommenderModel

/// `--evaluate test|validation`, shared by `train`, `simulate` and `node`: which held-out item HR@10 and NDCG@10
/// rank. Settings are chosen on `validation`; the test item is scored once, with the chosen settings. Training never
/// sees the item it is evaluated on, nor anything later: on `validation` it leaves the validation item out (and the
/// test item, as always); on `test` it trains on the validation item, exactly as on a split made without one.
enum EvaluationOption {
    static let spec = OptionSpec("evaluate", "ITEM", "held-out item to rank: test (report) or validation (tune settings; needs a split with validation items)", default: "test")

    static func parse(_ o: ParsedOptions) throws -> HeldOutItem { try o.choice("evaluate", HeldOutItem.self) }
}
