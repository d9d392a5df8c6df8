/// Membership updates waiting to be piggy-backed on messages (SWIM's infection-style dissemination): at most one
/// per member, served fewest transmissions first and, among equals, oldest first; each is dropped after its
/// retransmit limit.
///
/// Every ping, pingReq and ack asks for updates, so `take` must not scan the whole queue: a swarm that is forming
/// queues one update per member. Updates sit in one FIFO bucket per transmission count; taking one moves it to
/// the next bucket. Replaced and removed updates leave stale bucket entries behind, skipped (and dropped) when
/// reached. `take` costs O(updates taken + stale entries passed), not O(queue).
struct RumourQueue: Sendable {
    struct Pending: Sendable {
        var update: MemberUpdate
        var transmissions: Int
        /// Enqueue order (unique, increasing).
        var order: UInt64
    }

    private struct Entry: Sendable {
        var order: UInt64
        var peer: PeerID
    }

    private struct Bucket: Sendable {
        var entries: [Entry] = []
        var head = 0
    }

    private var pending: [PeerID: Pending] = [:]
    private var buckets: [Bucket] = []
    private var counter: UInt64 = 0

    var isEmpty: Bool { pending.isEmpty }
    var count: Int { pending.count }
    func contains(_ peer: PeerID) -> Bool { pending[peer] != nil }

    /// Queues `update`, replacing any pending update about the same member (its transmissions start again at 0).
    mutating func enqueue(_ update: MemberUpdate) {
        counter += 1
        pending[update.peer] = Pending(update: update, transmissions: 0, order: counter)
        append(Entry(order: counter, peer: update.peer), toBucket: 0)
    }

    mutating func remove(_ peer: PeerID) {
        pending[peer] = nil
        if pending.isEmpty { buckets.removeAll(keepingCapacity: true) }
    }

    /// Up to `maximum` updates, fewest transmissions first, then oldest first, never the one about `skip`. Each
    /// taken update counts one transmission and leaves the queue once it has been sent `retransmitLimit` times.
    mutating func take(_ maximum: Int, skipping skip: PeerID?, retransmitLimit: Int) -> [MemberUpdate] {
        var out: [MemberUpdate] = []
        guard !pending.isEmpty, maximum > 0 else { return out }
        var moved: [(bucket: Int, entry: Entry)] = []
        var t = 0
        while t < buckets.count && out.count < maximum {
            var retained: [Entry] = []
            var k = buckets[t].head
            let end = buckets[t].entries.count
            while k < end && out.count < maximum {
                let e = buckets[t].entries[k]
                k += 1
                guard var p = pending[e.peer], p.order == e.order, p.transmissions == t else { continue }   // stale
                if e.peer == skip { retained.append(e); continue }
                out.append(p.update)
                p.transmissions += 1
                if p.transmissions >= retransmitLimit {
                    pending[e.peer] = nil
                } else {
                    pending[e.peer] = p
                    moved.append((t + 1, e))
                }
            }
            // Skipped entries go back just before the first unvisited one, in their order.
            k -= retained.count
            for (j, e) in retained.enumerated() { buckets[t].entries[k + j] = e }
            buckets[t].head = k
            if k == buckets[t].entries.count {
                buckets[t].entries.removeAll(keepingCapacity: true)
                buckets[t].head = 0
            } else if k > 256 && 2 * k > buckets[t].entries.count {
                buckets[t].entries.removeFirst(k)
                buckets[t].head = 0
            }
            t += 1
        }
        for m in moved { append(m.entry, toBucket: m.bucket) }
        if pending.isEmpty { buckets.removeAll(keepingCapacity: true) }
        return out
    }

    /// Keeps each bucket in enqueue order. Entries almost always arrive in order; one that was skipped (the
    /// update about the destination itself) moves on after younger ones and is inserted at its place.
    private mutating func append(_ e: Entry, toBucket t: Int) {
        while buckets.count <= t { buckets.append(Bucket()) }
        guard let last = buckets[t].entries.last, last.order > e.order else {
            buckets[t].entries.append(e)
            return
        }
        var lo = buckets[t].head, hi = buckets[t].entries.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if buckets[t].entries[mid].order < e.order { lo = mid + 1 } else { hi = mid }
        }
        buckets[t].entries.insert(e, at: lo)
    }
}
