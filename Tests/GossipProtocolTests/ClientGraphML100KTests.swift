import Foundation
import Testing
import RecommenderModel
@testable import GossipProtocol

/// A measurement, not a check of hard-coded figures: on the ML-100K split written by
/// `gossiprec split --data data/ml-100k/u.data --out runs/ml/ml-100k`, how many of each peer's top-10
/// client-graph neighbours (found from decoy-laden disclosures) are among its true 10 most similar users
/// (cosine of the real training sets), at ρ = 0, 1, 3. Runs only when GOSSIPREC_CLIENTGRAPH_SPLIT names the
/// split prefix (e.g. `runs/ml/ml-100k`), since the data set is not part of the repository:
///
///     GOSSIPREC_CLIENTGRAPH_SPLIT=$PWD/runs/ml/ml-100k swift test --filter ClientGraphML100K
///
/// Two exposures: every peer meets every other ("all"), and every peer meets 100 random others ("100"),
/// closer to what a bounded time of peer sampling offers.
@Suite struct ClientGraphML100KTests {
    static let splitPrefix = ProcessInfo.processInfo.environment["GOSSIPREC_CLIENTGRAPH_SPLIT"]

    @Test(.enabled(if: splitPrefix != nil, "set GOSSIPREC_CLIENTGRAPH_SPLIT to a split prefix"))
    func neighbourRecallOnML100K() throws {
        let split = try LeaveOneOutSplit.readNCF(prefix: Self.splitPrefix!)
        let real = split.shards.map { Array(Set($0.train.map { UInt32($0.item) })).sorted() }
        let n = real.count
        // True top-10 by cosine of real sets, ties by user index.
        var truth: [Set<Int>] = []
        for u in 0..<n {
            var sims: [(Int, Float)] = []
            for v in 0..<n where v != u {
                sims.append((v, ClientGraphInstance.similarity(real: real[u], disclosed: real[v])))
            }
            sims.sort { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }
            truth.append(Set(sims.prefix(10).map(\.0)))
        }
        let log = InteractionLog(
            interactions: split.shards.flatMap { $0.train },
            users: split.users, items: split.items)
        var lines: [String] = []
        for exposure in [0, 100] {
            for rho in [0.0, 1.0, 3.0] {
                var s = ClientGraphSettings()
                s.neighbours = 10
                s.disclosure = DisclosureSettings(decoyRatio: rho)
                var swarm = GraphSwarm(log: log, settings: s, seed: 42)
                var rng = SplitMix64(seed: 7)
                var met: [Set<Int>] = Array(repeating: [], count: n)
                for a in 0..<n {
                    if exposure == 0 {
                        for b in 0..<n where b != a { swarm.meet(a, b) }
                    } else {
                        while met[a].count < exposure {
                            let b = rng.next(below: n)
                            if b != a, met[a].insert(b).inserted { met[b].insert(a); swarm.meet(a, b) }
                        }
                    }
                }
                var overlap = 0.0
                var realFraction = 0.0
                for (u, p) in swarm.peers.enumerated() {
                    overlap += Double(Set(p.neighbours.map { Int($0.raw) }).intersection(truth[u]).count) / 10
                    realFraction += p.disclosure.realFraction
                }
                let capped = swarm.peers.filter { $0.disclosure.truncatedCount > 0 }.count
                lines.append("exposure \(exposure == 0 ? "all" : String(exposure)), rho \(rho): mean overlap with true top-10 "
                             + "\(String(format: "%.3f", overlap / Double(n))), mean real fraction "
                             + "\(String(format: "%.3f", realFraction / Double(n))), peers capped at \(Message.maxDisclosedItems) items: \(capped)")
                #expect(overlap > 0)
            }
        }
        print(lines.joined(separator: "\n"))
    }
}
