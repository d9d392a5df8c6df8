/// Rounds the copies a peer sends to 16 or 8 bits per value, with error feedback (issue 20's compact exchange).
///
/// For every row it sends, the quantizer rounds the row's value plus what rounding took from that row last time
/// (`residual`), and keeps the new rounding error: y = x + r, sent q = Q(y), r ← y − q. So what a peer has sent of a
/// row, summed over its sends, differs from what it would have sent unrounded by the last residual only (the errors
/// telescope); without feedback a row that stays put would be rounded the same way every time and the swarm's
/// consensus would settle on the rounded value. The weights travel unrounded (f32), so push-sum's weight mass is exact;
/// the value mass a receiver gets differs from the sender's by the weight times the rounding error, which the feedback
/// returns on the next send of that row.
///
/// Bounds (tested): at `.i8` each value of a sent row is within scale/2 of y, scale = max|y| / 127 over the row; at
/// `.f16` within half a Float16 ulp of y (relative 2^-11). So |r| stays within half a step of the row's own scale and
/// cannot grow over rounds (y includes the old r, and the new r is at most half a step of y). Values beyond Float16's
/// range (±65504; an honest table never gets near) are sent clamped, and their residual is dropped rather than kept.
///
/// Malicious key holders: nothing here is read from the wire; a receiver merges a rounded copy like any other. A
/// copy that claims `.i8` is checked by the decoder (finite, non-negative scales; integers in -127...127; a zero scale
/// only with zero integers), and its values pass the same screen as f32 values.
public struct RowQuantizer: Sendable {
    public let precision: RowPrecision
    /// What rounding took from each row of the table the last time it was sent (`itemCount × width`, row-major);
    /// empty until the first send.
    public private(set) var residual: [Float] = []

    public init(precision: RowPrecision) { self.precision = precision }

    /// `payload` rounded to `precision` (unchanged at `.f32`), its rows' residuals updated. The payload's rows must
    /// come from one table of `payload.itemCount` rows of `payload.dimension` floats (the sender's own copy).
    public mutating func quantize(_ payload: ModelPayload) -> ModelPayload {
        guard precision != .f32, !payload.items.isEmpty else { return payload }
        let w = Int(payload.dimension)
        let tableSize = Int(payload.itemCount) * w
        if residual.count != tableSize { residual = [Float](repeating: 0, count: tableSize) }
        let rows = payload.items.count
        var values = payload.values
        var scales = [Float](repeating: 0, count: precision == .i8 ? rows : 0)
        residual.withUnsafeMutableBufferPointer { R in
            values.withUnsafeMutableBufferPointer { V in
                for (r, item) in payload.items.enumerated() {
                    let y = V.baseAddress! + r * w, res = R.baseAddress! + Int(item) * w
                    // y = x + r_old, kept in the residual's place; after rounding y to q, the residual becomes (x + r_old) - q.
                    for k in 0..<w { y[k] += res[k]; res[k] = y[k] }
                    switch precision {
                    case .f16: Self.roundF16(y, count: w)
                    case .i8: scales[r] = Self.roundI8(y, count: w)
                    case .f32: break
                    }
                    for k in 0..<w { res[k] -= y[k] }
                    // Only clamping (beyond Float16's range) leaves more than half its top ulp (16): drop that excess.
                    if precision == .f16 { for k in 0..<w where abs(res[k]) > 16 { res[k] = 0 } }
                }
            }
        }
        var out = ModelPayload(itemCount: payload.itemCount, dimension: payload.dimension, round: payload.round,
                               items: payload.items, weights: payload.weights, values: values,
                               precision: precision, scales: scales)
        _ = ModelChecks.verify(&out)
        return out
    }

    /// The largest |residual| of any row (for tests and diagnostics).
    public var maxResidual: Float { residual.reduce(0) { max($0, abs($1)) } }

    /// Rounds `count` floats in place to the nearest Float16 (clamped to ±65504).
    static func roundF16(_ y: UnsafeMutablePointer<Float>, count: Int) {
        for k in 0..<count {
            let v = min(max(y[k], -65504), 65504)
            y[k] = Float(Float16(v))
        }
    }

    /// Rounds `count` floats in place to scale × q, q an integer in -127...127, scale = max|y| / 127; returns the scale
    /// (0 for an all-zero row, which then stays all zero).
    static func roundI8(_ y: UnsafeMutablePointer<Float>, count: Int) -> Float {
        var m: Float = 0
        for k in 0..<count { m = max(m, abs(y[k])) }
        var scale = m / 127
        // All zeros, or so tiny that the scale underflows: the row travels as zeros.
        guard scale > 0, m.isFinite else {
            for k in 0..<count { y[k] = 0 }   // +0.0
            return 0
        }
        // Near Float's largest magnitude, scale × 127 may round past it: step the scale down until it does not.
        while !(scale * 127).isFinite { scale = scale.nextDown }
        let inv = 127 / m
        if inv.isFinite {
            for k in 0..<count { y[k] = scale * (min(max((y[k] * inv).rounded(.toNearestOrEven), -127), 127) + 0) }   // + 0: no -0
        } else {   // m subnormal: 127 / m overflows
            for k in 0..<count { y[k] = scale * (min(max((y[k] / scale).rounded(.toNearestOrEven), -127), 127) + 0) }
        }
        return scale
    }

    /// The integer q of `value` at `scale`, or nil when `value` is not bit for bit `scale * Float(q)` for an integer q
    /// in -127...127 (what the decoder computes; -0.0 is not, +0.0 is). The wire encoder's check.
    public static func i8Code(_ value: Float, scale: Float) -> Int8? {
        if scale == 0 { return value.bitPattern == 0 ? 0 : nil }
        let q = (value / scale).rounded(.toNearestOrEven) + 0
        guard q >= -127, q <= 127, (scale * q).bitPattern == value.bitPattern else { return nil }
        return Int8(q)
    }
}
