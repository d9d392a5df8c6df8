import DataFiles
import Foundation
import GossipProtocol
import RecommenderModel

/// `gossiprec graph-recall`: how well the client graph finds each peer's truly similar peers from decoy-laden
/// disclosures. For every peer, the overlap of its top-k client-graph neighbours with its true k most similar
/// users (set cosine of the real training items), at each decoy ratio; "exposure" is whom a peer gets to meet:
/// everyone (an upper bound of what peer sampling eventually offers) or N random others.
struct GraphRecallCommand: Subcommand {
    static let name = "graph-recall"
    static let summary = "Measure how many of each peer's true top-k similar users the client graph finds, per decoy ratio"
    static let options = [
        OptionSpec("split", "PREFIX", "NCF split files PREFIX.train.rating/.test.rating/.test.negative ('gossiprec split')"),
        OptionSpec("decoys", "R,R,..", "decoy ratios to measure", default: "0,1,3"),
        OptionSpec("exposure", "N", "peers each peer meets: 0 for every other peer, else N random ones", default: "0"),
        OptionSpec("neighbours", "K", "k of the top-k", default: "10"),
        OptionSpec("seed", "S", "random seed", default: "42"),
    ]

    var split: String, decoys: [Double], exposure: Int, k: Int, seed: UInt64

    init(_ o: ParsedOptions) throws {
        split = try o.string("split")
        let d = try o.string("decoys")
        decoys = try d.split(separator: ",").map { part in
            guard let r = Double(part), r >= 0, r <= 100 else {
                throw CLIError.badValue(option: "--decoys", value: String(part), expected: "decoy ratios in 0...100, comma-separated")
            }
            return r
        }
        exposure = try o.int("exposure", in: 0...1_000_000)
        k = try o.int("neighbours", in: 1...1000)
        seed = try o.seed()
    }

    func run() throws -> Int32 {
        let data = try LeaveOneOutSplit.readNCF(prefix: split)
        let real = data.shards.map { Array(Set($0.train.map { UInt32($0.item) })).sorted() }
        let n = real.count
        Console.err("graph-recall: \(n) peers, true top-\(k) by set cosine")
        var truth: [Set<Int>] = []
        for u in 0..<n {
            var sims: [(Int, Float)] = []
            for v in 0..<n where v != u { sims.append((v, ClientGraphInstance.similarity(real: real[u], disclosed: real[v]))) }
            sims.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            truth.append(Set(sims.prefix(k).map(\.0)))
        }
        Console.out("| decoys per real item | exposure | overlap with true top-\(k) | real share of disclosed | peers capped at \(Message.maxDisclosedItems) items |")
        Console.out("|---:|---|---:|---:|---:|")
        for rho in decoys {
            let started = Date()
            var settings = ClientGraphSettings()
            settings.neighbours = k
            settings.disclosure = DisclosureSettings(decoyRatio: rho)
            var peers = real.enumerated().map { u, items in
                ClientGraphInstance(id: PeerID(UInt64(u)), realItems: items, catalogueSize: data.itemCount, settings: settings, seed: seed &+ UInt64(u))
            }
            let address = { (i: Int) in PeerAddress(ip: [10, 0, UInt8(i >> 8), UInt8(i & 0xFF)], port: 7000) }
            func meet(_ a: Int, _ b: Int) { ClientGraphInstance.meet(a, b, in: &peers, address: address, now: .zero) }
            var rng = SplitMix64(seed: seed ^ 0x6E7)
            var met = [Set<Int>](repeating: [], count: n)
            for a in 0..<n {
                if exposure == 0 {
                    for b in 0..<n where b != a { meet(a, b) }
                } else {
                    while met[a].count < min(exposure, n - 1) {
                        let b = rng.next(below: n)
                        if b != a, met[a].insert(b).inserted { met[b].insert(a); meet(a, b) }
                    }
                }
                if a % 100 == 99 { Console.err("graph-recall: decoys \(rho): \(a + 1)/\(n) peers met their exposure") }
            }
            var overlap = 0.0, realShare = 0.0
            for (u, p) in peers.enumerated() {
                overlap += Double(Set(p.neighbours.map { Int($0.raw) }).intersection(truth[u]).count) / Double(k)
                realShare += p.disclosure.realFraction
            }
            let capped = peers.filter { $0.disclosure.truncatedCount > 0 }.count
            Console.out("| \(rho) | \(exposure == 0 ? "all" : String(exposure)) | \(String(format: "%.3f", overlap / Double(n))) | "
                        + "\(String(format: "%.3f", realShare / Double(n))) | \(capped) |")
            Console.err(String(format: "graph-recall: decoys %.1f took %.0f s", rho, Date().timeIntervalSince(started)))
        }
        Console.out(String(format: "(a uniformly random choice of %d peers overlaps %.3f on average)", k, Double(k) / Double(n - 1)))
        return 0
    }
}
