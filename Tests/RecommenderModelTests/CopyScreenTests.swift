import Foundation
import Testing
@testable import RecommenderModel

/// The merge defences (`MergeDefences`, `CopyScreen`) on hand-built copies: each lie is tried against the one defence
/// meant for it (every other switch off, so that turning that one off makes the test fail), then against the whole
/// default stack; honest copies a straggler, a returning peer or a late joiner sends must pass (nearly) untouched.
@Suite struct CopyScreenTests {
    static let items = 8, dim = 4, cold = 7
    static let rule = PushSumVoteMerge(decay: 0.9)
    /// Typical push-sum weights of a mixing swarm with negatives voting (about 2.5 per row on ML-100K), and one cold row.
    static let weights: [Float] = [2.5, 2.4, 2.6, 2.5, 2.3, 2.7, 2.5, 0.01]

    /// The receiver's table: rows of norm about 1.
    static func receiver() -> ItemTable {
        var rng = SplitMix64(seed: 11)
        var t = ItemTable(itemCount: items, dimension: dim, initStd: 0.5, adagrad: false, rng: &rng)
        for i in 0..<items { t.bias[i] = Float(rng.nextUnitDouble()) - 0.5 }
        t.trainedSteps = weights
        return t
    }

    /// A copy of `t`'s rows with every value moved by uniform noise of at most `noise`, weights `w` (t's by default).
    static func copy(of t: ItemTable, round: UInt64, noise: Float, seed: UInt64, weights w: [Float]? = nil) -> ModelPayload {
        var rng = SplitMix64(seed: seed)
        var p = t.payload(round: round)
        p.values = p.values.map { $0 + noise * (2 * Float(rng.nextUnitDouble()) - 1) }
        if let w { p.weights = w }
        return p
    }

    static func row(_ t: ItemTable, _ i: Int) -> [Float] { Array(t.factors[i * dim..<(i + 1) * dim]) + [t.bias[i]] }
    static func row(_ p: ModelPayload, _ r: Int) -> [Float] { Array(p.values[r * (dim + 1)..<(r + 1) * (dim + 1)]) }
    static func distance(_ a: [Float], _ b: [Float]) -> Float { zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot() }
    static func norm(_ a: [Float]) -> Float { a.map { $0 * $0 }.reduce(0, +).squareRoot() }

    /// Only the named defence on.
    static func only(_ name: String) -> MergeDefences {
        var d = MergeDefences.off
        _ = d.set(name, true)
        return d
    }

    /// A learner-free merge through a screen: the receiver's table and clock after merging `copies` in order.
    static func merge(_ copies: [ModelPayload], into t: inout ItemTable, clock: inout UInt64, screen: inout CopyScreen) {
        for p in copies {
            guard t.accepts(p) else { continue }
            var q = p
            let v = screen.screen(&q, against: t, clock: clock, rule: rule)
            if v.outlier { continue }
            rule.mergeAccepted(q, into: &t, localRound: clock, priorWeight: screen.priorWeight)
            clock = max(clock, q.round)
        }
    }

    /// Honest copies from the swarm (small disagreement), which teach a screen the rows' typical distances.
    static func honest(_ t: ItemTable, count: Int, round: UInt64) -> [ModelPayload] {
        (0..<count).map { copy(of: t, round: round, noise: 0.02, seed: 100 + UInt64($0)) }
    }

    // MARK: Lies, one defence each

    @Test func aLyingWeightIsCutToTheHonestBound() {
        let bound = Self.rule.honestWeightBound(maxSlowdown: 10)!
        #expect(abs(bound - 100) < 0.2, "k·c/(1 − γ) = 10·1/0.1, got \(bound)")
        let t0 = Self.receiver()
        let lie = Self.copy(of: t0, round: 100, noise: 0, seed: 1, weights: [Float](repeating: 1e30, count: Self.items))
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("weights"))
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        // Undefended the receiver would hold 5e29 on every row, and no honest copy could ever move it again.
        #expect(t.trainedSteps.allSatisfy { $0 <= bound }, "weights after the lie: \(t.trainedSteps)")
        // One honest copy afterwards still counts: a = 2.5 / (~51 + 2.5) ≥ 4%.
        let before = t
        let fresh = Self.copy(of: t0, round: 100, noise: 0.5, seed: 2)
        Self.merge([fresh], into: &t, clock: &clock, screen: &screen)
        for i in 0..<Self.items - 1 {
            let moved = Self.distance(Self.row(t, i), Self.row(before, i)), span = Self.distance(Self.row(fresh, i), Self.row(before, i))
            #expect(moved >= 0.04 * span, "row \(i): an honest copy moved it \(moved) of \(span)")
        }
    }

    @Test func aForgedClockNeitherZeroesTheReceiversWeightsNorSaturatesItsClock() {
        let t0 = Self.receiver()
        var lie = Self.copy(of: t0, round: 0, noise: 0, seed: 3)
        lie.round = .max
        lie.values = lie.values.map { $0 * -3 }
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("clock"))
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        #expect(clock == 100 + MergeDefences().maxClockLead)
        // The receiver's own weights are discounted by at most 0.98^32 = 0.52: each row keeps at least a third of its
        // value (undefended: the discount is 0 and the row is the forged one).
        for i in 0..<Self.items - 1 {
            let own = Self.row(t0, i), forged = Self.row(lie, i), merged = Self.row(t, i)
            let share = Self.distance(merged, forged) / Self.distance(own, forged)
            #expect(share >= 0.3, "row \(i) kept \(share) of the receiver's value")
            #expect(t.trainedSteps[i] >= 0.25 * t0.trainedSteps[i])
        }
    }

    @Test func anOverflowingRowIsDroppedAndTheTableStaysFinite() {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("values"))
        var up = Self.copy(of: t0, round: 100, noise: 0, seed: 4)
        up.values = up.values.map { _ in 3e38 }
        var down = up
        down.values = down.values.map { _ in -3e38 }
        // Undefended, the first copy leaves rows near 1.5e38 and the second overflows src − dst to −infinity.
        Self.merge([up, down], into: &t, clock: &clock, screen: &screen)
        #expect(t.isFinite)
        #expect(t.factors == t0.factors && t.bias == t0.bias, "a dropped row must not move the receiver")
        var q = up
        let v = screen.screen(&q, against: t, clock: 100, rule: Self.rule)
        #expect(v.rowsRejected == Self.items && q.items.isEmpty && v.impossible)
    }

    @Test func aSignFlippedCopyIsDroppedWhole() {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("clip"))
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let before = t, radii = screen.typicalDistance
        var lie = t.payload(round: 100)
        lie.values = lie.values.map { $0 * -3 }
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        // Undefended: every row moves by a·4|v| ≈ 2|v|. Its rows sit about 4|v| away, 80 honest distances: dropped whole.
        #expect(t == before, "the flipped copy moved the receiver")
        #expect(screen.typicalDistance == radii, "a dropped copy does not move the radii")
        #expect(radii.allSatisfy { $0 < 0.1 })
    }

    /// Two rows flipped in an otherwise honest copy (not an outlier as a whole): each is clipped to the radius and
    /// brings (τ/d)² of its weight.
    @Test func aFewSignFlippedRowsMoveTheReceiverByLessThanTheClippingRadius() throws {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("clip"))
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let before = t, radii = screen.typicalDistance
        try #require(radii.count == Self.items, "no clipping radii were kept")
        var lie = Self.copy(of: t, round: 100, noise: 0.02, seed: 9)
        for r in [0, 3] { for k in 0...Self.dim { lie.values[r * (Self.dim + 1) + k] *= -3 } }
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        for i in [0, 3] {
            let moved = Self.distance(Self.row(t, i), Self.row(before, i))
            // Undefended: moved by a·4|v| ≈ 2|v| ≈ 2.
            #expect(moved <= MergeDefences().clipFactor * radii[i], "row \(i) moved \(moved), radius \(radii[i])")
            #expect(moved < 0.1, "row \(i) moved \(moved)")
        }
    }

    @Test func aColdRowCannotBeTakenOverByABigClaimedWeight() {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("tail"))
        // The attacker claims the honest bound (100) on the cold row, with values far from the receiver's.
        var lie = Self.copy(of: t0, round: 100, noise: 0, seed: 5, weights: [0, 0, 0, 0, 0, 0, 0, 100])
        for k in 0..<(Self.dim + 1) { lie.values[Self.cold * (Self.dim + 1) + k] = 3 }
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        // Its claim is cut to the receiver's weight plus one straggler vote (10), its mass on the row to half that.
        #expect(t.trainedSteps[Self.cold] <= 0.5 * (0.01 + 0.01 + 10.01) + 1e-3, "cold row weight \(t.trainedSteps[Self.cold])")
        // So one honest copy at a typical weight still pulls the row a third of the way back (undefended: the receiver
        // holds 50 on the row and the honest copy moves it 5%).
        let poisoned = Self.row(t, Self.cold)
        let honest = Self.copy(of: t0, round: 100, noise: 0, seed: 6, weights: [0, 0, 0, 0, 0, 0, 0, 2.5])
        Self.merge([honest], into: &t, clock: &clock, screen: &screen)
        let back = Self.distance(Self.row(t, Self.cold), poisoned) / Self.distance(Self.row(t0, Self.cold), poisoned)
        #expect(back >= 0.2, "the honest copy pulled the cold row back \(back) of the way")
    }

    /// Spattack's O kinds: rows pushed against the swarm's move, at 15 typical distances (inside the clipping radius of
    /// 20) with the largest weight the tail cap lets through. Without the step cap the merge moves each such row 5/6 of
    /// the way (12.5 of 15 radii); with it, by at most `stepCap` (6) radii, and the weight it leaves behind is what that step
    /// needs (so the receiver's next copies do not carry the lie on with more weight than honest rows hold). Here the
    /// lie is on 3 of 8 rows (the copy is not an outlier as a whole; see the next test for one that lies on most).
    @Test func anOppositeMoveInsideTheClippingRadiusMovesARowByAtMostTheStepCap() throws {
        let t0 = Self.receiver()
        var defences = Self.only("tail")
        defences.clipRows = true
        defences.capSteps = true
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: defences)
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let radii = screen.typicalDistance
        try #require(radii.count == Self.items)
        let lied = [0, 3, 5]
        let lie = Self.opposite(t, rows: lied, radii: radii)
        var screened = lie, probe = screen
        let v = probe.screen(&screened, against: t, clock: clock, rule: Self.rule)
        #expect(!v.outlier && v.rowsClipped == 0 && v.rowsStepCapped == lied.count, "\(v)")
        let settled = t
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        for i in lied {
            let moved = Self.distance(Self.row(t, i), Self.row(settled, i))
            let mu = MergeDefences().stepCap, b = mu / 15
            #expect(moved <= mu * radii[i] * 1.01 + 1e-6, "row \(i) moved \(moved), \(moved / radii[i]) radii")
            // a = μ/15 = w_r / (w_l + w_r): w_r = w_l b / (1 − b), and the receiver keeps (w_l + w_r) / 2, less than it held.
            let kept = (1 + b / (1 - b)) / 2
            #expect(t.trainedSteps[i] <= settled.trainedSteps[i] * kept * 1.01 + 1e-4, "row \(i): weight \(t.trainedSteps[i])")
            #expect(kept < 0.9)
        }
    }

    /// The same lie on 6 of 8 rows: most of the copy would be cut by the step cap, so it is dropped whole
    /// (`Verdict.stepOutlier`), as the whole-copy cut drops a copy most of whose rows sit far away.
    @Test func aCopyThatWouldOverstepOnMostRowsIsDroppedWhole() throws {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen()
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let lie = Self.opposite(t, rows: [0, 1, 2, 3, 4, 5], radii: screen.typicalDistance)
        let settled = t
        var screened = lie, probe = screen
        let v = probe.screen(&screened, against: t, clock: clock, rule: Self.rule)
        #expect(v.outlier && v.stepOutlier, "\(v)")
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        #expect(t == settled)
    }

    /// `t`'s copy claiming weight 100 on every row, with `rows` moved 15 radii away (along −(1, ..., 1)).
    static func opposite(_ t: ItemTable, rows: [Int], radii: [Float]) -> ModelPayload {
        var lie = t.payload(round: 100)
        lie.weights = lie.weights.map { _ in 100 }
        for r in rows {
            let away = 15 * radii[r] / Float(Self.dim + 1).squareRoot()
            for k in 0...Self.dim { lie.values[r * (Self.dim + 1) + k] -= away }
        }
        return lie
    }

    /// The step cap leaves honest copies alone: one from the swarm (a typical distance away, the receiver's weights)
    /// and a voter's (one vote more on four rows, one local step away) move exactly as undefended.
    @Test func honestCopiesPassTheStepCapUntouched() {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("step"))
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let swarm = Self.copy(of: t, round: 100, noise: 0.02, seed: 31)
        var w = t.trainedSteps
        for i in 0..<4 { w[i] = 0.9 * w[i] + 1 }
        let voter = Self.copy(of: t, round: 101, noise: 0.03, seed: 32, weights: w)
        for p in [swarm, voter] {
            var screened = p
            let v = screen.screen(&screened, against: t, clock: clock, rule: Self.rule)
            #expect(v.rowsStepCapped == 0 && screened == p, "\(v)")
        }
    }

    /// A row the receiver holds no weight for counts as a tenth of a vote: a claim of 0.01 moves it a tenth of the
    /// way, not all of it.
    @Test func aWeightlessRowIsNotReplacedOutright() {
        var t0 = Self.receiver()
        t0.trainedSteps[Self.cold] = 0
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen(defences: Self.only("tail"))
        var lie = Self.copy(of: t0, round: 100, noise: 0, seed: 10, weights: [0, 0, 0, 0, 0, 0, 0, 0.01])
        for k in 0..<(Self.dim + 1) { lie.values[Self.cold * (Self.dim + 1) + k] = 3 }
        Self.merge([lie], into: &t, clock: &clock, screen: &screen)
        let share = Self.distance(Self.row(t, Self.cold), Self.row(t0, Self.cold)) / Self.distance(Self.row(lie, Self.cold), Self.row(t0, Self.cold))
        #expect(abs(share - 0.01 / 0.11) < 1e-3, "the weightless row moved \(share) of the way")
    }

    // MARK: The whole stack

    @Test(arguments: ["weight", "clock", "overflow", "flip", "cold"])
    func theDefaultStackNeutralisesEveryLie(_ lie: String) {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen()
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        let before = t
        var p = t.payload(round: 100)
        switch lie {
        case "weight": p.weights = p.weights.map { _ in 1e30 }; p.values = p.values.map { $0 * -3 }
        case "clock": p.round = .max; p.values = p.values.map { $0 * -3 }
        case "overflow": p.values = p.values.enumerated().map { $0.offset % 2 == 0 ? 3e38 : -3e38 }
        case "flip": p.values = p.values.map { $0 * -3 }
        default: p.weights = [0, 0, 0, 0, 0, 0, 0, 100]; for k in 0..<(Self.dim + 1) { p.values[Self.cold * (Self.dim + 1) + k] = 3 }
        }
        let radii = screen.typicalDistance
        Self.merge([p], into: &t, clock: &clock, screen: &screen)
        #expect(t.isFinite && clock <= 132)
        for i in 0..<Self.items {
            let moved = Self.distance(Self.row(t, i), Self.row(before, i))
            if lie == "cold" {
                // One weighted row: no whole-copy verdict; the row moves by at most its clipping radius.
                #expect(moved <= MergeDefences().clipFactor * radii[i] + 1e-5, "\(lie): row \(i) moved \(moved)")
            } else {
                #expect(moved == 0, "\(lie): row \(i) moved \(moved) (the copy should be dropped or its rows rejected)")
            }
            #expect(t.trainedSteps[i] <= 0.5 * (before.trainedSteps[i] + 10.02) + 1e-3)
        }
    }

    // MARK: Honest copies pass

    /// A straggler (slowdown 10) that just trained rows 0...3: its votes of 10 (on top of γ × 2.5) and its local step
    /// of about 0.05 must reach the receiver as they would undefended.
    @Test func aStragglersScaledVotesPassUntouched() {
        let t0 = Self.receiver()
        var t = t0, clock: UInt64 = 100
        var screen = CopyScreen()
        Self.merge(Self.honest(t0, count: 12, round: 100), into: &t, clock: &clock, screen: &screen)
        var w = t.trainedSteps
        for i in 0..<4 { w[i] = 0.9 * w[i] + 10 }
        let straggler = Self.copy(of: t, round: 101, noise: 0.05, seed: 7, weights: w)
        var screened = straggler
        let v = screen.screen(&screened, against: t, clock: clock, rule: Self.rule)
        #expect(v.rowsClipped == 0 && v.rowsRejected == 0 && v.weightsOverBound == 0 && v.weightsTailCapped == 0, "\(v)")
        #expect(screened == straggler)
    }

    /// A returning peer's copy, 200 versions behind and far from the receiver: undefended the staleness discount
    /// already makes it move the receiver by about 2% of the way; defended it moves it no more (here it is dropped).
    @Test func aReturningPeersStaleCopyMovesTheReceiverAsLittleAsUndefended() {
        let t0 = Self.receiver()
        var defended = t0, plain = t0, clock: UInt64 = 300, plainClock: UInt64 = 300
        var screen = CopyScreen(), none = CopyScreen(defences: .off)
        Self.merge(Self.honest(t0, count: 12, round: 300), into: &defended, clock: &clock, screen: &screen)
        Self.merge(Self.honest(t0, count: 12, round: 300), into: &plain, clock: &plainClock, screen: &none)
        let stale = Self.copy(of: t0, round: 100, noise: 0.5, seed: 8)
        let (d0, p0) = (defended, plain)
        Self.merge([stale], into: &defended, clock: &clock, screen: &screen)
        Self.merge([stale], into: &plain, clock: &plainClock, screen: &none)
        for i in 0..<Self.items {
            let a = Self.distance(Self.row(defended, i), Self.row(d0, i)), b = Self.distance(Self.row(plain, i), Self.row(p0, i))
            #expect(a <= b + 1e-6 && b <= 0.05, "row \(i): defended moved \(a), undefended \(b)")
        }
        #expect(clock == 300)
    }

    /// The returning peer itself, 200 versions behind: fresh copies still take it (almost) all the way within a few merges.
    @Test func aReturningPeerCatchesUpWithinAFewFreshCopies() {
        let old = Self.receiver()
        var fresh = old
        for k in 0..<fresh.factors.count { fresh.factors[k] += 0.3 * (k % 2 == 0 ? 1 : -1) }
        var t = old, clock: UInt64 = 100
        var screen = CopyScreen()
        let copies = (0..<6).map { Self.copy(of: fresh, round: 300 + UInt64($0), noise: 0.01, seed: 20 + UInt64($0)) }
        Self.merge(copies, into: &t, clock: &clock, screen: &screen)
        for i in 0..<Self.items - 1 {
            let left = Self.distance(Self.row(t, i), Self.row(fresh, i)) / Self.distance(Self.row(old, i), Self.row(fresh, i))
            #expect(left <= 0.2, "row \(i): \(left) of the way still to go")
        }
        #expect(clock >= 100 + 6 * 32 || clock >= 300)
    }

    /// A fresh peer (initial table, no weights) adopts a trained copy almost whole (its rows count a tenth of a vote);
    /// one far beyond twice its rows' length is an outlier it drops once (it cannot tell yet who is off), then adopts.
    @Test func aLateJoinerAdoptsTheSwarmsCopy() {
        var t = Self.receiver()
        t.trainedSteps = [Float](repeating: 0, count: Self.items)
        var trained = Self.receiver()
        for k in 0..<trained.factors.count { trained.factors[k] *= 3 }
        var clock: UInt64 = 0
        var screen = CopyScreen()
        let first = t
        Self.merge([trained.payload(round: 250)], into: &t, clock: &clock, screen: &screen)
        for i in 0..<Self.items - 1 {
            let left = Self.distance(Self.row(t, i), Self.row(trained, i)) / Self.distance(Self.row(first, i), Self.row(trained, i))
            #expect(left < 0.05, "row \(i): \(left) of the way left")
        }
        #expect(clock == 32)
        // Twice longer again: an outlier, dropped once, adopted at the next copy.
        var far = t
        for k in 0..<far.factors.count { far.factors[k] *= 2 }
        var joiner = first, c2: UInt64 = 0
        var fresh = CopyScreen()
        Self.merge([far.payload(round: 250)], into: &joiner, clock: &c2, screen: &fresh)
        #expect(joiner == first && c2 == 0 && fresh.outlierRate > 0.5)
        Self.merge([far.payload(round: 251)], into: &joiner, clock: &c2, screen: &fresh)
        #expect(joiner != first && c2 == 32)
    }

    /// Through the learner: an outlier copy is screened out before the rule and does not advance the model clock; a
    /// fresh screen (a peer that cannot tell yet who is off) drops one and merges the next.
    @Test func theLearnerMergesOnlyWhatTheScreenLetsThrough() {
        let log = SyntheticData.planted(users: 4, items: 20, groups: 2, perUser: 5, seed: 1)
        let split = try! LeaveOneOutSplit.make(from: log, negatives: 5, seed: 1)
        var config = TrainingConfig()
        config.dimension = 4
        let start = PeerLearner(shard: split.shards[0], config: config, tableSeed: 3, peerSeed: 1)
        var lie = start.payload()
        lie.weights = lie.weights.map { _ in 1 }
        lie.values = lie.values.map { $0 * -3 }
        lie.round = 5
        var settled = start
        var screen = CopyScreen()
        var honest = start.payload()
        honest.weights = honest.weights.map { _ in 1 }
        for _ in 0..<6 { _ = settled.merge(honest, using: Self.rule, screen: &screen) }
        let table = settled.items, clock = settled.clock
        let dropped = settled.merge(lie, using: Self.rule, screen: &screen)
        #expect(dropped?.outlier == true, "\(String(describing: dropped))")
        #expect(settled.items == table && settled.clock == clock)

        var fresh = start
        var unsure = CopyScreen()
        #expect(fresh.merge(lie, using: Self.rule, screen: &unsure)?.outlier == true && fresh.items == start.items)
        #expect(fresh.merge(lie, using: Self.rule, screen: &unsure)?.outlier == false && fresh.items != start.items)
    }

    @Test func switchesAndNames() {
        #expect(MergeDefences.on.enabled == MergeDefences.names)
        #expect(PushSumVoteMerge(decay: 0.9).honestVoteBound(maxSlowdown: 10).map { abs($0 - 10) < 0.02 } == true)
        #expect(MergeDefences.off.enabled.isEmpty && !MergeDefences.off.anyOn)
        var d = MergeDefences.off
        #expect(d.set("clip", true) && d.clipRows && !d.set("bogus", true))
        #expect(MergeDefences().validate() == nil)
        var bad = MergeDefences()
        bad.clipFactor = 1
        #expect(bad.validate() != nil)
        #expect(WeightedAverageMerge().honestWeightBound(maxSlowdown: 10) == nil)
        #expect(PushSumVoteMerge(decay: 1).honestWeightBound(maxSlowdown: 10) == nil)
    }
}
