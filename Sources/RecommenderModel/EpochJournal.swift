/// What a local epoch is about to change in an item table: every row the trainer touches, as it was before the
/// epoch's first step on it (factors, bias, Adagrad state, step count), in first-touch order.
///
/// A peer needs the pre-epoch rows twice per round: a merge rule turns the epoch's moves into votes
/// (`MergeRule.absorbLocalEpoch`), and a round that produced a non-finite number is rolled back. Copying the whole
/// table before every epoch did both but cost a full copy (and a full finiteness scan) per round, while an epoch
/// touches only the peer's positives and the negatives it sampled (a few hundred of ML-100K's 1,682 rows); the
/// trainer now records just those rows on first touch (`LocalTrainer.trainUser(journal:)`).
public struct EpochJournal: Sendable {
    public let itemCount: Int
    public let dimension: Int
    /// Touched rows, in the order they were first touched.
    public private(set) var rows: [Int32] = []
    /// Pre-epoch values of `rows`: `dimension` floats each, then one bias, one step count, and (Adagrad) the
    /// accumulators.
    var factors: [Float] = []
    var bias: [Float] = []
    var steps: [Float] = []
    var factorsG2: [Float] = []
    var biasG2: [Float] = []
    private var seen: [Bool]

    public init(itemCount: Int, dimension: Int) {
        self.itemCount = itemCount
        self.dimension = dimension
        seen = [Bool](repeating: false, count: itemCount)
    }

    /// A journal for `table`'s shape, empty.
    public init(for table: ItemTable) { self.init(itemCount: table.itemCount, dimension: table.dimension) }

    /// The journal of an epoch that turned `before` into `after`, for callers that kept a whole copy: the rows
    /// whose step count changed (training adds one per step on a row), with their values from `before`.
    public init(before: ItemTable, after: ItemTable) {
        precondition(before.itemCount == after.itemCount && before.dimension == after.dimension,
                     "EpochJournal: tables of different shapes")
        self.init(for: before)
        for i in 0..<before.itemCount where after.trainedSteps[i] != before.trainedSteps[i] {
            record(row: i, of: before)
        }
    }

    /// Whether `row` was touched.
    public func contains(_ row: Int) -> Bool { seen[row] }

    /// Records `row` of `table` unless it was recorded already (a no-op then: the first touch wins).
    public mutating func record(row i: Int, of table: ItemTable) {
        table.factors.withUnsafeBufferPointer { V in
            table.bias.withUnsafeBufferPointer { B in
                table.trainedSteps.withUnsafeBufferPointer { S in
                    table.factorsG2.withUnsafeBufferPointer { VG in
                        table.biasG2.withUnsafeBufferPointer { BG in
                            record(i, V: V.baseAddress!, B: B.baseAddress!, S: S.baseAddress!,
                                   VG: table.factorsG2.isEmpty ? nil : VG.baseAddress, BG: table.biasG2.isEmpty ? nil : BG.baseAddress)
                        }
                    }
                }
            }
        }
    }

    /// The trainer's hook: records row `i` from raw table storage before its first change.
    @inline(__always)
    mutating func record(_ i: Int, V: UnsafePointer<Float>, B: UnsafePointer<Float>, S: UnsafePointer<Float>,
                         VG: UnsafePointer<Float>?, BG: UnsafePointer<Float>?) {
        guard !seen[i] else { return }
        seen[i] = true
        rows.append(Int32(i))
        factors.append(contentsOf: UnsafeBufferPointer(start: V + i * dimension, count: dimension))
        bias.append(B[i])
        steps.append(S[i])
        if let VG, let BG {
            factorsG2.append(contentsOf: UnsafeBufferPointer(start: VG + i * dimension, count: dimension))
            biasG2.append(BG[i])
        }
    }

    /// Puts every recorded row of `table` back to its pre-epoch value (factors, bias, Adagrad state, step count).
    public func restore(into table: inout ItemTable) {
        precondition(table.itemCount == itemCount && table.dimension == dimension, "EpochJournal: table of another shape")
        let d = dimension
        let adagrad = !factorsG2.isEmpty && !table.factorsG2.isEmpty
        table.factors.withUnsafeMutableBufferPointer { F in
            factors.withUnsafeBufferPointer { J in
                for (k, row) in rows.enumerated() {
                    (F.baseAddress! + Int(row) * d).update(from: J.baseAddress! + k * d, count: d)
                }
            }
        }
        for (k, row) in rows.enumerated() {
            let i = Int(row)
            table.bias[i] = bias[k]
            table.trainedSteps[i] = steps[k]
            if adagrad {
                for t in 0..<d { table.factorsG2[i * d + t] = factorsG2[k * d + t] }
                table.biasG2[i] = biasG2[k]
            }
        }
    }

    /// Whether every factor and bias of the recorded rows is finite in `table` (its untouched rows are whatever
    /// they were before the epoch).
    public func touchedRowsAreFinite(in table: ItemTable) -> Bool {
        let d = dimension
        return table.factors.withUnsafeBufferPointer { F in
            rows.allSatisfy { ModelChecks.allFinite(UnsafeBufferPointer(rebasing: F[Int($0) * d ..< (Int($0) + 1) * d])) }
        } && rows.allSatisfy { table.bias[Int($0)].isFinite }
    }
}
