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
    /// Item indices of the rows present, strictly increasing.
    public var items: [UInt32] { didSet { elementsVerified = false } }
    /// One weight per row.
    public var weights: [Float] { didSet { elementsVerified = false } }
    /// `items.count * dimension` floats, row-major.
    public var values: [Float] { didSet { elementsVerified = false } }
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
}

extension ModelPayload {
    /// Equality of contents (`elementsVerified` is a cache, not content).
    public static func == (a: ModelPayload, b: ModelPayload) -> Bool {
        a.itemCount == b.itemCount && a.dimension == b.dimension && a.round == b.round && a.items == b.items
            && a.weights == b.weights && a.values == b.values
    }

    public func hash(into h: inout Hasher) {
        h.combine(itemCount); h.combine(dimension); h.combine(round); h.combine(items); h.combine(weights); h.combine(values)
    }
}
