import Testing
import RecommenderModel
@testable import GossipProtocol

// RumourQueue against a plain reference (sort every pending update by transmissions, then enqueue order) under
// random operations: the bucketed queue must hand out exactly the same updates in the same order.

private struct ReferenceQueue {
    var pending: [PeerID: (update: MemberUpdate, transmissions: Int, order: Int)] = [:]
    var counter = 0
    mutating func enqueue(_ u: MemberUpdate) { counter += 1; pending[u.peer] = (u, 0, counter) }
    mutating func remove(_ p: PeerID) { pending[p] = nil }
    mutating func take(_ maximum: Int, skipping skip: PeerID?, retransmitLimit: Int) -> [MemberUpdate] {
        let order = pending.filter { $0.key != skip }.sorted { ($0.value.transmissions, $0.value.order) < ($1.value.transmissions, $1.value.order) }
        var out: [MemberUpdate] = []
        for (peer, p) in order.prefix(max(0, maximum)) {
            out.append(p.update)
            if p.transmissions + 1 >= retransmitLimit { pending[peer] = nil } else { pending[peer]!.transmissions += 1 }
        }
        return out
    }
}

private func update(_ peer: Int, _ incarnation: UInt64) -> MemberUpdate {
    MemberUpdate(peer: PeerID(UInt64(peer)), address: .ipv4(10, 0, UInt8(peer >> 8), UInt8(truncatingIfNeeded: peer), port: 7000),
                 status: .alive(incarnation: incarnation))
}

@Suite struct RumourQueueTests {
    @Test func fewestTransmissionsFirstThenOldest() {
        var q = RumourQueue()
        for p in 1...5 { q.enqueue(update(p, 0)) }
        #expect(q.take(2, skipping: nil, retransmitLimit: 3).map(\.peer.raw) == [1, 2])
        // 3, 4, 5 have not been sent yet, so they come before 1 and 2.
        #expect(q.take(4, skipping: nil, retransmitLimit: 3).map(\.peer.raw) == [3, 4, 5, 1])
        q.enqueue(update(2, 1))   // a newer record about 2 starts again at zero transmissions
        #expect(q.take(2, skipping: nil, retransmitLimit: 3).map { [$0.peer.raw, incarnationOf($0)] } == [[2, 1], [3, 0]])
    }

    @Test func skippedUpdateKeepsItsPlace() {
        var q = RumourQueue()
        for p in 1...4 { q.enqueue(update(p, 0)) }
        #expect(q.take(2, skipping: PeerID(1), retransmitLimit: 5).map(\.peer.raw) == [2, 3])
        #expect(q.take(2, skipping: nil, retransmitLimit: 5).map(\.peer.raw) == [1, 4])
    }

    @Test func droppedAfterRetransmitLimit() {
        var q = RumourQueue()
        q.enqueue(update(7, 0))
        for _ in 0..<3 { #expect(q.take(5, skipping: nil, retransmitLimit: 3).count == 1) }
        #expect(q.isEmpty && q.take(5, skipping: nil, retransmitLimit: 3).isEmpty)
    }

    @Test(arguments: [1, 2, 3] as [UInt64])
    func matchesReferenceUnderRandomOperations(seed: UInt64) {
        var rng = SplitMix64(seed: seed)
        var q = RumourQueue(), ref = ReferenceQueue()
        var incarnation: UInt64 = 0
        for step in 0..<20_000 {
            let peers = 1 + rng.next(below: 300)
            switch rng.next(below: 10) {
            case 0...3:
                incarnation += 1
                let u = update(peers, incarnation)
                q.enqueue(u); ref.enqueue(u)
            case 4:
                q.remove(PeerID(UInt64(peers))); ref.remove(PeerID(UInt64(peers)))
            default:
                let maximum = rng.next(below: 25), limit = 1 + rng.next(below: 12)
                let skip: PeerID? = rng.next(below: 3) == 0 ? PeerID(UInt64(peers)) : nil
                let got = q.take(maximum, skipping: skip, retransmitLimit: limit)
                let want = ref.take(maximum, skipping: skip, retransmitLimit: limit)
                #expect(got == want, "step \(step): max \(maximum) limit \(limit) skip \(String(describing: skip)): got \(got.map(incarnationOf)) want \(want.map(incarnationOf))")
                if got != want { return }
            }
            #expect(q.count == ref.pending.count)
        }
    }
}

private func incarnationOf(_ u: MemberUpdate) -> UInt64 {
    if case .alive(let n) = u.status { return n }
    return .max
}
