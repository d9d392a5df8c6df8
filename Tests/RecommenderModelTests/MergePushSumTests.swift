import Testing
@testable import RecommenderModel

/// A small table with random values and the given push-sum weights.
private func table(items: Int = 6, dim: Int = 3, weights: [Float], seed: UInt64) -> ItemTable {
    var rng = SplitMix64(seed: seed)
    var t = ItemTable(itemCount: items, dimension: dim, initStd: 1, adagrad: false, rng: &rng)
    for i in 0..<items { t.bias[i] = Float(rng.nextUnitDouble()) - 0.5 }
    t.trainedSteps = weights
    return t
}

/// The full row (embedding then bias) of item `i`.
private func row(_ t: ItemTable, _ i: Int) -> [Float] {
    Array(t.factors[i * t.dimension..<(i + 1) * t.dimension]) + [t.bias[i]]
}

private func close(_ a: Float, _ b: Float, tol: Float = 1e-5) -> Bool { abs(a - b) <= tol * max(1, abs(a), abs(b)) }

/// One push-pull exchange: each side merges the other's pre-exchange copy.
private func exchange(_ rule: PushSumVoteMerge, _ a: inout ItemTable, _ b: inout ItemTable) {
    let pa = a.payload(round: 0), pb = b.payload(round: 0)
    rule.merge(pb, into: &a, localRound: 0)
    rule.merge(pa, into: &b, localRound: 0)
}

@Test func pushSumExchangeConservesMassOfEveryRow() {
    let rule = PushSumVoteMerge(decay: 0.9)
    var a = table(weights: [0, 1, 2.5, 0, 0.25, 7], seed: 1)
    var b = table(weights: [0, 3, 0.5, 4, 0, 1e-3], seed: 2)
    let a0 = a, b0 = b
    exchange(rule, &a, &b)
    for i in 0..<a.itemCount {
        let w0 = a0.trainedSteps[i] + b0.trainedSteps[i]
        #expect(close(a.trainedSteps[i] + b.trainedSteps[i], w0), "weight mass of row \(i)")
        for k in 0...a.dimension {
            let s0 = a0.trainedSteps[i] * row(a0, i)[k] + b0.trainedSteps[i] * row(b0, i)[k]
            let s1 = a.trainedSteps[i] * row(a, i)[k] + b.trainedSteps[i] * row(b, i)[k]
            #expect(close(s1, s0), "value mass of row \(i), coordinate \(k): \(s0) -> \(s1)")
        }
    }
    // Rows with weight on either side end equal on both sides.
    for i in 1..<a.itemCount { #expect(row(a, i).indices.allSatisfy { close(row(a, i)[$0], row(b, i)[$0]) }, "row \(i)") }
}

@Test func pushSumRowNobodyTrainedIsUntouched() {
    let rule = PushSumVoteMerge(decay: 0.5)
    var a = table(weights: [0, 1, 0, 1, 0, 1], seed: 3)
    var b = table(weights: [0, 2, 0, 0, 0, 5], seed: 4)
    let a0 = a, b0 = b
    exchange(rule, &a, &b)
    for i in [0, 2, 4] {
        #expect(row(a, i) == row(a0, i) && row(b, i) == row(b0, i), "row \(i) has weight 0 on both sides")
        #expect(a.trainedSteps[i] == 0 && b.trainedSteps[i] == 0)
    }
    // A row only `a` trained: `b` takes a's value, both keep half of a's weight.
    #expect(row(b, 3) == row(a0, 3) && row(a, 3) == row(a0, 3))
    #expect(a.trainedSteps[3] == 0.5 && b.trainedSteps[3] == 0.5)
}

@Test func pushSumIgnoresNonFiniteOrMismatchedPayloads() {
    let rule = PushSumVoteMerge()
    let sender = table(weights: [1, 1, 1, 1, 1, 1], seed: 5)
    var receiver = table(weights: [1, 1, 1, 1, 1, 1], seed: 6)
    let before = receiver
    var p = sender.payload(round: 0)
    p.values[4] = .nan
    rule.merge(p, into: &receiver, localRound: 0)
    #expect(receiver == before, "a NaN value must not be merged")
    p = sender.payload(round: 0)
    p.weights[2] = .infinity
    rule.merge(p, into: &receiver, localRound: 0)
    #expect(receiver == before, "an infinite weight must not be merged")
    let other = table(items: 7, weights: [Float](repeating: 1, count: 7), seed: 7)
    rule.merge(other.payload(round: 0), into: &receiver, localRound: 0)
    #expect(receiver == before, "a payload of another catalogue must not be merged")
    rule.merge(sender.payload(round: 0), into: &receiver, localRound: 0)
    #expect(receiver != before, "a valid payload is merged")
}

@Test func voteMovesTrainedRowByItsShareOfTheWeightAndDecaysTheRest() {
    let g: Float = 0.8
    let rule = PushSumVoteMerge(decay: g, positiveVote: 1, negatives: .vote(0.5))
    let before = table(weights: [2, 0, 1, 3, 0.5, 1e-31], seed: 8)
    var after = before
    let d = before.dimension
    // Row 1 (positive, no weight yet), row 2 (positive), row 3 (negative only) are trained.
    for i in [1, 2, 3] {
        for k in 0..<d { after.factors[i * d + k] += Float(k + 1) * 0.1 }
        after.bias[i] += 0.2
        after.trainedSteps[i] += 5
    }
    var t = after
    rule.absorbLocalEpoch(before: before, into: &t, positivesSorted: [1, 2])
    for i in [0, 4] {
        #expect(row(t, i) == row(before, i))
        #expect(close(t.trainedSteps[i], g * before.trainedSteps[i]), "untrained row \(i) only decays")
    }
    #expect(t.trainedSteps[5] == 0, "weights below the floor become 0")
    // Row 1 had no weight: the vote is all there is, the row takes its trained value.
    #expect(row(t, 1) == row(after, 1) && t.trainedSteps[1] == 1)
    for (i, c) in [(2, Float(1)), (3, Float(0.5))] {
        let share = c / (g * before.trainedSteps[i] + c)
        for k in 0...d {
            let expected = row(before, i)[k] + share * (row(after, i)[k] - row(before, i)[k])
            #expect(close(row(t, i)[k], expected), "row \(i) coordinate \(k)")
        }
        #expect(close(t.trainedSteps[i], g * before.trainedSteps[i] + c))
    }
}

@Test func negativeModesLocalKeepsTheStepAndZeroDiscardsIt() {
    let before = table(weights: [1, 1, 1, 1, 1, 1], seed: 9)
    var after = before
    after.factors[0] += 1; after.bias[0] += 1; after.trainedSteps[0] += 1
    var local = after, discard = after
    PushSumVoteMerge(decay: 0.5, negatives: .local).absorbLocalEpoch(before: before, into: &local, positivesSorted: [3])
    PushSumVoteMerge(decay: 0.5, negatives: .vote(0)).absorbLocalEpoch(before: before, into: &discard, positivesSorted: [3])
    #expect(row(local, 0) == row(after, 0) && local.trainedSteps[0] == 0.5)
    #expect(row(discard, 0) == row(before, 0) && discard.trainedSteps[0] == 0.5)
}

@Test func voteNeverKeepsANonFiniteRow() {
    let before = table(weights: [1, 1, 1, 1, 1, 1], seed: 10)
    var t = before
    t.factors[2 * t.dimension + 1] = .infinity; t.trainedSteps[2] += 1
    t.bias[4] = .nan; t.trainedSteps[4] += 1
    PushSumVoteMerge(decay: 0.9).absorbLocalEpoch(before: before, into: &t, positivesSorted: [2, 4])
    #expect(t.isFinite)
    #expect(row(t, 2) == row(before, 2) && row(t, 4) == row(before, 4))
}

/// The property the rule exists for: after gossip mixes a round of votes, every copy of a row sits at
/// v0 + (mean step of the voters) × (voters' share of the total weight), independently of how many peers
/// did not vote (their weight is what decay shrinks), and the result is deterministic.
@Test func gossipConvergesToTheWeightedMeanOfTheVotes() {
    func run(seed: UInt64) -> [ItemTable] {
        let g: Float = 0.5, peers = 12, w0: Float = 0.25
        let rule = PushSumVoteMerge(decay: g)
        let base = table(items: 2, dim: 2, weights: [w0, w0], seed: 11)
        var tables = [ItemTable](repeating: base, count: peers)
        // Peers 0, 1, 2 train row 0 as a positive with different steps.
        let steps: [Float] = [0.3, -0.1, 0.4]
        for p in 0..<3 {
            var after = tables[p]
            after.factors[0] += steps[p]; after.trainedSteps[0] += 1
            rule.absorbLocalEpoch(before: tables[p], into: &after, positivesSorted: [0])
            tables[p] = after
        }
        for p in 3..<peers { let b = tables[p]; rule.absorbLocalEpoch(before: b, into: &tables[p], positivesSorted: [0]) }
        var rng = SplitMix64(seed: seed)
        for _ in 0..<400 {
            let a = rng.next(below: peers)
            var b = rng.next(below: peers - 1); if b >= a { b += 1 }
            var ta = tables[a], tb = tables[b]
            exchange(rule, &ta, &tb)
            tables[a] = ta; tables[b] = tb
        }
        let total = g * w0 * Float(peers) + 3
        let expected = base.factors[0] + steps.reduce(0, +) / total
        for t in tables { #expect(close(t.factors[0], expected, tol: 1e-4), "\(t.factors[0]) vs \(expected)") }
        for t in tables { #expect(close(t.factors[2], base.factors[2]) && close(t.trainedSteps[1], g * w0)) }
        return tables
    }
    #expect(run(seed: 12) == run(seed: 12))
}
