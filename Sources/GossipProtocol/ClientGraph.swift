import RecommenderModel

// MARK: - Settings, timers, directives

/// How a partner is drawn among the top-k neighbours when the peer does not explore (`PartnerPolicy`, PeerCore).
public enum NeighbourSelection: String, Hashable, Sendable, CaseIterable {
    /// Probability proportional to similarity: the closest neighbours are met most often, as DFedRec weights
    /// neighbours by similarity, but every top-k neighbour keeps being met.
    case similarityProportional
    /// Uniform over the top-k (the graph decides who, not how often).
    case uniform
}

/// Settings of the client-level graph on one peer.
public struct ClientGraphSettings: Hashable, Sendable {
    /// k: neighbours kept (the top-k by similarity).
    public var neighbours: Int = 10
    /// ε: probability that a round (`PartnerPolicy`, PeerCore) picks a uniformly random known live peer instead of a neighbour,
    /// so the graph does not freeze into cliques and newcomers get met (and scored).
    public var exploration: Double = 0.1
    public var selection: NeighbourSelection = .similarityProportional
    /// Mean time between refreshes (re-disclose if our items changed; send our disclosure to peers that lack
    /// it or whose answer was lost).
    public var refreshPeriod: Duration = .seconds(30)
    /// Each refresh period is drawn from refreshPeriod × [1 - jitter, 1 + jitter].
    public var jitter: Double = 0.25
    /// Most disclosures sent per refresh (bounds the UDP traffic of a peer that knows many peers).
    public var disclosuresPerRefresh: Int = 8
    /// Smallest aggregation scale `trust(of:)` returns (for unscored or dissimilar peers).
    public var minTrust: Float = 0.1
    /// Most peers remembered (scored or not); beyond it the least similar non-neighbour is forgotten.
    public var maxKnownPeers: Int = 1_024
    /// What this peer discloses.
    public var disclosure = DisclosureSettings()
    public init() {}

    /// A message naming the first bad field, or nil.
    public func validate(catalogueSize: Int? = nil) -> String? {
        if neighbours < 1 { return "client-graph neighbours (k) must be >= 1, got \(neighbours)" }
        if !(0...1).contains(exploration) { return "client-graph exploration must be in 0...1, got \(exploration)" }
        if refreshPeriod <= .zero { return "client-graph refresh period must be positive" }
        if !(0...0.9).contains(jitter) { return "client-graph jitter must be in 0...0.9, got \(jitter)" }
        if disclosuresPerRefresh < 1 { return "client-graph disclosures per refresh must be >= 1" }
        if !(minTrust > 0 && minTrust <= 1) { return "client-graph min merge scale must be in (0, 1], got \(minTrust)" }
        if maxKnownPeers < neighbours { return "client-graph max known peers must be >= neighbours (k)" }
        return disclosure.validate(catalogueSize: catalogueSize)
    }
}

public enum ClientGraphTimer: Hashable, Sendable {
    case refresh
}

/// What a `ClientGraphInstance` asks its shell to do.
public enum ClientGraphDirective: Hashable, Sendable {
    /// Send `message` (an `.interests`) over UDP to `address`, best effort.
    case send(Message, to: PeerID, address: PeerAddress)
    /// Call `onTimer(timer, now:)` once, no earlier than `after` from now.
    case schedule(ClientGraphTimer, after: Duration)
    /// The top-k changed; the new neighbours, most similar first (for logs and the shell's partner choice).
    case neighboursChanged([PeerID])
}

/// Counters for the peer's log.
public struct ClientGraphCounters: Hashable, Sendable {
    public var disclosuresSent = 0
    public var disclosuresReceived = 0
    /// Received disclosures ignored: another catalogue size, unsorted or out of range, or older than one held.
    public var disclosuresIgnored = 0
    public var neighbourChanges = 0
    public var explorations = 0
    public var peersForgotten = 0
    public init() {}
}

/// One peer's view of the client graph: its top-k neighbours and its similarity with each
/// (`ClientGraphInstance.exportEdges()`; SwarmSpec's `ClientGraphTopology` combines them into a topology file).
public struct ClientGraphExport: Hashable, Sendable {
    public struct Edge: Hashable, Sendable {
        public var to: PeerID
        public var similarity: Float
        public init(to: PeerID, similarity: Float) { self.to = to; self.similarity = similarity }
    }
    public var peer: PeerID
    /// Most similar first.
    public var edges: [Edge]
    public init(peer: PeerID, edges: [Edge]) { self.peer = peer; self.edges = edges }
}

// MARK: - The instance

/// The client-level graph of one peer, as a pure value: after DFedRec (Li, Lin, Liang, Pan, Yang, Ming,
/// "Decentralized federated recommendation with privacy-aware structured client-level graph", ACM TIST 2024).
///
/// Each peer discloses its interests (`InterestDisclosure`: its real items mixed with decoys, never ratings)
/// to the peers it meets through peer sampling (`onPeerSeen`), scores every disclosure it receives against its
/// own *real* items (`onInterests`), and keeps the k most similar peers as neighbours. Gossip partners are
/// then drawn from those neighbours (`PartnerPolicy` in PeerCore), with an ε of uniform exploration, and merges can be
/// scaled by similarity (`trust(of:)`).
///
/// **Similarity** is the cosine between our real set R and their disclosure D (Salton's set cosine),
/// |R ∩ D| / sqrt(|R| |D|). It is chosen over Jaccard because with decoys D ≈ R' ∪ decoys, |D| ≈ (1+ρ)|R'|,
/// so when peers use the same ρ the cosine is the true cosine scaled by a common 1/sqrt(1+ρ), plus the
/// decoys' chance overlap |R| d/N: the ranking of peers, which is all the graph uses, is preserved in
/// expectation. Only peers with similarity > 0 become neighbours.
///
/// **Exchange.** A disclosure goes to each peer once per epoch of ours (`onPeerSeen`, with `wantsReply` when
/// we have not scored that peer yet), and the receiver answers with its own (without `wantsReply`), so one
/// round trip scores the pair both ways. Refreshes retry peers that never answered and push a new epoch (our
/// items changed, `updateRealItems`) to everyone, neighbours first, `disclosuresPerRefresh` at a time.
///
/// **Contract for a shell.** `onStart` once; feed peer-sampling news to `onPeerSeen` (every Cyclon/SWIM
/// member-up or view entry is fine: repeats are cheap) and `onPeerDead`; deliver `.interests` datagrams to
/// `onMessage`/`onInterests` with the frame's sender; fire timers; `now` never decreases.
public struct ClientGraphInstance: Sendable {
    /// What this peer remembers about another.
    struct Known: Sendable {
        var address: PeerAddress
        /// Cosine similarity of our real set with its latest disclosure; nil until one arrives.
        var similarity: Float?
        /// The epoch of that disclosure.
        var theirEpoch: UInt32?
        /// Our epoch last sent to it (nil: never).
        var sentEpoch: UInt32?
        var lastHeard: Instant
    }

    public let id: PeerID
    public let settings: ClientGraphSettings
    public let catalogueSize: Int
    /// Our real items, sorted (never sent).
    public private(set) var realItems: [UInt32]
    /// What we currently disclose.
    public private(set) var disclosure: InterestDisclosure
    /// Numbers our disclosures; bumped when the real items change.
    public private(set) var epoch: UInt32 = 1
    /// The top-k, most similar first.
    public private(set) var neighbours: [PeerID] = []
    public private(set) var counters = ClientGraphCounters()
    var known: [PeerID: Known] = [:]
    var rng: SplitMix64
    var itemsChanged = false
    var started = false

    /// `realItems`: the peer's training items (each below `catalogueSize`; order and duplicates do not matter).
    public init(id: PeerID, realItems: some Sequence<UInt32>, catalogueSize: Int,
                settings: ClientGraphSettings = .init(), seed: UInt64) {
        precondition(settings.validate(catalogueSize: catalogueSize) == nil, settings.validate(catalogueSize: catalogueSize) ?? "")
        self.id = id
        self.settings = settings
        self.catalogueSize = catalogueSize
        self.realItems = Array(Set(realItems)).sorted()
        rng = SplitMix64(seed: seed ^ 0xC11E_47A9_2A9B)
        disclosure = InterestDisclosure.make(realItems: self.realItems, catalogueSize: catalogueSize,
                                             settings: settings.disclosure, rng: &rng)
    }

    /// Convenience for a `UserShard`'s training interactions (dense Int32 item ids).
    public init(id: PeerID, shard: UserShard, settings: ClientGraphSettings = .init(), seed: UInt64) {
        self.init(id: id, realItems: shard.train.map { UInt32($0.item) }, catalogueSize: shard.itemCount,
                  settings: settings, seed: seed)
    }

    // MARK: Events

    /// Starts the refresh timer (first after a random fraction of a period, to spread peers out).
    public mutating func onStart(now: Instant) -> [ClientGraphDirective] {
        guard !started else { return [] }
        started = true
        return [.schedule(.refresh, after: settings.refreshPeriod.scaled(by: rng.nextUnitDouble()))]
    }

    /// Our real items changed (new interactions): the next refresh builds a new disclosure (keeping the old
    /// decoys, see `InterestDisclosure`) under a new epoch and sends it out.
    public mutating func updateRealItems(_ items: some Sequence<UInt32>) {
        let new = Array(Set(items)).sorted()
        guard new != realItems else { return }
        precondition(new.allSatisfy { Int($0) < catalogueSize }, "a real item is not below the catalogue size \(catalogueSize)")
        realItems = new
        itemsChanged = true
        // Similarities were against the old real set; they are re-scored as disclosures arrive, but the old
        // values are kept meanwhile (better than none).
    }

    /// Peer sampling met `peer` (at `address`). Sends our disclosure if it does not have this epoch's.
    public mutating func onPeerSeen(_ peer: PeerID, address: PeerAddress, now: Instant) -> [ClientGraphDirective] {
        guard peer != id else { return [] }
        var out: [ClientGraphDirective] = []
        note(peer, address: address, now: now, &out)
        if let k = known[peer], k.sentEpoch != epoch {
            send(to: peer, wantsReply: k.similarity == nil, &out)
        }
        return out
    }

    /// Any message; only `.interests` is handled.
    public mutating func onMessage(_ message: Message, from: PeerID, address: PeerAddress, now: Instant) -> [ClientGraphDirective] {
        guard case .interests(let epoch, let catalogue, let items, let wantsReply) = message else { return [] }
        return onInterests(from: from, address: address, epoch: epoch, catalogueSize: catalogue, items: items,
                           wantsReply: wantsReply, now: now)
    }

    /// `peer` disclosed `items`. Scores it against our real items, updates the top-k, and answers with our
    /// disclosure if asked and it lacks this epoch's. Ignores (and counts) disclosures for another catalogue,
    /// malformed lists and epochs older than the one held.
    public mutating func onInterests(from peer: PeerID, address: PeerAddress, epoch theirs: UInt32,
                                     catalogueSize: UInt32, items: [UInt32], wantsReply: Bool,
                                     now: Instant) -> [ClientGraphDirective] {
        guard peer != id else { return [] }
        counters.disclosuresReceived += 1
        guard Int(catalogueSize) == self.catalogueSize, items.count <= Message.maxDisclosedItems,
              Self.isStrictlyIncreasing(items, below: catalogueSize) else {
            counters.disclosuresIgnored += 1
            return []
        }
        var out: [ClientGraphDirective] = []
        note(peer, address: address, now: now, &out)
        guard var k = known[peer] else { return out }
        if let held = k.theirEpoch, theirs < held {
            counters.disclosuresIgnored += 1
            return out
        }
        k.similarity = Self.similarity(real: realItems, disclosed: items)
        k.theirEpoch = theirs
        known[peer] = k
        if wantsReply || k.sentEpoch != epoch {
            // A peer asking again already got our current epoch once, and lost it: answer anyway.
            send(to: peer, wantsReply: false, &out)
        }
        if mayChangeNeighbours(peer, similarity: k.similarity!) { recomputeNeighbours(&out) }
        return out
    }

    /// `peer` left or was declared dead: forget it (it leaves the neighbour set; if it comes back it is
    /// scored afresh).
    public mutating func onPeerDead(_ peer: PeerID) -> [ClientGraphDirective] {
        guard known.removeValue(forKey: peer) != nil else { return [] }
        var out: [ClientGraphDirective] = []
        recomputeNeighbours(&out)
        return out
    }

    public mutating func onTimer(_ timer: ClientGraphTimer, now: Instant) -> [ClientGraphDirective] {
        switch timer {
        case .refresh:
            var out: [ClientGraphDirective] = []
            if itemsChanged {
                itemsChanged = false
                disclosure = InterestDisclosure.make(realItems: realItems, catalogueSize: catalogueSize,
                                                     settings: settings.disclosure, rng: &rng, previous: disclosure)
                epoch &+= 1
            }
            // Who lacks our current epoch or never answered: neighbours first, then unscored, then the rest.
            var due = known.filter { $0.value.sentEpoch != epoch || $0.value.similarity == nil }.map(\.key).sorted()
            InterestDisclosure.shuffle(&due, &rng)
            let rank = Dictionary(uniqueKeysWithValues: neighbours.enumerated().map { ($1, $0) })
            due.sort { a, b in
                func tier(_ p: PeerID) -> Int { rank[p] != nil ? 0 : (known[p]?.similarity == nil ? 1 : 2) }
                return tier(a) < tier(b)
            }
            // A reply is wanted from peers never scored, and from all after our real items changed (their
            // similarity was computed against the old set).
            for peer in due.prefix(settings.disclosuresPerRefresh) {
                send(to: peer, wantsReply: known[peer]?.similarity == nil || known[peer]?.sentEpoch != epoch, &out)
            }
            let next = settings.refreshPeriod.scaled(by: 1 + settings.jitter * (2 * rng.nextUnitDouble() - 1))
            out.append(.schedule(.refresh, after: next))
            return out
        }
    }

    // MARK: Queries

    /// Counts a round whose partner was drawn for exploration (`PartnerPolicy` draws partners; this instance keeps
    /// the count with its other counters).
    public mutating func noteExploration() { counters.explorations += 1 }

    /// Every known live peer, sorted by id.
    public var knownPeers: [PeerID] { known.keys.sorted() }

    /// Where `peer` listens, if known.
    public func address(of peer: PeerID) -> PeerAddress? { known[peer]?.address }

    /// Our similarity with `peer`'s latest disclosure, if one arrived.
    public func similarity(of peer: PeerID) -> Float? { known[peer]?.similarity }

    /// A similarity-based aggregation scale in [minTrust, 1] (DFedRec weights neighbours by similarity):
    /// minTrust + (1 − minTrust) × sim / best, where best is the top neighbour's similarity; the
    /// best neighbour gets 1, an unscored or zero-similarity peer gets minTrust.
    public func trust(of peer: PeerID) -> Float {
        let lo = settings.minTrust
        guard let s = known[peer]?.similarity, s > 0, let top = neighbours.first,
              let best = known[top]?.similarity, best > 0 else { return lo }
        return min(1, max(lo, lo + (1 - lo) * s / best))
    }

    /// This peer's out-edges: its top-k with their similarities (for `ClientGraphTopology`).
    public func exportEdges() -> ClientGraphExport {
        ClientGraphExport(peer: id, edges: neighbours.map { ClientGraphExport.Edge(to: $0, similarity: known[$0]?.similarity ?? 0) })
    }

    // MARK: Internals

    /// Set cosine |R ∩ D| / sqrt(|R| |D|) of two strictly increasing lists; 0 when either is empty.
    public static func similarity(real: [UInt32], disclosed: [UInt32]) -> Float {
        guard !real.isEmpty, !disclosed.isEmpty else { return 0 }
        let overlap = sortedIntersectionCount(real, disclosed)
        return Float(Double(overlap) / (Double(real.count) * Double(disclosed.count)).squareRoot())
    }

    static func isStrictlyIncreasing(_ items: [UInt32], below n: UInt32) -> Bool {
        var previous: UInt32? = nil
        for i in items {
            if i >= n { return false }
            if let p = previous, i <= p { return false }
            previous = i
        }
        return true
    }

    /// Records that `peer` is live at `address`, making room if the table is full.
    mutating func note(_ peer: PeerID, address: PeerAddress, now: Instant, _ out: inout [ClientGraphDirective]) {
        if var k = known[peer] {
            k.address = address
            k.lastHeard = now
            known[peer] = k
            return
        }
        if known.count >= settings.maxKnownPeers {
            // Forget the least similar non-neighbour (unscored counts as least), oldest first on ties.
            let keep = Set(neighbours)
            let victim = known.filter { !keep.contains($0.key) }.min { a, b in
                let sa = a.value.similarity ?? -1, sb = b.value.similarity ?? -1
                if sa != sb { return sa < sb }
                if a.value.lastHeard != b.value.lastHeard { return a.value.lastHeard < b.value.lastHeard }
                return a.key < b.key
            }
            guard let victim else { return }
            known.removeValue(forKey: victim.key)
            counters.peersForgotten += 1
        }
        known[peer] = Known(address: address, similarity: nil, theirEpoch: nil, sentEpoch: nil, lastHeard: now)
    }

    mutating func send(to peer: PeerID, wantsReply: Bool, _ out: inout [ClientGraphDirective]) {
        guard var k = known[peer] else { return }
        k.sentEpoch = epoch
        known[peer] = k
        counters.disclosuresSent += 1
        out.append(.send(.interests(epoch: epoch, catalogueSize: UInt32(catalogueSize), items: disclosure.items,
                                    wantsReply: wantsReply), to: peer, address: k.address))
    }

    /// False when `peer`'s new similarity certainly leaves the top-k as it is: it is not a neighbour, the
    /// top-k is full, and it ranks below the weakest neighbour. Saves the full re-sort for most disclosures.
    func mayChangeNeighbours(_ peer: PeerID, similarity s: Float) -> Bool {
        if neighbours.contains(peer) { return true }
        guard s > 0 else { return false }
        guard neighbours.count == settings.neighbours, let last = neighbours.last,
              let weakest = known[last]?.similarity else { return true }
        return s > weakest || (s == weakest && peer < last)
    }

    /// The top-k by similarity (> 0), ties by peer id; reports a change.
    mutating func recomputeNeighbours(_ out: inout [ClientGraphDirective]) {
        let scored = known.compactMap { p, k -> (PeerID, Float)? in
            guard let s = k.similarity, s > 0 else { return nil }
            return (p, s)
        }
        let top = scored.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.0 < $1.0 }.prefix(settings.neighbours).map(\.0)
        if top != neighbours {
            neighbours = top
            counters.neighbourChanges += 1
            out.append(.neighboursChanged(top))
        }
    }
}

extension ClientGraphInstance {
    /// For experiments and tests without a network: peer `a` of `peers` (peer i has PeerID i) meets peer `b`
    /// through peer sampling, and every disclosure and reply this causes is delivered at once, in order, until
    /// quiet. Returns the number of messages delivered.
    @discardableResult
    public static func meet(_ a: Int, _ b: Int, in peers: inout [ClientGraphInstance],
                            address: (Int) -> PeerAddress, now: Instant) -> Int {
        var queue = peers[a].onPeerSeen(PeerID(UInt64(b)), address: address(b), now: now).map { (a, $0) }
        var delivered = 0
        while !queue.isEmpty {
            let (sender, d) = queue.removeFirst()
            guard case .send(let m, let to, _) = d else { continue }
            delivered += 1
            let out = peers[Int(to.raw)].onMessage(m, from: PeerID(UInt64(sender)), address: address(sender), now: now)
            queue += out.map { (Int(to.raw), $0) }
        }
        return delivered
    }
}
