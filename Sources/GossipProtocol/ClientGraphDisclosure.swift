import Foundation // log, for weighted decoy sampling
import RecommenderModel

// MARK: - What a peer discloses to build the client graph

/// How decoy ("pseudo") items are drawn from the items a peer did not interact with.
public enum DecoySampling: Hashable, Sendable {
    /// Every non-real item equally likely. This is our reading of DFedRec (Li, Lin, Liang, Pan, Yang, Ming,
    /// "Decentralized federated recommendation with privacy-aware structured client-level graph", ACM TIST
    /// 2024), whose clients mix their interacted items with pseudo items sampled at random from the items they
    /// did not interact with; it needs no knowledge beyond the catalogue size, which every peer has.
    /// Weakness: real interactions concentrate on popular items and uniform decoys fall mostly in the long
    /// tail, so a receiver who knows item popularity can tell "popular, probably real" from "obscure,
    /// probably decoy" better than the 1/(1+ρ) base rate.
    case uniform
    /// Each non-real item drawn with probability proportional to `popularity[item] + 1` (weighted sampling
    /// without replacement, Efraimidis and Spirakis 2006), so decoys look like interactions item by item and
    /// popularity no longer separates them from real items. Needs a popularity estimate every peer may know
    /// (a public chart, or counts gossiped separately); `popularity.count` must equal the catalogue size.
    /// Cost: popular decoys overlap more with other peers' real items, adding similarity noise.
    case popularityMatched(popularity: [UInt32])
}

/// The privacy knob of a disclosure. See `InterestDisclosure` for what a receiver can infer at each setting.
public struct DisclosureSettings: Hashable, Sendable {
    /// ρ: decoys per disclosed real item (0: no decoys; 1: as many decoys as real items). The decoy count is
    /// `ceil(ρ × kept)`, so the real fraction of a disclosure is at most 1/(1+ρ).
    public var decoyRatio: Double
    /// q: each real item is left out with this probability (randomized response on the real set), decided
    /// once per item and kept across disclosures (re-deciding would reveal dropped items over time).
    public var dropProbability: Double
    public var sampling: DecoySampling
    /// Most items sent (at most `Message.maxDisclosedItems`, which fits one datagram). A larger disclosure is
    /// subsampled uniformly, keeping items of the previous disclosure first so repeated disclosures stay stable.
    public var maxItems: Int

    public init(decoyRatio: Double = 1, dropProbability: Double = 0, sampling: DecoySampling = .uniform,
                maxItems: Int = Message.maxDisclosedItems) {
        self.decoyRatio = decoyRatio; self.dropProbability = dropProbability
        self.sampling = sampling; self.maxItems = maxItems
    }

    /// A message naming the first bad field, or nil.
    public func validate(catalogueSize: Int? = nil) -> String? {
        if !(decoyRatio.isFinite && decoyRatio >= 0) { return "decoy ratio must be finite and >= 0, got \(decoyRatio)" }
        if !(0..<1).contains(dropProbability) { return "drop probability must be in 0..<1, got \(dropProbability)" }
        if !(1...Message.maxDisclosedItems).contains(maxItems) {
            return "max disclosed items must be in 1...\(Message.maxDisclosedItems), got \(maxItems)"
        }
        if case .popularityMatched(let p) = sampling, let n = catalogueSize, p.count != n {
            return "popularity has \(p.count) entries but the catalogue has \(n) items"
        }
        return nil
    }
}

/// One disclosure of a peer's interests: the sorted item set it sends (`items`) and, for the peer's own
/// bookkeeping only, which of them are real. Only `items` ever leaves the peer (in `Message.interests`);
/// ratings, timestamps and the real/decoy split are never sent.
///
/// Construction (`make`): keep each real item with probability 1 − q; add `ceil(ρ × kept)` decoys drawn from
/// the catalogue minus *all* real items (dropped ones included, so a drop is not undone by a decoy); if that
/// exceeds `maxItems`, subsample. When the catalogue cannot supply enough decoys (a heavy user at high ρ) all
/// available items are taken and `decoyShortfall` says how many were missing.
///
/// **Repeated disclosures.** Fresh decoys at every disclosure would be fatal: real items recur in every
/// disclosure while each decoy recurs with probability ≈ d/(N − |R|), so intersecting two or three disclosures
/// (one receiver over time, or colluding receivers) strips the decoys. `make(previous:)` therefore keeps
/// decoys, drop decisions and the cap subsample sticky: a new disclosure keeps the previous decoys (minus any
/// that became real), only tops them up for new real items, and re-decides nothing. Every receiver gets the
/// same set (per-receiver decoy sets would hand two colluders the intersection attack). Successive
/// disclosures then differ only by newly added items, real and decoy in the same 1:ρ proportion.
///
/// **What a receiver can infer**, with N the catalogue size, R the real set, K the kept real items
/// (E|K| = (1 − q)|R|) and d = ceil(ρ|K|) decoys, uniform sampling, no cap:
/// - Per disclosed item, with no prior: P(real | disclosed) = |K| / (|K| + d) ≤ 1/(1+ρ) (½ at ρ = 1,
///   ¼ at ρ = 3; 1 at ρ = 0, where the disclosure is the real set minus drops).
/// - Plausible deniability for any single item i (a likelihood ratio, i.e. an ε of local privacy on that
///   item): P(i ∈ D | i ∈ R) / P(i ∈ D | i ∉ R) = (1 − q) / (d / (N − |R|)) ≈ (N − |R|) / (ρ|R|). On ML-100K
///   (N = 1,682, median |R| ≈ 65) that is ≈ 25/ρ, ε ≈ ln 25 − ln ρ = 3.2 at ρ = 1, 2.1 at ρ = 3. Dropping
///   does not change it (fewer reals kept means fewer decoys); q protects the other direction: an item not
///   disclosed is real with likelihood ratio q / (1 − d/(N − |R|)), i.e. absence proves nothing when q > 0.
/// - The size |D| ≈ (1 + ρ)(1 − q)|R| reveals roughly how active the peer is.
/// - With popularity-matched decoys the per-item posterior stays near 1/(1+ρ) even for a receiver who
///   knows item popularity; with uniform decoys such a receiver does better on popular items.
public struct InterestDisclosure: Hashable, Sendable {
    public let catalogueSize: Int
    /// What is sent: strictly increasing, each below `catalogueSize`, at most `maxItems`.
    public private(set) var items: [UInt32]
    /// Private: real items the randomized response kept (sorted); `items` holds them unless the cap cut some.
    public private(set) var keptReal: [UInt32]
    /// Private: real items the randomized response dropped (sorted); never sent.
    public private(set) var droppedReal: [UInt32]
    /// Private: the decoys (sorted); `items` holds them unless the cap cut some.
    public private(set) var decoys: [UInt32]
    /// Decoys required (`ceil(ρ × kept)`) that the catalogue could not supply.
    public private(set) var decoyShortfall: Int
    /// Items left out by the `maxItems` cap.
    public private(set) var truncatedCount: Int

    /// Number of real items in `items`.
    public var realCountSent: Int { items.count - sortedIntersectionCount(items, decoys) }
    /// Fraction of `items` that are real (0 for an empty disclosure).
    public var realFraction: Double { items.isEmpty ? 0 : Double(realCountSent) / Double(items.count) }

    /// An empty disclosure (nothing real, nothing sent).
    public init(catalogueSize: Int) {
        self.catalogueSize = catalogueSize
        items = []; keptReal = []; droppedReal = []; decoys = []; decoyShortfall = 0; truncatedCount = 0
    }

    /// Builds a disclosure of `realItems` (any order, duplicates ignored, each below `catalogueSize`). With
    /// `previous` (the peer's last disclosure, same catalogue) drop decisions, decoys and the cap subsample
    /// are kept (see the type's documentation). All randomness comes from `rng`.
    public static func make(realItems: some Sequence<UInt32>, catalogueSize: Int, settings: DisclosureSettings,
                            rng: inout SplitMix64, previous: InterestDisclosure? = nil) -> InterestDisclosure {
        precondition(settings.validate(catalogueSize: catalogueSize) == nil, settings.validate(catalogueSize: catalogueSize) ?? "")
        let real = Set(realItems)
        if let bad = real.first(where: { Int($0) >= catalogueSize }) {
            preconditionFailure("real item \(bad) is not below the catalogue size \(catalogueSize)")
        }
        let prev = previous.flatMap { $0.catalogueSize == catalogueSize ? $0 : nil }
        var out = InterestDisclosure(catalogueSize: catalogueSize)

        // 1. Randomized response on real items, sticky per item.
        let prevKept = Set(prev?.keptReal ?? []), prevDropped = Set(prev?.droppedReal ?? [])
        var kept: [UInt32] = [], dropped: [UInt32] = []
        for r in real.sorted() {
            let keep: Bool
            if prevKept.contains(r) { keep = true }
            else if prevDropped.contains(r) { keep = false }
            else { keep = settings.dropProbability == 0 || rng.nextUnitDouble() >= settings.dropProbability }
            if keep { kept.append(r) } else { dropped.append(r) }
        }

        // 2. Decoys: keep the previous ones that are still not real, top up or thin out to the target.
        let required = Int((settings.decoyRatio * Double(kept.count) - 1e-9).rounded(.up))
        let available = catalogueSize - real.count
        let target = min(max(required, 0), available)
        var decoys = (prev?.decoys ?? []).filter { !real.contains($0) }
        if decoys.count > target {
            shuffle(&decoys, &rng)
            decoys.removeLast(decoys.count - target)
        } else if decoys.count < target {
            var excluded = real
            excluded.formUnion(decoys)
            decoys += sampleDecoys(count: target - decoys.count, excluding: excluded, catalogueSize: catalogueSize,
                                   sampling: settings.sampling, rng: &rng)
        }
        decoys.sort()

        // 3. The cap: a uniform subsample, items of the previous disclosure first (stable across epochs).
        var all = (kept + decoys).sorted()
        if all.count > settings.maxItems {
            let wasSent = Set(prev?.items ?? [])
            var old = all.filter { wasSent.contains($0) }, new = all.filter { !wasSent.contains($0) }
            shuffle(&old, &rng)
            shuffle(&new, &rng)
            out.truncatedCount = all.count - settings.maxItems
            all = Array((old + new).prefix(settings.maxItems)).sorted()
        }
        out.items = all
        out.keptReal = kept
        out.droppedReal = dropped
        out.decoys = decoys
        out.decoyShortfall = max(required, 0) - target
        return out
    }

    /// `count` distinct items from `0..<catalogueSize` not in `excluded` (the caller guarantees enough exist).
    static func sampleDecoys(count: Int, excluding excluded: Set<UInt32>, catalogueSize: Int,
                             sampling: DecoySampling, rng: inout SplitMix64) -> [UInt32] {
        guard count > 0 else { return [] }
        switch sampling {
        case .uniform:
            if count * 4 <= catalogueSize - excluded.count {
                // Sparse: rejection sampling, expected < 4/3 draws per decoy.
                var chosen = Set<UInt32>(), out: [UInt32] = []
                while out.count < count {
                    let i = UInt32(rng.next(below: catalogueSize))
                    if !excluded.contains(i), chosen.insert(i).inserted { out.append(i) }
                }
                return out
            }
            // Dense: a partial Fisher–Yates shuffle of the pool.
            var pool = (0..<UInt32(catalogueSize)).filter { !excluded.contains($0) }
            for k in 0..<count {
                let j = k + rng.next(below: pool.count - k)
                pool.swapAt(k, j)
            }
            return Array(pool.prefix(count))
        case .popularityMatched(let popularity):
            // Efraimidis–Spirakis: key = u^(1/w), take the `count` largest; compared as log(u)/w.
            var keyed: [(key: Double, item: UInt32)] = []
            keyed.reserveCapacity(catalogueSize - excluded.count)
            for i in 0..<UInt32(catalogueSize) where !excluded.contains(i) {
                let u = max(rng.nextUnitDouble(), .leastNonzeroMagnitude)
                keyed.append((log(u) / (Double(popularity[Int(i)]) + 1), i))
            }
            keyed.sort { $0.key > $1.key || ($0.key == $1.key && $0.item < $1.item) }
            return keyed.prefix(count).map(\.item)
        }
    }

    /// Fisher–Yates with our generator (the standard library's shuffle algorithm is not promised stable).
    static func shuffle<T>(_ a: inout [T], _ rng: inout SplitMix64) {
        guard a.count > 1 else { return }
        for k in stride(from: a.count - 1, to: 0, by: -1) { a.swapAt(k, rng.next(below: k + 1)) }
    }
}

/// |a ∩ b| for two strictly increasing arrays (one merge pass).
func sortedIntersectionCount(_ a: [UInt32], _ b: [UInt32]) -> Int {
    var i = 0, j = 0, n = 0
    while i < a.count && j < b.count {
        if a[i] == b[j] { n += 1; i += 1; j += 1 } else if a[i] < b[j] { i += 1 } else { j += 1 }
    }
    return n
}
