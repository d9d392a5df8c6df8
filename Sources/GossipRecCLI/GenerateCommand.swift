import DataFiles
import Foundation
import RecommenderModel

/// `gossiprec generate`: the project's second data set (`SyntheticData.lowRank`): planted low-rank tastes, long-tailed
/// item popularity and user activity, 1–5 ratings, written as a MovieLens `ratings.csv` that `split` reads like any
/// other file. Made so that settings chosen on ML-100K are checked on data of another size and shape (issue 19).
struct GenerateCommand: Subcommand {
    static let name = "generate"
    static let summary = "Write a planted low-rank data set in ratings.csv form (the second data set for tuning checks)"
    static let options = [
        OptionSpec("out", "FILE", "the ratings.csv to write (atomically)"),
        OptionSpec("users", "N", "users", default: "1500"),
        OptionSpec("items", "N", "items in the catalogue", default: "2500"),
        OptionSpec("rank", "R", "dimension of the planted taste space", default: "8"),
        OptionSpec("taste-weight", "W", "how strongly taste, rather than popularity and chance, decides a pick", default: "2.0"),
        OptionSpec("zipf", "S", "Zipf exponent of item popularity (0: all items equally popular)", default: "0.7"),
        OptionSpec("median-per-user", "N", "median interactions per user (log-normal)", default: "40"),
        OptionSpec("min-per-user", "N", "fewest interactions per user", default: "10"),
        OptionSpec("seed", "S", "random seed (the same seed writes the same file)", default: "1"),
    ]

    var out: String, settings = SyntheticData.LowRankSettings()

    init(_ o: ParsedOptions) throws {
        out = try o.string("out")
        settings.users = try o.int("users", in: 2...1_000_000)
        settings.items = try o.int("items", in: 8...DataLimits.maxItems)
        settings.rank = try o.int("rank", in: 1...256)
        settings.tasteWeight = try o.double("taste-weight", in: 0...100)
        settings.zipf = try o.double("zipf", in: 0...5)
        settings.medianPerUser = try o.int("median-per-user", in: 3...1_000_000)
        settings.minPerUser = try o.int("min-per-user", in: 3...1_000_000)
        settings.seed = try o.seed()
        if let problem = settings.validate() {
            let option = String(problem.prefix { $0 != ":" && $0 != " " })
            throw CLIError.badValue(option: "--\(option)", value: "", expected: problem)
        }
    }

    func run() throws -> Int32 {
        let log = SyntheticData.lowRank(settings)
        try writeAtomically(SyntheticData.ratingsCSV(log), to: out)
        var counts = [Int](repeating: 0, count: settings.items)
        for x in log.interactions { counts[Int(x.item)] += 1 }
        counts.sort(by: >)
        let top = counts.prefix(max(1, settings.items / 10)).reduce(0, +)
        Console.err(String(format: "generate: wrote %@: %d users, %d items, %d ratings (density %.2f%%); the 10%% most popular items hold %.0f%% of the ratings, %d items have none",
                           out, settings.users, settings.items, log.interactions.count,
                           100 * Double(log.interactions.count) / Double(settings.users * settings.items),
                           100 * Double(top) / Double(max(1, log.interactions.count)), counts.filter { $0 == 0 }.count))
        return 0
    }
}
