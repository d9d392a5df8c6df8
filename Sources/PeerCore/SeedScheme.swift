import RecommenderModel

/// Every seed of a swarm, derived from the one seed a run is given (`--seed`), defined once and used by both
/// drivers, so that a node and a simulation given the same seed draw the same initial table and the same user
/// vectors, and a simulation replays bit for bit.
///
/// | what | seed |
/// |---|---|
/// | the shared initial item table | `seed ^ 0x7AB1E` (`table`) |
/// | user u's vector and training generator | `seed * 1_000_003 + u` (`user`) |
/// | peer u's start number k (1 for its first start) | `SplitMix64(seed ^ u * φ64 ^ k * 0xC2B2AE3D).next()` (`peer`) |
/// | that start's generators, one per purpose | `Purposes(peerSeed:)` |
/// | the simulator's layout (base latencies, start times) | `seed ^ 0x0E75EED` (`simulatedLayout`) |
/// | the simulator's network as seen by peer u's sends (jitter, loss) | `seed ^ 0x0E75EED ^ u * φ64` (`simulatedNetwork`) |
/// | which peers are malicious (attack harness) | `seed ^ 0xBAD5EED` (`attackers`) |
/// | the malicious peers' shared noise (attack harness) | `seed ^ 0xBAD2015E` (`attackNoise`) |
///
/// A restarted peer draws new protocol generators (a new start number) but keeps its learner's own generator,
/// which its checkpoint carries.
public enum SeedScheme {
    /// The seed of the initial item table every fresh peer of the swarm starts from.
    public static func table(_ seed: UInt64) -> UInt64 { seed ^ 0x7AB1E }

    /// The seed of user `user`'s vector and training generator.
    public static func user(_ seed: UInt64, _ user: Int) -> UInt64 { seed &* 1_000_003 &+ UInt64(user) }

    /// The peer seed of user `user`'s `start`-th start (1, 2, ...).
    public static func peer(_ seed: UInt64, user: Int, start: UInt32) -> UInt64 {
        var r = SplitMix64(seed: seed ^ UInt64(user) &* 0x9E37_79B9_7F4A_7C15 ^ UInt64(start) &* 0xC2B2_AE3D)
        return r.next()
    }

    /// The simulator's layout: base latencies and start times (a property of the simulated swarm, not of a peer).
    public static func simulatedLayout(_ seed: UInt64) -> UInt64 { seed ^ 0x0E7_5EED }

    /// The simulated network's generator for what peer `user` sends (latency jitter, datagram loss); it lives as
    /// long as the simulated link, across the peer's restarts.
    public static func simulatedNetwork(_ seed: UInt64, user: Int) -> UInt64 {
        seed ^ 0x0E7_5EED ^ UInt64(user) &* 0x9E37_79B9_7F4A_7C15
    }

    /// The generator that draws a swarm's malicious peers (`attackers(count:of:seed:excluding:)`, test-only harness).
    public static func attackers(_ seed: UInt64) -> UInt64 { seed ^ 0xBAD_5EED }

    /// The seed all malicious peers of a swarm share (`Attack.sharedSeed`: the L kinds' common noise).
    public static func attackNoise(_ seed: UInt64) -> UInt64 { seed ^ 0xBAD2_015E }

    /// `count` distinct malicious peers among `0..<peers`, never one in `excluding` (the join seeds), drawn with the
    /// `attackers` generator; increasing. Fewer when there are not enough candidates.
    public static func attackers(count: Int, of peers: Int, seed: UInt64, excluding: Set<Int> = []) -> [Int] {
        var candidates = (0..<peers).filter { !excluding.contains($0) }
        var rng = SplitMix64(seed: attackers(seed))
        candidates.shuffle(using: &rng)
        return Array(candidates.prefix(max(0, count))).sorted()
    }

    /// One generator per purpose, from a peer seed: drawing more for one purpose (a fault injected, a partner
    /// picked) never shifts another's stream.
    public struct Purposes: Sendable, Hashable {
        /// `MembershipInstance`: probe order, relays, Cyclon shuffles, timers' jitter.
        public var membership: UInt64
        /// `GossipLearningInstance`: round jitter (the instance mixes in its own constant).
        public var gossip: UInt64
        /// `ClientGraphInstance`: decoys, refresh order and jitter (the instance mixes in its own constant).
        public var clientGraph: UInt64
        /// `PartnerPolicy`: static-mode neighbour picks.
        public var partners: UInt64
        /// The sample of live members a checkpoint keeps.
        public var checkpoint: UInt64
        /// The node's fault injection (drops, duplicates, delay jitter).
        public var faults: UInt64
        /// A malicious peer's choices (attack harness: the sparse kinds' rows).
        public var attack: UInt64

        public init(peerSeed s: UInt64) {
            membership = s
            gossip = s
            clientGraph = s
            partners = s ^ 0x9A27_4E35_0D1C_B8F3
            checkpoint = s ^ 0xC4EC_4B01_5A7E_D211
            faults = s ^ 0xFA17
            attack = s ^ 0xA77A_C4ED
        }
    }
}
