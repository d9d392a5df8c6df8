import Foundation
import GossipSimulator
import PeerCore
import PrivacyAudit
import RecommenderModel
import SocketTransport

/// `gossiprec privacy-audit`: the membership-inference attack of issue 18 against a simulated swarm. It runs the event
/// engine exactly as `simulate --engine events` does (same options, same privacy knobs), with a colluding group of
/// honest-but-curious peers (`--curious-fraction`, drawn from the seed) that keep what they receive: every copy a member
/// gets (pushes to it and replies to its pushes) goes to a `PrivacyAuditor` through the simulator's copy tap. Victims
/// are all the other peers. For each observation budget (copies pooled per victim) it prints, averaged over the victims
/// whose copies reached it, each scoring's AUC, precision at |I_u| and same-popularity AUC, against the popularity
/// baseline, then the swarm's HR@10; the last line is JSON.
struct PrivacyAuditCommand: Subcommand {
    static let name = "privacy-audit"
    static let summary = "Measure what curious peers learn about their partners' training items from the copies they receive (event engine)"
    static let options = [
        OptionSpec("curious-fraction", "F", "share of the peers that are curious and collude (pool what they receive)", default: "0.02"),
        OptionSpec("budgets", "LIST", "observation budgets: copies per victim, comma-separated", default: "1,10,100"),
        OptionSpec("buckets", "N", "popularity buckets of the same-popularity AUC", default: "10"),
    ] + SimulateCommand.options.filter { $0.name != "engine" && $0.name != "rounds" && $0.name != "row-fraction" && $0.name != "eval-every" }

    var simulate: SimulateCommand
    var curiousFraction: Double
    var budgets: [Int]
    var buckets: Int

    init(_ o: ParsedOptions) throws {
        var withEngine = o
        withEngine.values["engine"] = "events"
        // The round engine's options, which the event engine ignores.
        for (k, v) in [("rounds", "100"), ("eval-every", "5"), ("row-fraction", "1")] { withEngine.values[k] = v }
        simulate = try SimulateCommand(withEngine)
        curiousFraction = try o.double("curious-fraction", in: 0...1)
        let spec = try o.string("budgets")
        let list = spec.split(separator: ",").compactMap { Int($0) }
        guard !list.isEmpty, list.count == spec.split(separator: ",").count, list.allSatisfy({ $0 >= 1 && $0 <= 100_000 }) else {
            throw CLIError.badValue(option: "--budgets", value: spec, expected: "positive integers separated by commas, such as 1,10,100")
        }
        budgets = Array(Set(list)).sorted()
        buckets = try o.int("buckets", in: 1...1000)
    }

    func run() throws -> Int32 {
        ProcessLimits.tuneAllocatorForLargeFrames()
        let t0 = Date()
        let shards = try simulate.loadShards()
        var settings = try simulate.eventSettings(shards)
        let n = shards.count, itemCount = shards[0].itemCount
        var popularity = [Int](repeating: 0, count: itemCount)
        for s in shards { for i in s.trainItemsSorted { popularity[Int(i)] += 1 } }
        // The curious group: a seeded draw (at least one peer when the fraction is positive).
        var rng = SplitMix64(seed: settings.seed ^ 0xC0_1105_10E5)
        var order = Array(0..<n)
        order.shuffle(using: &rng)
        let count = curiousFraction > 0 ? max(1, Int((curiousFraction * Double(n)).rounded())) : 0
        let curious = Set(order.prefix(min(count, n - 1)))
        let auditor = PrivacyAuditor(itemCount: itemCount, truth: shards.map { Set($0.trainItemsSorted.map(Int.init)) },
                                     popularity: popularity, curious: curious, budgets: budgets, bucketCount: buckets)
        settings.copyTap = { receiver, sender, copy, weights in
            guard auditor.isCurious(receiver) else { return }
            auditor.observe(observer: receiver, sender: sender, copy: copy, reference: weights)
        }
        var sim = EventSimulation(shards: shards, config: simulate.config, merge: simulate.merge, scenario: simulate.scenario, settings: settings)
        let privacy = PeerOptions.privacyName(settings.gossip.privacy)
        Console.err("privacy-audit: \(n) peers, \(curious.count) curious, \(settings.duration) virtual, seed \(settings.seed), privacy \(privacy)")
        var lastProgress = Date()
        let summary = sim.run { p in
            if Date().timeIntervalSince(lastProgress) >= 10 {
                lastProgress = Date()
                Console.err(String(format: "privacy-audit: virtual %.0f s, HR@10 %.4f, copies observed %d, wall %.0f s", p.seconds, p.hr10,
                                   auditor.observed, Date().timeIntervalSince(t0)))
            }
        }
        let results = auditor.summaries()
        Console.out("budget  victims  scoring       AUC    prec@|I_u|  same-pop AUC")
        for r in results {
            Console.out(String(format: "%6d  %7d  %-12@  %.4f  %.4f      %.4f", r.budget, r.victims, "popularity" as NSString,
                               r.popularityAUC, r.popularityPrecision, 0.5))
            for s in Scoring.allCases {
                Console.out(String(format: "%6d  %7d  %-12@  %.4f  %.4f      %.4f", r.budget, r.victims, s.rawValue as NSString,
                                   r.auc[s]!, r.precision[s]!, r.samePopularityAUC[s]!))
            }
        }
        let hr = summary.final?.hr10 ?? 0, ndcg = summary.final?.ndcg10 ?? 0
        Console.out(String(format: "HR@10 %.4f  NDCG@10 %.4f  MB/peer %.2f  (%.0f s wall)", hr, ndcg, summary.final?.mbPerPeer ?? 0,
                           Date().timeIntervalSince(t0)))
        if let e = settings.gossip.privacy.epsilonPerRound() {
            let rounds = Int((settings.duration.inSeconds / settings.gossip.period.inSeconds).rounded())
            Console.out(String(format: "LDP: epsilon %.3f per round per row (delta 1e-5), %.1f over %d rounds (zCDP)", e,
                               settings.gossip.privacy.epsilon(rounds: rounds) ?? .nan, rounds))
        }
        // The headline figures: the strongest scoring at the largest budget some victims reached.
        var j = JSONLine()
        j.add("peers", n); j.add("curious", curious.count); j.add("seed", Int(truncatingIfNeeded: settings.seed))
        j.add("virtual_seconds", settings.duration.inSeconds, digits: 1); j.add("privacy", privacy)
        j.add("merge", simulate.merge.name); j.add("mode", settings.partners.name)
        j.add("hr10", hr); j.add("ndcg10", ndcg); j.add("hr10_final_window", summary.finalWindowHR ?? .nan)
        j.add("mb_per_peer", summary.final?.mbPerPeer ?? 0, digits: 2)
        j.add("copies_observed", auditor.observed)
        let top = results.last
        j.add("budget", top?.budget ?? 0); j.add("victims", top?.victims ?? 0)
        j.add("auc", top?.bestAUC ?? .nan); j.add("precision", top?.bestPrecision ?? .nan)
        j.add("same_popularity_auc", top?.bestSamePopularityAUC ?? .nan)
        j.add("popularity_auc", top?.popularityAUC ?? .nan); j.add("popularity_precision", top?.popularityPrecision ?? .nan)
        for r in results {
            j.add("auc_\(r.budget)", r.bestAUC); j.add("precision_\(r.budget)", r.bestPrecision)
            j.add("same_popularity_auc_\(r.budget)", r.bestSamePopularityAUC); j.add("victims_\(r.budget)", r.victims)
            j.add("popularity_precision_\(r.budget)", r.popularityPrecision)
            j.add("best_scoring_\(r.budget)", Scoring.allCases.max { r.precision[$0]! < r.precision[$1]! }!.rawValue)
        }
        if let e = settings.gossip.privacy.epsilonPerRound() { j.add("epsilon_per_round", e) }
        j.add("wall_seconds", Date().timeIntervalSince(t0), digits: 1)
        Console.out(j.text)
        return 0
    }
}
