import DataFiles
import Foundation
import RecommenderModel

/// `gossiprec split`: leave-one-out split into NCF files and one file per user.
struct SplitCommand: Subcommand {
    static let name = "split"
    static let summary = "Split a ratings file leave-one-out (NCF protocol: latest interaction as the test item, second-latest as the validation item) into NCF files and per-user files"
    static let options = [
        OptionSpec("data", "FILE", "ratings file: MovieLens u.data, ratings.csv, or 'user item [rating] [timestamp]'"),
        OptionSpec("format", "FMT", "auto, movielens, csv or plain", default: "auto"),
        OptionSpec("min-rating", "R", "keep only ratings >= R as interactions (default: keep all)"),
        OptionSpec("negatives", "N", "sampled negatives per test item (and per validation item)", default: "99"),
        OptionSpec("seed", "S", "random seed for the negatives", default: "1"),
        OptionSpec("out", "PREFIX", "write PREFIX.train.rating, PREFIX.test.rating, PREFIX.test.negative, PREFIX.validation.rating, PREFIX.validation.negative"),
        OptionSpec("no-validation", nil, "hold out no validation item (the second-latest interaction stays in training, as splits made before validation existed)"),
        OptionSpec("users-dir", "DIR", "directory with one file per user (default PREFIX.users)"),
    ]

    var data: String, format: DataFormat, minRating: Float?, negatives: Int, seed: UInt64, out: String, usersDir: String
    var validation: Bool

    init(_ o: ParsedOptions) throws {
        data = try o.string("data")
        format = try o.choice("format", DataFormat.self)
        minRating = try o.optionalDouble("min-rating", in: -1e9...1e9).map(Float.init)
        negatives = try o.int("negatives", in: 1...100_000)
        seed = try o.seed()
        out = try o.string("out")
        usersDir = o.optionalString("users-dir") ?? out + ".users"
        validation = !o.has("no-validation")
    }

    func run() throws -> Int32 {
        let t0 = Date()
        let log = try InteractionLog.load(path: data, format: format, minRating: minRating)
        let split = try LeaveOneOutSplit.make(from: log, negatives: negatives, seed: seed, file: data, validation: validation)
        let dir = (out as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        try split.writeNCF(prefix: out)
        try split.writeUserDirectory(usersDir)
        let testUsers = split.testableUsers.count
        Console.out("split: \(log.interactions.count) interactions, \(log.userCount) users, \(log.itemCount) items"
            + (log.duplicatesDropped > 0 ? ", \(log.duplicatesDropped) duplicate lines merged" : "")
            + (log.belowMinRating > 0 ? ", \(log.belowMinRating) below min rating dropped" : ""))
        Console.out("split: \(split.shards.reduce(0) { $0 + $1.trainWithoutValidation.count }) train, \(testUsers) test users x \(negatives) negatives -> \(out).{train.rating,test.rating,test.negative}, \(usersDir)/ (\(String(format: "%.2f", Date().timeIntervalSince(t0))) s)")
        if validation {
            let withValidation = split.validationUsers.count
            Console.out("split: \(withValidation) validation users x \(negatives) negatives -> \(out).{validation.rating,validation.negative} (trained on when evaluating on the test item)"
                + (testUsers > withValidation ? "; \(testUsers - withValidation) test users with only two interactions have no validation item (the earlier one stays in training)" : "")
                + (log.userCount > testUsers ? "; \(log.userCount - testUsers) users with one interaction have neither (it stays in training)" : ""))
        }
        return 0
    }
}
