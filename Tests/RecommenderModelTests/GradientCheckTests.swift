import Foundation
import Testing
@testable import RecommenderModel

/// Finite-difference checks of the training step. With plain SGD and l2 = 0, one `applyStep` moves every
/// parameter θ by exactly -lr * ∂L/∂θ evaluated at the old parameters (item rows use the old user vector and
/// the user vector the old item rows), so (θ_before - θ_after) / lr must match central differences of
/// `LocalTrainer.loss`, which is itself checked against an independent Double implementation of the loss.
@Suite struct GradientCheckTests {
    static let itemCount = 7
    /// Not a multiple of 8: exercises both the SIMD body and the scalar tail of the kernels.
    static let dimension = 11

    struct State {
        var user: UserVector
        var items: ItemTable
    }

    static func state(seed: UInt64, adagrad: Bool = false) -> State {
        var rng = SplitMix64(seed: seed)
        var items = ItemTable(itemCount: itemCount, dimension: dimension, initStd: 0.5, adagrad: adagrad, rng: &rng)
        items.bias = (0..<itemCount).map { _ in Float(rng.nextUnitDouble() - 0.5) }
        let user = UserVector(dimension: dimension, initStd: 0.5, adagrad: adagrad, rng: &rng)
        return State(user: user, items: items)
    }

    static func config(_ loss: Loss, lr: Float = 0.05, l2: Float = 0, bias: Bool = true,
                       optimizer: OptimizerKind = .sgd) -> TrainingConfig {
        var c = TrainingConfig()
        c.dimension = dimension; c.loss = loss; c.learningRate = lr; c.l2 = l2
        c.optimizer = optimizer; c.itemBias = bias
        return c
    }

    // MARK: - Independent reference loss

    static func score(_ s: State, _ i: Int, bias: Bool) -> Double {
        var x = 0.0
        for k in 0..<dimension { x += Double(s.user.values[k]) * Double(s.items.factors[i * dimension + k]) }
        return x + (bias ? Double(s.items.bias[i]) : 0)
    }
    static func logSigmoid(_ x: Double) -> Double { -log1p(exp(-x)) }

    /// BCE: -log σ(s_i) - Σ_j log(1 - σ(s_j)); BPR: -Σ_j log σ(s_i - s_j).
    static func referenceLoss(_ s: State, _ loss: Loss, positive i: Int, negatives: [Int], bias: Bool) -> Double {
        let si = score(s, i, bias: bias)
        switch loss {
        case .bce: return -logSigmoid(si) - negatives.reduce(0.0) { $0 + logSigmoid(-score(s, $1, bias: bias)) }
        case .bpr: return -negatives.reduce(0.0) { $0 + logSigmoid(si - score(s, $1, bias: bias)) }
        }
    }

    @Test(arguments: [Loss.bce, .bpr], [true, false])
    func lossMatchesAnIndependentImplementation(loss: Loss, bias: Bool) {
        let s = Self.state(seed: 5)
        let negs = loss == .bce ? [0, 5, 6] : [4, 1]
        let got = LocalTrainer.loss(user: s.user.values, items: s.items, positive: 2, negatives: negs, loss: loss, useBias: bias)
        let want = Self.referenceLoss(s, loss, positive: 2, negatives: negs, bias: bias)
        #expect(abs(Double(got) - want) < 1e-5 * max(1, want), "loss \(got) vs \(want)")
        #expect(want > 0.1)   // not a degenerate point
    }

    // MARK: - Gradient check

    enum Param: CustomStringConvertible {
        case user(Int), factor(item: Int, k: Int), bias(Int)
        var description: String {
            switch self {
            case .user(let k): return "user[\(k)]"
            case .factor(let i, let k): return "item \(i)[\(k)]"
            case .bias(let i): return "bias[\(i)]"
            }
        }
        func get(_ s: State) -> Float {
            switch self {
            case .user(let k): return s.user.values[k]
            case .factor(let i, let k): return s.items.factors[i * dimension + k]
            case .bias(let i): return s.items.bias[i]
            }
        }
        func set(_ s: inout State, _ v: Float) {
            switch self {
            case .user(let k): s.user.values[k] = v
            case .factor(let i, let k): s.items.factors[i * dimension + k] = v
            case .bias(let i): s.items.bias[i] = v
            }
        }
    }

    static func allParams(items touched: [Int], bias: Bool) -> [Param] {
        var ps = (0..<dimension).map(Param.user)
        for i in touched { for k in 0..<dimension { ps.append(.factor(item: i, k: k)) } }
        if bias { ps += touched.map(Param.bias) }
        return ps
    }

    /// Central difference of `LocalTrainer.loss` in one parameter.
    static func numericGradient(_ s: State, _ p: Param, _ loss: Loss, positive: Int, negatives: [Int], bias: Bool) -> Double {
        let h: Float = 1e-2
        var plus = s, minus = s
        let v = p.get(s)
        p.set(&plus, v + h); p.set(&minus, v - h)
        let lp = LocalTrainer.loss(user: plus.user.values, items: plus.items, positive: positive, negatives: negatives, loss: loss, useBias: bias)
        let lm = LocalTrainer.loss(user: minus.user.values, items: minus.items, positive: positive, negatives: negatives, loss: loss, useBias: bias)
        return (Double(lp) - Double(lm)) / (Double(v + h) - Double(v - h))
    }

    func gradientCheck(_ loss: Loss, positive: Int, negatives: [Int], bias: Bool, seed: UInt64) {
        let before = Self.state(seed: seed)
        let cfg = Self.config(loss, bias: bias)
        var after = before
        let reported = LocalTrainer.applyStep(user: &after.user, items: &after.items, positive: positive, negatives: negatives, config: cfg)
        let lossBefore = LocalTrainer.loss(user: before.user.values, items: before.items, positive: positive,
                                           negatives: negatives, loss: loss, useBias: bias)
        #expect(abs(reported - lossBefore) < 1e-4 * max(1, lossBefore), "applyStep returns the loss before the step")

        let touched = [positive] + negatives
        var largest = 0.0
        for p in Self.allParams(items: touched, bias: bias) {
            let analytic = (Double(p.get(before)) - Double(p.get(after))) / Double(cfg.learningRate)
            let numeric = Self.numericGradient(before, p, loss, positive: positive, negatives: negatives, bias: bias)
            largest = max(largest, abs(numeric))
            #expect(abs(analytic - numeric) <= 2e-3 + 1e-2 * abs(numeric),
                    "\(loss) \(p): step implies gradient \(analytic), central difference \(numeric)")
        }
        // The check has teeth: gradients are far above the tolerance.
        #expect(largest > 0.1)
        // Nothing else moved.
        for i in 0..<Self.itemCount where !touched.contains(i) {
            #expect(before.items.factors[i * Self.dimension..<(i + 1) * Self.dimension]
                    == after.items.factors[i * Self.dimension..<(i + 1) * Self.dimension], "untouched item \(i) moved")
            #expect(after.items.trainedSteps[i] == 0)
        }
        #expect(after.items.bias.indices.allSatisfy { touched.contains($0) && bias || after.items.bias[$0] == before.items.bias[$0] },
                "a bias moved that should not have")
        for i in touched { #expect(after.items.trainedSteps[i] == 1, "item \(i) trained steps") }
        // One step downhill lowers the loss.
        let lossAfter = LocalTrainer.loss(user: after.user.values, items: after.items, positive: positive,
                                          negatives: negatives, loss: loss, useBias: bias)
        #expect(lossAfter < lossBefore)
    }

    @Test(arguments: [true, false])
    func bceGradientWithSeveralNegatives(bias: Bool) {
        gradientCheck(.bce, positive: 2, negatives: [0, 5, 6], bias: bias, seed: 5)
        gradientCheck(.bce, positive: 6, negatives: [1, 3, 4, 0], bias: bias, seed: 8)
    }

    @Test(arguments: [true, false])
    func bprGradientWithOneNegative(bias: Bool) {
        gradientCheck(.bpr, positive: 2, negatives: [5], bias: bias, seed: 5)
        gradientCheck(.bpr, positive: 0, negatives: [3], bias: bias, seed: 13)
    }

    // MARK: - L2

    @Test(arguments: [Loss.bce, .bpr])
    func l2ShrinksTouchedRowsOnly(loss: Loss) {
        let start = Self.state(seed: 21)
        let lr: Float = 0.05, l2: Float = 0.3
        let negs = loss == .bce ? [1, 4] : [4]
        var plain = start, shrunk = start
        LocalTrainer.applyStep(user: &plain.user, items: &plain.items, positive: 3, negatives: negs, config: Self.config(loss, lr: lr))
        LocalTrainer.applyStep(user: &shrunk.user, items: &shrunk.items, positive: 3, negatives: negs,
                               config: Self.config(loss, lr: lr, l2: l2))
        let d = Self.dimension
        // Touched rows and the user vector: θ' = θ - lr (g + l2 θ), i.e. the l2 = 0 result minus lr·l2·θ.
        func check(_ a: ArraySlice<Float>, _ b: ArraySlice<Float>, _ s: ArraySlice<Float>, _ what: String) {
            for (x, (y, t)) in zip(a, zip(b, s)) {
                let want = Double(lr) * Double(l2) * Double(t)
                #expect(abs((Double(x) - Double(y)) - want) < 1e-5, "\(what): shrink \(Double(x) - Double(y)) vs \(want)")
            }
        }
        check(plain.user.values[...], shrunk.user.values[...], start.user.values[...], "user")
        for i in [3] + negs {
            let r = i * d..<(i + 1) * d
            check(plain.items.factors[r], shrunk.items.factors[r], start.items.factors[r], "item \(i)")
        }
        for i in 0..<Self.itemCount where !([3] + negs).contains(i) {
            let r = i * d..<(i + 1) * d
            #expect(shrunk.items.factors[r] == start.items.factors[r], "untouched item \(i) was shrunk")
        }
    }

    // MARK: - Adagrad

    /// From zero accumulators, Adagrad's first step is -lr * g / sqrt(g² + ε) ≈ -lr * sign(g) per coordinate,
    /// and the accumulator holds g².
    @Test(arguments: [Loss.bce, .bpr])
    func adagradFirstStepIsLearningRateTimesSign(loss: Loss) {
        let negs = loss == .bce ? [0, 5] : [5]
        let lr: Float = 0.05
        let start = Self.state(seed: 31, adagrad: true)
        var sgd = start, ada = start
        LocalTrainer.applyStep(user: &sgd.user, items: &sgd.items, positive: 2, negatives: negs, config: Self.config(loss, lr: lr))
        LocalTrainer.applyStep(user: &ada.user, items: &ada.items, positive: 2, negatives: negs,
                               config: Self.config(loss, lr: lr, optimizer: .adagrad))
        var checked = 0
        for p in Self.allParams(items: [2] + negs, bias: true) {
            let g = (Double(p.get(start)) - Double(p.get(sgd))) / Double(lr)
            guard abs(g) > 1e-2 else { continue }
            let step = Double(p.get(start)) - Double(p.get(ada))
            #expect(abs(step - Double(lr) * (g > 0 ? 1 : -1)) < 1e-5, "\(p): adagrad step \(step), gradient \(g)")
            checked += 1
        }
        #expect(checked > 20)
        for k in 0..<Self.dimension {
            let g = (Double(start.user.values[k]) - Double(sgd.user.values[k])) / Double(lr)
            #expect(abs(Double(ada.user.g2[k]) - g * g) < 1e-4 * max(1, g * g))
        }
    }
}
