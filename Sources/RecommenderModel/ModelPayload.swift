/// A copy of (part of) an item-embedding table, as it travels between peers. Rows are sparse: only the items
/// listed in `items` are present, each with `dimension` floats in `values` (row-major) and a per-row
/// `weight` (how much training information the sender's row embodies; the merge rule decides how to use it).
/// When the model has item biases, each row carries `dimension` = embedding size + 1 floats, the bias last.
public struct ModelPayload: Hashable, Sendable {
    /// Items in the whole catalogue (the table's height), so that a receiver can reject a mismatched swarm.
    public var itemCount: UInt32 { didSet { elementsVerified = false } }
    public var dimension: UInt16
    /// The sender's model clock when this copy was taken (`PeerLearner.clock`: a Lamport clock, +1 per local
    /// epoch and max'd with every copy merged in), so that a receiver can tell how stale the copy is.
    public var round: UInt64
    /// Item indices of the rows present, strictly increasing. Changing them makes the copy a plain `.f32` one again.
    public var items: [UInt32] { didSet { elementsVerified = false; dropPrecision() } }
    /// One weight per row.
    public var weights: [Float] { didSet { elementsVerified = false } }
    /// `items.count * dimension` floats, row-major. Changing them makes the copy a plain `.f32` one again (the
    /// changed values need not be representable at the old precision).
    public var values: [Float] { didSet { elementsVerified = false; dropPrecision() } }
    /// The precision every value is exactly representable at (`RowPrecision`): `.f32` for any copy; `.f16` when every
    /// value is a Float16; `.i8` when row r's values are all `scales[r] * Float(q)` for integers q in -127...127. Set by
    /// `RowQuantizer` and by the wire decoder; the encoder uses the compact layout it allows (and refuses a copy whose
    /// values do not keep the promise).
    public internal(set) var precision: RowPrecision = .f32
    /// One scale per row for `.i8` (finite, not negative), empty otherwise.
    public internal(set) var scales: [Float] = []
    /// True once `ModelChecks.verify` has found every element valid (items increasing below `itemCount`, weights
    /// finite and not negative, values finite); any change to those fields clears it. Set by the builders of
    /// payloads (`ItemTable.payload`, right after copying, while the rows are still in cache) and by the wire
    /// decoder, so the later checks of the same copy (`WireCodec.validate` on encoding, `ItemTable.accepts` before
    /// a merge) skip their pass over its elements. Not part of equality or hashing.
    public internal(set) var elementsVerified = false

    public init(itemCount: UInt32, dimension: UInt16, round: UInt64, items: [UInt32], weights: [Float], values: [Float]) {
        self.itemCount = itemCount; self.dimension = dimension; self.round = round
        self.items = items; self.weights = weights; self.values = values
    }

    /// A copy whose values keep the promise of `precision` (see there); the wire decoder's and `RowQuantizer`'s way in.
    public init(itemCount: UInt32, dimension: UInt16, round: UInt64, items: [UInt32], weights: [Float], values: [Float],
                precision: RowPrecision, scales: [Float]) {
        self.init(itemCount: itemCount, dimension: dimension, round: round, items: items, weights: weights, values: values)
        self.precision = precision
        self.scales = precision == .i8 ? scales : []
    }

    private mutating func dropPrecision() {
        if precision != .f32 { precision = .f32; scales = [] }
    }
}

/// How many bits a copy's values travel in (`ModelPayload.precision`; wire: the compact model layout).
public enum RowPrecision: UInt8, CaseIterable, Hashable, Sendable {
    /// 32-bit floats, as computed.
    case f32 = 0
    /// IEEE half precision (11 significant bits).
    case f16 = 1
    /// 8-bit integers in -127...127 times one f32 scale per row.
    case i8 = 2

    /// 32, 16 or 8.
    public var bits: Int {
        switch self { case .f32: 32; case .f16: 16; case .i8: 8 }
    }

    /// The precision of `bits` (32, 16, 8), or nil.
    public init?(bits: Int) {
        switch bits { case 32: self = .f32; case 16: self = .f16; case 8: self = .i8; default: return nil }
    }
}

extension ModelPayload {
    /// Equality of contents (`elementsVerified` is a cache, not content).
    public static func == (a: ModelPayload, b: ModelPayload) -> Bool {
        a.itemCount == b.itemCount && a.dimension == b.dimension && a.round == b.round && a.items == b.items
            && a.weights == b.weights && a.values == b.values && a.precision == b.precision && a.scales == b.scales
    }

    public func hash(into h: inout Hasher) {
        h.combine(itemCount); h.combine(dimension); h.combine(round); h.combine(items); h.combine(weights); h.combine(values); h.combine(precision); h.combine(scales)
    }
}
