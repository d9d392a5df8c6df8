import Testing
@testable import RecommenderModel

/// `RowQuantizer`: rounding bounds, error feedback, and push-sum mass under rounded exchanges.
@Suite struct RowQuantizerTests {
    static func payload(rows: Int = 20, width: Int = 9, seed: UInt64, scale: Float = 1) -> ModelPayload {
        var rng = SplitMix64(seed: seed)
        return ModelPayload(itemCount: UInt32(rows), dimension: UInt16(width), round: 1, items: (0..<UInt32(rows)).map { $0 },
                            weights: (0..<rows).map { _ in rng.nextUnitFloat() + 0.1 },
                            values: (0..<rows * width).map { _ in (rng.nextUnitFloat() - 0.5) * scale * Float(1 + rng.next(below: 4)) })
    }

    @Test(arguments: [RowPrecision.i8, .f16])
    func eachValueIsWithinHalfAStep(_ precision: RowPrecision) {
        var q = RowQuantizer(precision: precision)
        let p = Self.payload(seed: 1)
        let out = q.quantize(p)
        #expect(out.precision == precision && out.items == p.items && out.weights == p.weights)
        let w = Int(p.dimension)
        for r in 0..<p.items.count {
            let row = p.values[r * w..<(r + 1) * w]
            let step = precision == .i8 ? row.map(abs).max()! / 127 : 0
            for k in 0..<w {
                let x = p.values[r * w + k], y = out.values[r * w + k]
                let bound = precision == .i8 ? step / 2 * 1.0001 : abs(x).ulpOfHalf / 2 * 1.0001
                #expect(abs(x - y) <= bound, "row \(r), \(k): \(x) -> \(y)")
            }
            if precision == .i8 { #expect(out.scales[r] == step) }
        }
    }

    @Test func thirtyTwoBitsChangeNothing() {
        var q = RowQuantizer(precision: .f32)
        let p = Self.payload(seed: 2)
        #expect(q.quantize(p) == p && q.residual.isEmpty)
    }

    @Test func zeroTinyAndHugeRows() {
        var q = RowQuantizer(precision: .i8)
        let p = ModelPayload(itemCount: 3, dimension: 2, round: 0, items: [0, 1, 2], weights: [1, 1, 1],
                             values: [0, -0.0, Float.leastNonzeroMagnitude * 3, 0, Float.greatestFiniteMagnitude, -1])
        let out = q.quantize(p)
        #expect(out.values.allSatisfy { $0.isFinite })
        #expect(out.values[0] == 0 && out.values[1] == 0 && out.scales[0] == 0)
        #expect(out.values[4] > 0.99 * Float.greatestFiniteMagnitude && out.values[4].isFinite)
        var h = RowQuantizer(precision: .f16)
        let big = h.quantize(ModelPayload(itemCount: 1, dimension: 2, round: 0, items: [0], weights: [1], values: [1e9, -1e9]))
        #expect(big.values == [65504, -65504])
        #expect(h.maxResidual == 0)   // the clamped excess is dropped, not fed back
    }

    /// A row that stays put, sent many times: with feedback the mean of what was sent converges on the row (the
    /// errors telescope: the sum is off by the last residual only); rounding afresh every time keeps the same error.
    @Test(arguments: [RowPrecision.i8, .f16])
    func errorFeedbackMakesTheMeanExactAndStaysBounded(_ precision: RowPrecision) {
        let p = Self.payload(rows: 4, width: 5, seed: 3)
        var q = RowQuantizer(precision: precision)
        let n = 400
        var sum = [Double](repeating: 0, count: p.values.count)
        for _ in 0..<n {
            let out = q.quantize(p)
            for k in sum.indices { sum[k] += Double(out.values[k]) }
        }
        var fresh = RowQuantizer(precision: precision)
        let once = fresh.quantize(p)
        let w = Int(p.dimension)
        var worstFeedback = 0.0, worstOnce = 0.0
        for k in sum.indices {
            let step = Double(precision == .i8 ? p.values[(k / w) * w..<(k / w + 1) * w].map(abs).max()! / 127 : abs(p.values[k]).ulpOfHalf)
            worstFeedback = max(worstFeedback, abs(sum[k] / Double(n) - Double(p.values[k])) / step)
            worstOnce = max(worstOnce, abs(Double(once.values[k]) - Double(p.values[k])) / step)
            #expect(abs(q.residual[k]) <= Float(step) * 0.51, "residual \(q.residual[k]) of step \(step)")
        }
        #expect(worstFeedback < 0.01, "mean off by \(worstFeedback) steps")
        #expect(worstOnce > 0.2, "the payload must need rounding for this test to say anything (\(worstOnce))")
    }

    /// Rows that drift (as trained rows do) between sends: the residual never grows beyond half a step of its row.
    @Test func theResidualStaysBoundedWhileRowsMove() {
        var q = RowQuantizer(precision: .i8)
        var p = Self.payload(rows: 8, width: 6, seed: 4)
        var rng = SplitMix64(seed: 5)
        for _ in 0..<2_000 {
            p.values = p.values.map { $0 + (rng.nextUnitFloat() - 0.5) * 0.01 }
            _ = q.quantize(p)
            for r in 0..<8 {
                let row = p.values[r * 6..<(r + 1) * 6].map(abs).max()!
                let res = q.residual[r * 6..<(r + 1) * 6].map(abs).max()!
                #expect(res <= (row + res) / 127 * 0.51 + 1e-7)
            }
        }
    }

    /// Push-pull exchanges of rounded copies between two tables: the weight mass of every row is conserved exactly
    /// (weights travel at 32 bits) and the value mass stays within the rounding bound, however many exchanges.
    @Test(arguments: [RowPrecision.i8, .f16])
    func pushSumMassUnderRoundedExchanges(_ precision: RowPrecision) {
        let rule = PushSumVoteMerge(decay: 0.9, stalenessDecay: 1)
        var rng = SplitMix64(seed: 6)
        var a = ItemTable(itemCount: 12, dimension: 4, initStd: 1, adagrad: false, rng: &rng)
        var b = ItemTable(itemCount: 12, dimension: 4, initStd: 1, adagrad: false, rng: &rng)
        a.trainedSteps = (0..<12).map { Float($0 % 3) + 0.5 }
        b.trainedSteps = (0..<12).map { Float(($0 + 1) % 4) * 0.7 + 0.1 }
        func mass(_ t: ItemTable, _ i: Int) -> (Double, [Double]) {
            let w = Double(t.trainedSteps[i])
            return (w, (0..<t.dimension).map { w * Double(t.factors[i * t.dimension + $0]) } + [w * Double(t.bias[i])])
        }
        let before = (0..<12).map { i in (mass(a, i), mass(b, i)) }
        var qa = RowQuantizer(precision: precision), qb = RowQuantizer(precision: precision)
        for _ in 0..<200 {
            let pa = qa.quantize(a.payload(round: 0)), pb = qb.quantize(b.payload(round: 0))
            rule.merge(pb, into: &a, localRound: 0)
            rule.merge(pa, into: &b, localRound: 0)
        }
        for i in 0..<12 {
            let (w0a, v0a) = before[i].0, (w0b, v0b) = before[i].1
            let (w1a, v1a) = mass(a, i), (w1b, v1b) = mass(b, i)
            #expect(abs((w1a + w1b) - (w0a + w0b)) <= 1e-5 * (w0a + w0b), "weight mass of row \(i)")
            let bound = (w0a + w0b) * (v0a + v0b).map(abs).max()! / (w0a + w0b) / (precision == .i8 ? 127 : 1024)
            for k in v0a.indices {
                #expect(abs((v1a[k] + v1b[k]) - (v0a[k] + v0b[k])) <= bound, "value mass of row \(i), coordinate \(k)")
            }
        }
    }
}

extension Float {
    /// The spacing of Float16 values near this magnitude (2^-24 below the normal range).
    var ulpOfHalf: Float { Float(Float16(Swift.max(self, 0x1p-14))).ulp * 8192 }
}
