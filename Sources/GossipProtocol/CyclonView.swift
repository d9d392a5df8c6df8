import RecommenderModel

/// The partial view of the Cyclon peer-sampling service (Voulgaris, Gavidia and van Steen, "CYCLON: Inexpensive
/// Membership Management for Unstructured P2P Overlays", J. Network and Systems Management 13(2), 2005).
///
/// A view holds at most `capacity` (c) descriptors of other peers, each with an age counted in shuffles. One
/// shuffle, started by peer P every shuffle period (`MembershipInstance` drives it):
///  1. P ages every entry by one;
///  2. P picks the oldest neighbour Q and l - 1 other random neighbours, removes Q from its view, and sends Q the
///     l - 1 entries plus a fresh entry for itself (age 0);
///  3. Q answers with up to l random entries of its own view, then merges what it received;
///  4. P merges the reply.
/// Merging drops entries for the receiver itself and for peers already in the view (keeping the younger age),
/// fills empty slots first, then overwrites the entries that were sent away in this exchange. Shuffling with the
/// oldest neighbour bounds how long a dead peer's descriptor survives, and the in-degree of every live peer stays
/// close to c, so a uniform draw from the view is close to a uniform draw from the live membership.
///
/// This is a pure value: randomness comes in as an `inout SplitMix64`.
public struct CyclonView: Hashable, Sendable {
    /// The entries, in insertion order. Never contains duplicates of a peer.
    public private(set) var entries: [ViewEntry] = []
    /// `entries[i].peer.raw`, kept in step with `entries` by every mutation (cheap lookups).
    private var ids: [UInt64] = []
    /// c: the most entries the view holds.
    public let capacity: Int

    public init(capacity: Int) {
        precondition(capacity >= 1, "a Cyclon view needs capacity >= 1, got \(capacity)")
        self.capacity = capacity
    }

    public var count: Int { entries.count }
    public var isEmpty: Bool { entries.isEmpty }
    public var isFull: Bool { entries.count >= capacity }

    public func contains(_ peer: PeerID) -> Bool { index(of: peer) != nil }

    /// Position of `peer`'s entry (a plain loop on raw ids: this runs on every shuffle, also in debug builds).
    func index(of peer: PeerID) -> Int? {
        let raw = peer.raw
        return ids.withUnsafeBufferPointer { buffer -> Int? in
            for i in 0..<buffer.count where buffer[i] == raw { return i }
            return nil
        }
    }

    /// Adds `entry` if its peer is absent and there is room. Returns whether it was added.
    @discardableResult
    public mutating func insert(_ entry: ViewEntry) -> Bool {
        guard !isFull, !contains(entry.peer) else { return false }
        entries.append(entry)
        ids.append(entry.peer.raw)
        return true
    }

    /// Removes `peer`'s entry, if any, and returns it.
    @discardableResult
    public mutating func remove(_ peer: PeerID) -> ViewEntry? {
        guard let i = index(of: peer) else { return nil }
        ids.remove(at: i)
        return entries.remove(at: i)
    }

    /// Removes every entry whose peer satisfies `drop`.
    public mutating func removeAll(where drop: (PeerID) -> Bool) {
        entries.removeAll { drop($0.peer) }
        ids = entries.map(\.peer.raw)
    }

    /// Updates the address of `peer`'s entry (a peer that restarted on another port).
    public mutating func updateAddress(of peer: PeerID, to address: PeerAddress) {
        if let i = index(of: peer), entries[i].address != address { entries[i].address = address }
    }

    /// Step 1 of a shuffle: every entry ages by one (saturating).
    public mutating func incrementAges() {
        for i in entries.indices where entries[i].age < .max { entries[i].age += 1 }
    }

    /// The entry with the highest age (the first such in insertion order on ties).
    public var oldest: ViewEntry? {
        var best: ViewEntry?
        for e in entries where best == nil || e.age > best!.age { best = e }
        return best
    }

    /// Up to `count` distinct entries drawn uniformly without replacement, skipping `excluded`.
    public func sample(_ count: Int, excluding excluded: PeerID? = nil, rng: inout SplitMix64) -> [ViewEntry] {
        var pool = entries.filter { $0.peer != excluded }
        partialShuffle(&pool, first: count, rng: &rng)
        return Array(pool.prefix(count))
    }

    /// Steps 3-4: merge `received` into the view. `sent` are the entries this side shipped in the same exchange;
    /// they are the ones overwritten once the view is full. `accept` filters peers (the membership layer rejects
    /// peers it knows to be dead or does not know at all). Entries for `selfID` are ignored.
    public mutating func merge(received: [ViewEntry], sent: [ViewEntry], selfID: PeerID,
                               accept: (PeerID) -> Bool) {
        var replaceable = sent.map(\.peer.raw)
        for e in received where e.peer.raw != selfID.raw && accept(e.peer) {
            if let i = index(of: e.peer) {
                if e.age < entries[i].age { entries[i].age = e.age }
                continue
            }
            if !isFull {
                entries.append(e)
                ids.append(e.peer.raw)
                continue
            }
            while let victim = replaceable.first {
                replaceable.removeFirst()
                if let i = index(of: PeerID(victim)) {
                    entries[i] = e
                    ids[i] = e.peer.raw
                    break
                }
            }
        }
    }
}

/// Moves a uniform random choice of `first` elements to the front of `a` (Fisher-Yates, stopped early). Written
/// out rather than `Array.shuffle(using:)` so that traces do not depend on the standard library's algorithm.
func partialShuffle<T>(_ a: inout [T], first: Int, rng: inout SplitMix64) {
    let n = a.count
    guard n > 1 else { return }
    for i in 0..<min(first, n - 1) {
        let j = i + rng.next(below: n - i)
        if i != j { a.swapAt(i, j) }
    }
}
