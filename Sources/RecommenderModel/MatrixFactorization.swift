#if canImport(Glibc)
import Glibc
#endif

/// Loss functions for implicit feedback, both with sampled negatives.
public enum Loss: String, Sendable, CaseIterable {
    /// Bayesian Personalized Ranking (Rendle et al., UAI 2009): -log σ(s(u,i) - s(u,j)) for each of the
    /// k sampled negatives j of a positive i.
    case bpr
    /// Binary cross-entropy (as NCF's GMF): -log σ(s(u,i)) - Σ_j log(1 - σ(s(u,j))) over k negatives.
    case bce
}

public enum OptimizerKind: String, Sendable, CaseIterable {
    /// Plain SGD: p -= lr * g.
    case sgd
    /// Adagrad (Duchi, Hazan, Singer 2011), per coordinate: G += g², p -= lr * g / sqrt(G + ε).
    case adagrad
}

/// Hyper-parameters of matrix-factorization training.
public struct TrainingConfig: Sendable, Equatable {
    public var dimension: Int = 32
    public var loss: Loss = .bce
    /// Sampled negatives per positive.
    public var negatives: Int = 4
    public var learningRate: Float = 0.05
    /// L2 penalty, applied to each row a step touches.
    public var l2: Float = 0.0
    public var optimizer: OptimizerKind = .adagrad
    public var itemBias: Bool = true
    /// Standard deviation of the Gaussian initialisation of embeddings.
    public var initStd: Float = 0.1
    public init() {}
}

/// Item embeddings: the part of the model that peers share. `itemCount × dimension` contiguous Floats
/// (row-major), optional per-item bias, Adagrad accumulators when that optimizer is used, and a per-row
/// training counter (how many gradient steps this copy applied to the row: what "this side has actually
/// trained" means for merging).
public struct ItemTable: Sendable, Equatable {
    public let itemCount: Int
    public let dimension: Int
    public var factors: [Float]
    public var bias: [Float]
    public var factorsG2: [Float]
    public var biasG2: [Float]
    /// Gradient steps applied to each row by local training since the counter was last reset.
    public var trainedSteps: [Float]

    public init(itemCount: Int, dimension: Int, initStd: Float, adagrad: Bool, rng: inout SplitMix64) {
        self.itemCount = itemCount
        self.dimension = dimension
        factors = Gaussian.fill(count: itemCount * dimension, std: initStd, rng: &rng)
        bias = [Float](repeating: 0, count: itemCount)
        factorsG2 = adagrad ? [Float](repeating: 0, count: itemCount * dimension) : []
        biasG2 = adagrad ? [Float](repeating: 0, count: itemCount) : []
        trainedSteps = [Float](repeating: 0, count: itemCount)
    }

    /// The score of item `i` for a user vector: dot product plus bias.
    @inlinable
    public func score(user: UnsafePointer<Float>, item i: Int) -> Float {
        factors.withUnsafeBufferPointer { f in Vec.dot(user, f.baseAddress! + i * dimension, dimension) } + bias[i]
    }

    /// True when every parameter is finite (a poisoned model must never be used).
    public var isFinite: Bool {
        ModelChecks.allFinite(factors) && ModelChecks.allFinite(bias)
    }
}

/// One user's private embedding (and its Adagrad accumulator). It never leaves the peer.
public struct UserVector: Sendable, Equatable {
    public var values: [Float]
    public var g2: [Float]
    public init(dimension: Int, initStd: Float, adagrad: Bool, rng: inout SplitMix64) {
        values = Gaussian.fill(count: dimension, std: initStd, rng: &rng)
        g2 = adagrad ? [Float](repeating: 0, count: dimension) : []
    }
}

public enum Gaussian {
    /// Box-Muller normal samples.
    public static func fill(count: Int, std: Float, rng: inout SplitMix64) -> [Float] {
        var out = [Float](repeating: 0, count: count)
        var k = 0
        while k < count {
            let u1 = max(rng.nextUnitDouble(), 1e-300), u2 = rng.nextUnitDouble()
            let r = (-2 * log(u1)).squareRoot()
            out[k] = Float(r * cos(2 * .pi * u2)) * std
            if k + 1 < count { out[k + 1] = Float(r * sin(2 * .pi * u2)) * std }
            k += 2
        }
        return out
    }
}
