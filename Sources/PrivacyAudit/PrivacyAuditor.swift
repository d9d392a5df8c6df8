import RecommenderModel
import Synchronization

/// The colluding group of curious peers: every copy of the item table a member receives (a push, or the reply to
/// its own push) goes to `observe`, keyed by the sender; the group pools what its members received from each victim,
/// in arrival order. When a victim's pooled copies reach an observation budget, its `VictimTrace` is scored against its
/// training items then (`VictimLeak`), so nothing but per-item sums and the victim's last copy is kept. Curious peers
/// are not victims. Safe to call from several threads (the simulator's windows run peers in parallel).
public final class PrivacyAuditor: Sendable {
    public let budgets: [Int]
    let curious: Set<Int>
    let truth: [Set<Int>]
    let popularity: [Double]
    let buckets: [Int]
    let itemCount: Int

    struct State {
        var traces: [Int: VictimTrace] = [:]
        var leaks: [Int: [VictimLeak]] = [:]   // budget -> per victim
        var observed = 0
    }
    let state = Mutex(State())

    /// `truth[v]`: victim v's training items; `popularity[i]`: how many users trained item i (the baseline and the
    /// buckets of the same-popularity AUC, `bucketCount` of them).
    public init(itemCount: Int, truth: [Set<Int>], popularity: [Int], curious: Set<Int>, budgets: [Int] = [1, 10, 100],
                bucketCount: Int = 10) {
        self.itemCount = itemCount
        self.truth = truth
        self.popularity = popularity.map(Double.init)
        self.buckets = LeakMetrics.popularityBuckets(popularity, buckets: bucketCount)
        self.curious = curious
        self.budgets = budgets.sorted()
    }

    /// Whether `peer` is a member of the curious group.
    public func isCurious(_ peer: Int) -> Bool { curious.contains(peer) }

    /// A copy sent by `sender` arrived at curious peer `observer`, whose own row weights were `reference` then.
    public func observe(observer: Int, sender: Int, copy: ModelPayload, reference: [Float]?) {
        guard curious.contains(observer), !curious.contains(sender), sender >= 0, sender < truth.count,
              !truth[sender].isEmpty, let last = budgets.last else { return }
        let t = truth[sender]
        state.withLock { s in
            var trace = s.traces[sender] ?? VictimTrace(itemCount: itemCount, topK: t.count)
            guard trace.copies < last else { return }
            trace.add(copy, reference: reference)
            s.observed += 1
            if budgets.contains(trace.copies) {
                s.leaks[trace.copies, default: []].append(VictimLeak(victim: sender, trace: trace, truth: t, popularity: popularity, buckets: buckets))
            }
            s.traces[sender] = trace
        }
    }

    /// Copies observed so far.
    public var observed: Int { state.withLock { $0.observed } }

    /// The figures per budget, over the victims whose pooled copies reached it (a budget no victim reached is left out).
    public func summaries() -> [LeakSummary] {
        state.withLock { s in
            budgets.compactMap { b in s.leaks[b].map { LeakSummary(budget: b, leaks: $0.sorted { $0.victim < $1.victim }) } }
        }
    }
}
