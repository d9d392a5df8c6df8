import GossipProtocol
import PeerCore
import RecommenderModel
import Testing

/// The test-only attack harness (`PeerSettings.attack`): what each kind sends instead of the honest copy.
struct AttackHarnessTests {
    static let t0 = Instant(nanoseconds: 0)

    /// The copy `peer` pushes in its next round (nil without an exchange).
    static func push(of peer: inout PeerInstance, at s: Int64 = 0) -> ModelPayload? {
        let now = Instant(nanoseconds: s * 1_000_000_000)
        let out = peer.onTimer(.gossip(.round), now: now)
        for e in out {
            if case .exchange(let seq, .modelPush(_, let m, _), _, _) = e {
                _ = peer.onExchangeFailed(seq: seq, now: now)   // nobody answers: free the slot for the next round
                return m
            }
        }
        return nil
    }

    /// An honest and a malicious peer over the same shard and seeds (so that the honest copy is what the liar starts from).
    static func pair(_ attack: Attack) -> (honest: PeerInstance, liar: PeerInstance) {
        var s = PeerSettings()
        s.attack = attack
        var honest = PeerInstanceTests.peer(0), liar = PeerInstanceTests.peer(0, settings: s)
        _ = honest.onStart(seeds: [], now: t0)
        _ = liar.onStart(seeds: [], now: t0)
        PeerInstanceTests.introduce(&honest, members: [1])
        PeerInstanceTests.introduce(&liar, members: [1])
        return (honest, liar)
    }

    static var catalogue: Int { PeerInstanceTests.split.itemCount }
    static let bound = PushSumVoteMerge(decay: 0.9).honestWeightBound(maxSlowdown: 10)!

    @Test func weightInflationClaimsTenToTheThirtyOnFlippedValues() throws {
        var (h, m) = Self.pair(Attack(kind: .weightInflation))
        let honest = try #require(Self.push(of: &h)), lie = try #require(Self.push(of: &m))
        #expect(lie.items == honest.items && lie.weights.allSatisfy { $0 == 1e30 })
        #expect(lie.values == honest.values.map { $0 * -3 })
        #expect(m.isMalicious && !h.isMalicious)
    }

    @Test func clockForgeryAndHugeValues() throws {
        var (h, m) = Self.pair(Attack(kind: .clockForgery))
        let honest = try #require(Self.push(of: &h)), lie = try #require(Self.push(of: &m))
        #expect(lie.round == .max && lie.weights == honest.weights && lie.values == honest.values.map { $0 * -3 })
        var (_, big) = Self.pair(Attack(kind: .hugeValues))
        let huge = try #require(Self.push(of: &big))
        #expect(huge.values.allSatisfy { abs($0) == 3e38 } && huge.values.first == 3e38 && huge.values.dropFirst().first == -3e38)
    }

    @Test func noiseIsSharedByAllMaliciousPeersAndTheSparseKindSendsFewRows() throws {
        let dense = Attack(kind: .noiseDense, sharedSeed: 99)
        var (_, a) = Self.pair(dense)
        var s = PeerSettings()
        s.attack = dense
        var b = PeerInstanceTests.peer(1, settings: s)
        _ = b.onStart(seeds: [], now: Self.t0)
        PeerInstanceTests.introduce(&b, members: [0])
        let x = try #require(Self.push(of: &a)), y = try #require(Self.push(of: &b))
        #expect(x.items.count == Self.catalogue && x.weights.allSatisfy { abs($0 - Self.bound) < 1e-3 })
        // Same noise, each scaled by its own copy's RMS: the two rows point the same way.
        let w = Int(x.dimension)
        let dot = (0..<w).map { x.values[$0] * y.values[$0] }.reduce(0, +)
        #expect(dot > 0)
        var (_, sparse) = Self.pair(Attack(kind: .noiseSparse, maxRows: 5, popularity: (0..<Self.catalogue).map { $0 }, sharedSeed: 99))
        let z = try #require(Self.push(of: &sparse))
        #expect(z.items.count <= 5 && z.items.count >= 1 && z.items == z.items.sorted())
    }

    @Test func oppositeDensePushesAgainstTheBenignMove() throws {
        var (h, m) = Self.pair(Attack(kind: .oppositeDense, strength: 10))
        // Before its first round the estimate is its (initial) table: the benign move since then is its own first round.
        let initial = h.learner.items
        let lie = try #require(Self.push(of: &m))
        let now = m.learner.items, d = now.dimension
        for i in [0, 5] {
            for k in 0..<d {
                let e0 = initial.factors[i * d + k], e = now.factors[i * d + k]
                #expect(abs(lie.values[i * (d + 1) + k] - (e0 - 10 * (e - e0))) < 1e-4)
            }
        }
        #expect(lie.weights.allSatisfy { abs($0 - Self.bound) < 1e-3 })
        _ = Self.push(of: &h)
    }

    @Test func promotionRewritesOnlyTheTargetRow() throws {
        let popularity = (0..<Self.catalogue).map { $0 % 7 }
        let target = 3
        var (h, m) = Self.pair(Attack(kind: .promotion, target: target, popularity: popularity))
        let honest = try #require(Self.push(of: &h)), lie = try #require(Self.push(of: &m))
        let w = Int(lie.dimension)
        for (r, i) in lie.items.enumerated() where Int(i) != target {
            #expect(Array(lie.values[r * w..<(r + 1) * w]) == Array(honest.values[r * w..<(r + 1) * w]))
        }
        let r = try #require(lie.items.firstIndex(of: UInt32(target)))
        #expect(abs(lie.weights[r] - Self.bound) < 1e-3)
        #expect(Array(lie.values[r * w..<(r + 1) * w]) != Array(honest.values[r * w..<(r + 1) * w]))
    }

    @Test func aFreeRiderSendsNothingAndNeverTrains() throws {
        var (_, m) = Self.pair(Attack(kind: .freeRider))
        for k in 0..<6 { _ = Self.push(of: &m, at: Int64(k)) }
        let lie = try #require(Self.push(of: &m, at: 6))
        #expect(lie.items.isEmpty && lie.values.isEmpty)
        #expect(m.learner.round == 0 && !m.gossip.learns)
    }

    @Test func maliciousPeersAreDrawnFromTheSeedSchemeNeverAmongTheSeeds() {
        let a = SeedScheme.attackers(count: 47, of: 943, seed: 1, excluding: [0, 1, 2])
        #expect(a == SeedScheme.attackers(count: 47, of: 943, seed: 1, excluding: [0, 1, 2]))
        #expect(a.count == 47 && Set(a).count == 47 && a == a.sorted() && !a.contains { $0 < 3 })
        #expect(a != SeedScheme.attackers(count: 47, of: 943, seed: 2, excluding: [0, 1, 2]))
        #expect(SeedScheme.attackers(count: 10, of: 5, seed: 1).count == 5)
    }

    @Test func attacksAreValidated() {
        #expect(Attack(kind: .promotion, target: 10_000).validate(catalogueSize: 40) != nil)
        #expect(Attack(kind: .weightInflation).validate(catalogueSize: 40) == nil)
        #expect(Attack(kind: .noiseSparse, popularity: [1, 2]).validate(catalogueSize: 40) != nil)
        var s = PeerSettings()
        s.attack = Attack(kind: .promotion, target: 10_000)
        #expect(s.validate(catalogueSize: 40) != nil)
    }
}
