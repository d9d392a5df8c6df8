/// Branch-free whole-array checks of a `ModelPayload`'s elements, written so that LLVM vectorizes them (no early
/// exit, no closures, no optionals: each loop folds a predicate into an accumulator with OR over the raw array
/// storage). They answer only "is everything fine?"; the codec (and `ItemTable.accepts`) falls back to an element-by-element scan to name
/// the offending field when the answer is no, so the common case (a valid model) costs one pass at memory speed.
///
/// Float predicates work on IEEE-754 binary32 bit patterns `b`:
/// - non-finite (NaN or +-infinity) <=> exponent bits all ones <=> `(b & 0x7F80_0000) + 0x0080_0000` has bit 31
///   set (the largest other exponent, 0x7F00_0000, gives 0x7F80_0000);
/// - negative or non-finite <=> that, or the sign bit 31 of `b` itself; -0.0 is flagged too (the exact check
///   then accepts it, since -0.0 is not below zero).
public enum ModelChecks {
    /// True if items are strictly increasing and below `itemCount`, weights finite and not negative (bitwise: a
    /// clear sign bit), and values finite. Assumes the counts were checked already.
    public static func elementsLookValid(_ m: ModelPayload) -> Bool {
        itemsIncreaseBelow(m.items, m.itemCount) && weightsLookValid(m.weights) && allFinite(m.values)
    }

    /// True if `m`'s elements are valid (`elementsLookValid`), remembered in `m.elementsVerified` so that checking the
    /// same, unchanged payload again is free. False (and nothing recorded) when the fast pass flags anything.
    public static func verify(_ m: inout ModelPayload) -> Bool {
        if m.elementsVerified { return true }
        guard elementsLookValid(m) else { return false }
        m.elementsVerified = true
        return true
    }

    /// Strictly increasing and (hence, checking the last one) all below `bound`.
    public static func itemsIncreaseBelow(_ items: [UInt32], _ bound: UInt32) -> Bool {
        items.withUnsafeBufferPointer { p in
            guard let last = p.last else { return true }
            var bad: UInt32 = 0
            var k = 1
            while k < p.count {
                bad |= p[k] <= p[k &- 1] ? 1 : 0
                k &+= 1
            }
            return bad == 0 && last < bound
        }
    }

    /// Every float finite.
    public static func allFinite(_ values: [Float]) -> Bool {
        values.withUnsafeBufferPointer { allFinite($0) }
    }

    /// Every float of `p` finite.
    public static func allFinite(_ p: UnsafeBufferPointer<Float>) -> Bool {
        p.withMemoryRebound(to: UInt32.self) { bits in
            var acc: UInt32 = 0
            for b in bits { acc |= (b & 0x7F80_0000) &+ 0x0080_0000 }
            return acc & 0x8000_0000 == 0
        }
    }

    /// Every float finite with a clear sign bit.
    public static func weightsLookValid(_ weights: [Float]) -> Bool {
        weights.withUnsafeBufferPointer { p in
            p.withMemoryRebound(to: UInt32.self) { bits in
                var acc: UInt32 = 0
                for b in bits { acc |= b | ((b & 0x7F80_0000) &+ 0x0080_0000) }
                return acc & 0x8000_0000 == 0
            }
        }
    }
}
