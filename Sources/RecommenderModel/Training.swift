#if canImport(Glibc)
import Glibc
#endif

/// Stochastic training of matrix factorization with sampled negatives. The same step serves the
/// centralized baseline (all users, one table) and a peer (one user, its own copy of the item table):
/// `LocalTrainer.trainUser` is exactly what a device runs on its own data.
public enum LocalTrainer {
    public static let adagradEpsilon: Float = 1e-8

    /// Raw pointers to everything one step touches; built once per batch of steps.
    @usableFromInline
    struct Context {
        let d: Int
        let itemCount: Int
        let lr: Float
        let l2: Float
        let adagrad: Bool
        let useBias: Bool
        let k: Int
        let loss: Loss
        let learnItems: Bool
        let V: UnsafeMutablePointer<Float>
        let B: UnsafeMutablePointer<Float>
        let VG: UnsafeMutablePointer<Float>
        let BG: UnsafeMutablePointer<Float>
        let steps: UnsafeMutablePointer<Float>
        let scratch: UnsafeMutablePointer<Float>   // 2 * d floats
        /// When set, every item row is recorded here before its first change.
        let journal: UnsafeMutablePointer<EpochJournal>?

        /// Records row `item` in the journal (if any) before it changes.
        @inline(__always)
        func willChange(_ item: Int) {
            guard let journal else { return }
            journal.pointee.record(item, V: V, B: B, S: steps, VG: adagrad ? VG : nil, BG: adagrad ? BG : nil)
        }
    }

    /// p -= lr * (a * x + l2 * p), with Adagrad scaling when `g2` is non-nil.
    @inlinable @inline(__always)
    static func apply(_ p: UnsafeMutablePointer<Float>, _ g2: UnsafeMutablePointer<Float>?, _ a: Float,
                      _ x: UnsafePointer<Float>, _ l2: Float, _ lr: Float, _ d: Int) {
        var k = 0
        let va = SIMD8<Float>(repeating: a), vl2 = SIMD8<Float>(repeating: l2), vlr = SIMD8<Float>(repeating: lr)
        if let g2 {
            let eps = SIMD8<Float>(repeating: adagradEpsilon)
            while k + 8 <= d {
                let pv = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
                let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Float>.self)
                var gv = UnsafeRawPointer(g2 + k).loadUnaligned(as: SIMD8<Float>.self)
                let g = va * xv + vl2 * pv
                gv += g * g
                UnsafeMutableRawPointer(g2 + k).storeBytes(of: gv, as: SIMD8<Float>.self)
                let np = pv - vlr * g / (gv + eps).squareRoot()
                UnsafeMutableRawPointer(p + k).storeBytes(of: np, as: SIMD8<Float>.self)
                k += 8
            }
            while k < d {
                let g = a * x[k] + l2 * p[k]
                g2[k] += g * g
                p[k] -= lr * g / (g2[k] + adagradEpsilon).squareRoot()
                k += 1
            }
        } else {
            while k + 8 <= d {
                let pv = UnsafeRawPointer(p + k).loadUnaligned(as: SIMD8<Float>.self)
                let xv = UnsafeRawPointer(x + k).loadUnaligned(as: SIMD8<Float>.self)
                let np = pv - vlr * (va * xv + vl2 * pv)
                UnsafeMutableRawPointer(p + k).storeBytes(of: np, as: SIMD8<Float>.self)
                k += 8
            }
            while k < d { p[k] -= lr * (a * x[k] + l2 * p[k]); k += 1 }
        }
    }

    @inlinable @inline(__always)
    static func applyBias(_ b: UnsafeMutablePointer<Float>, _ g2: UnsafeMutablePointer<Float>?, _ g: Float, _ lr: Float) {
        if let g2 {
            g2.pointee += g * g
            b.pointee -= lr * g / (g2.pointee + adagradEpsilon).squareRoot()
        } else {
            b.pointee -= lr * g
        }
    }

    /// Binary search in a sorted item list.
    ///
    /// Wrapping `&+` because overflow is impossible: `0 <= lo <= mid < hi <= sorted.count`, and a buffer of
    /// 4-byte elements has far fewer than `Int.max / 2` of them; `sorted[mid]` is in bounds for the same reason.
    /// Measured (perf, release build at -O): the overflow branch of `lo + hi` sat in the hottest loop of both
    /// negative sampling and `PushSumVoteMerge.absorbLocalEpoch`.
    @inlinable @inline(__always)
    static func contains(_ sorted: UnsafeBufferPointer<Int32>, _ x: Int32) -> Bool {
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo &+ hi) &>> 1
            let v = sorted[mid]
            if v == x { return true }
            if v < x { lo = mid &+ 1 } else { hi = mid }
        }
        return false
    }

    /// Samples an item not in `positives` (uniform rejection sampling; gives up after 64 tries, which only
    /// happens for a user who touched nearly the whole catalogue).
    @inlinable @inline(__always)
    static func sampleNegative(_ positives: UnsafeBufferPointer<Int32>, _ itemCount: Int, _ rng: inout SplitMix64) -> Int {
        var j = rng.next(below: itemCount)
        var tries = 0
        while contains(positives, Int32(j)) && tries < 64 { j = rng.next(below: itemCount); tries += 1 }
        return j
    }

    /// One positive (u, i) with `k` negatives sampled uniformly among the user's non-positives.
    /// Returns the step's loss.
    @inline(__always)
    static func step(_ c: Context, user U: UnsafeMutablePointer<Float>, userG2 UG: UnsafeMutablePointer<Float>?,
                     positive i: Int, positives: UnsafeBufferPointer<Int32>, rng: inout SplitMix64) -> Float {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: max(c.k, 1)) { negs in
            for t in 0..<negs.count { negs[t] = sampleNegative(positives, c.itemCount, &rng) }
            return update(c, user: U, userG2: UG, positive: i, negatives: UnsafeBufferPointer(negs))
        }
    }

    /// The gradient step for one positive and the given negatives (the deterministic core of `step`).
    /// BCE: the user's gradient is accumulated over all targets with the item rows as they were, item rows
    /// are updated with the user vector as it was. BPR: one (i, j) pair after the other, as in Rendle et al.
    @inline(__always)
    static func update(_ c: Context, user U: UnsafeMutablePointer<Float>, userG2 UG: UnsafeMutablePointer<Float>?,
                       positive i: Int, negatives: UnsafeBufferPointer<Int>) -> Float {
        let d = c.d
        let VG: UnsafeMutablePointer<Float>? = c.adagrad ? c.VG : nil
        let BG: UnsafeMutablePointer<Float>? = c.adagrad ? c.BG : nil
        let ilr: Float = c.learnItems ? c.lr : 0
        var loss: Float = 0
        switch c.loss {
        case .bce:
            let gradU = c.scratch
            gradU.update(repeating: 0, count: d)
            for t in 0...negatives.count {
                let item = t == 0 ? i : negatives[t - 1]
                let v = c.V + item * d
                let x = Vec.dot(U, v, d) + (c.useBias ? c.B[item] : 0)
                let y: Float = t == 0 ? 1 : 0
                let p = Vec.sigmoid(x)
                let g = p - y
                // -log σ(x) for the positive, -log(1 - σ(x)) for a negative, from the σ already computed.
                loss -= logf(max(t == 0 ? p : 1 - p, 1e-30))
                Vec.axpy(g, v, gradU, d)
                if c.learnItems {
                    c.willChange(item)
                    apply(v, VG.map { $0 + item * d }, g, U, c.l2, ilr, d)
                    if c.useBias { applyBias(c.B + item, BG.map { $0 + item }, g, ilr) }
                    c.steps[item] += 1
                }
            }
            apply(U, UG, 1, gradU, c.l2, c.lr, d)
        case .bpr:
            let diff = c.scratch
            let vi = c.V + i * d
            for j in negatives {
                let vj = c.V + j * d
                var x = Vec.dot(U, vi, d) - Vec.dot(U, vj, d)
                if c.useBias { x += c.B[i] - c.B[j] }
                let s = Vec.sigmoid(x)
                let g = s - 1              // d/dx of -log σ(x)
                loss -= logf(max(s, 1e-30))
                Vec.difference(vi, vj, diff, d)
                if c.learnItems {
                    c.willChange(i)
                    c.willChange(j)
                    apply(vi, VG.map { $0 + i * d }, g, U, c.l2, ilr, d)
                    apply(vj, VG.map { $0 + j * d }, -g, U, c.l2, ilr, d)
                    if c.useBias {
                        applyBias(c.B + i, BG.map { $0 + i }, g, ilr)
                        applyBias(c.B + j, BG.map { $0 + j }, -g, ilr)
                    }
                    c.steps[i] += 1
                    c.steps[j] += 1
                }
                apply(U, UG, g, diff, c.l2, c.lr, d)
            }
        }
        return loss
    }

    /// The loss of one positive against the given negatives, without the L2 term and without changing
    /// anything (for gradient checks and monitoring).
    public static func loss(user: [Float], items: ItemTable, positive i: Int, negatives: [Int], loss kind: Loss, useBias: Bool) -> Float {
        user.withUnsafeBufferPointer { U in
            func s(_ t: Int) -> Float { items.score(user: U.baseAddress!, item: t) - (useBias ? 0 : items.bias[t]) }
            switch kind {
            case .bce:
                return Vec.softplus(-s(i)) + negatives.reduce(0) { $0 + Vec.softplus(s($1)) }
            case .bpr:
                return negatives.reduce(0) { $0 + Vec.softplus(-(s(i) - s($1))) }
            }
        }
    }

    /// Applies exactly one gradient step for a positive and explicit negatives (the same arithmetic as
    /// training, minus the sampling). Returns the loss before the step.
    @discardableResult
    public static func applyStep(user: inout UserVector, items: inout ItemTable, positive i: Int, negatives: [Int],
                                 config: TrainingConfig) -> Float {
        let adagrad = config.optimizer == .adagrad && !user.g2.isEmpty
        return withContext(&items, config) { c in
            user.values.withUnsafeMutableBufferPointer { U in
                user.g2.withUnsafeMutableBufferPointer { UG in
                    negatives.withUnsafeBufferPointer { N in
                        update(c, user: U.baseAddress!, userG2: adagrad ? UG.baseAddress : nil, positive: i, negatives: N)
                    }
                }
            }
        }
    }

    /// Runs `body` with a step context over `items`.
    @inline(__always)
    static func withContext<R>(_ items: inout ItemTable, _ config: TrainingConfig, learnItems: Bool = true,
                               journal: UnsafeMutablePointer<EpochJournal>? = nil, _ body: (Context) -> R) -> R {
        let d = items.dimension
        let adagrad = config.optimizer == .adagrad && !items.factorsG2.isEmpty
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: 2 * d)
        defer { scratch.deallocate() }
        var dummy: Float = 0
        let itemCount = items.itemCount
        return items.factors.withUnsafeMutableBufferPointer { V in
            items.bias.withUnsafeMutableBufferPointer { B in
                items.factorsG2.withUnsafeMutableBufferPointer { VG in
                    items.biasG2.withUnsafeMutableBufferPointer { BG in
                        items.trainedSteps.withUnsafeMutableBufferPointer { S in
                            withUnsafeMutablePointer(to: &dummy) { dp in
                                body(Context(d: d, itemCount: itemCount, lr: config.learningRate, l2: config.l2,
                                             adagrad: adagrad, useBias: config.itemBias, k: config.negatives,
                                             loss: config.loss, learnItems: learnItems,
                                             V: V.baseAddress!, B: B.baseAddress!,
                                             VG: VG.baseAddress ?? dp, BG: BG.baseAddress ?? dp,
                                             steps: S.baseAddress!, scratch: scratch, journal: journal))
                            }
                        }
                    }
                }
            }
        }
    }

    /// One local epoch of one user: every training positive once, in a random order, each with
    /// `config.negatives` sampled negatives. This is what a peer runs on its own data. Returns the summed loss.
    /// With `learnItems: false` only the user vector moves (personal fine-tuning against a fixed table).
    /// `journal`, when given, receives every item row the epoch changes, as it was before (`EpochJournal`).
    @discardableResult
    public static func trainUser(user: inout UserVector, items: inout ItemTable, positivesSorted: [Int32],
                                 config: TrainingConfig, rng: inout SplitMix64, learnItems: Bool = true,
                                 journal: UnsafeMutablePointer<EpochJournal>? = nil) -> Double {
        guard !positivesSorted.isEmpty else { return 0 }
        var order = positivesSorted
        order.shuffle(using: &rng)
        let adagrad = config.optimizer == .adagrad && !user.g2.isEmpty
        return withContext(&items, config, learnItems: learnItems, journal: journal) { c in
            user.values.withUnsafeMutableBufferPointer { U in
                user.g2.withUnsafeMutableBufferPointer { UG in
                    positivesSorted.withUnsafeBufferPointer { P in
                        var total: Double = 0
                        for i in order {
                            total += Double(step(c, user: U.baseAddress!, userG2: adagrad ? UG.baseAddress : nil,
                                                 positive: Int(i), positives: P, rng: &rng))
                        }
                        return total
                    }
                }
            }
        }
    }
}
