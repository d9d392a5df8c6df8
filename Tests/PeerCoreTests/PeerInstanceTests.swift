import GossipProtocol
import PeerCore
import RecommenderModel
import Testing

/// Decisions of one peer, driven by hand (no network, no clock): what it does on start and stop, which partners
/// it picks in each mode, where datagrams go, what a checkpoint holds.
struct PeerInstanceTests {
    static let split: LeaveOneOutSplit = {
        let log = SyntheticData.planted(users: 12, items: 40, groups: 2, perUser: 10, seed: 3)
        return try! LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
    }()

    static func address(_ i: Int) -> PeerAddress { PeerAddress(ipv4: 0x7F00_0001, port: UInt16(7000 + i)) }

    static func peer(_ i: Int, settings: PeerSettings = .init(), seed: UInt64 = 42) -> PeerInstance {
        var config = TrainingConfig()
        config.dimension = 4
        let learner = PeerLearner(shard: split.shards[i], config: config, tableSeed: 9, peerSeed: UInt64(i))
        return PeerInstance(id: PeerID(UInt64(i)), address: address(i), learner: learner, merge: PushSumVoteMerge(decay: 0.9),
                            settings: settings, seed: seed)
    }

    static let t0 = Instant(nanoseconds: 0)

    /// Tells `peer` about members 1...n by an ack-free route: a join reply listing them alive.
    static func introduce(_ peer: inout PeerInstance, members: [Int]) {
        let updates = members.map { MemberUpdate(peer: PeerID(UInt64($0)), address: address($0), status: .alive(incarnation: 0)) }
        _ = peer.onDatagram(.joinReply(members: updates), from: PeerID(UInt64(members[0])), address: address(members[0]), now: t0)
    }

    static func exchanges(_ effects: [PeerEffect]) -> [PeerID] {
        effects.compactMap { if case .exchange(_, _, let p, _) = $0 { return p } else { return nil } }
    }

    @Test func aFirstPeerStartsAloneAndAnyOtherJoinsThroughItsSeeds() {
        var first = Self.peer(0)
        let alone = first.onStart(seeds: [], now: Self.t0)
        #expect(!alone.contains { if case .send = $0 { return true } else { return false } })
        var second = Self.peer(1)
        let joining = second.onStart(seeds: [Self.address(0)], now: Self.t0)
        let joins = joining.compactMap { e -> PeerAddress? in
            if case .send(.join, let to) = e { return to } else { return nil }
        }
        #expect(joins == [Self.address(0)])
        #expect(joining.contains { if case .schedule(.gossip(.round), _) = $0 { return true } else { return false } })
    }

    @Test func inStaticModeEveryPartnerIsANeighbourAndLiveOnesArePreferred() {
        var s = PeerSettings()
        s.partners = .fixed([Neighbour(PeerID(3), Self.address(3)), Neighbour(PeerID(5), Self.address(5))])
        var p = Self.peer(0, settings: s)
        _ = p.onStart(seeds: [], now: Self.t0)
        Self.introduce(&p, members: [1, 2, 3, 4, 5, 6])
        var seen: Set<PeerID> = []
        for k in 0..<60 {
            let out = p.onTimer(.gossip(.round), now: Instant(nanoseconds: Int64(k) * 1_000_000_000))
            for e in out { if case .exchange(let seq, _, let peer, _) = e { seen.insert(peer); _ = p.onExchangeFailed(seq: seq, now: Self.t0) } }
        }
        #expect(seen == [PeerID(3), PeerID(5)])
        // Peer 5 reported dead: only 3 is picked.
        let dead = MemberUpdate(peer: PeerID(5), address: Self.address(5), status: .dead(incarnation: 0))
        _ = p.onDatagram(.ping(seq: 1, updates: [dead]), from: PeerID(1), address: Self.address(1), now: Self.t0)
        seen = []
        for k in 60..<100 {
            let out = p.onTimer(.gossip(.round), now: Instant(nanoseconds: Int64(k) * 1_000_000_000))
            for e in out { if case .exchange(let seq, _, let peer, _) = e { seen.insert(peer); _ = p.onExchangeFailed(seq: seq, now: Self.t0) } }
        }
        #expect(seen == [PeerID(3)])
    }

    @Test func inRandomModePartnersComeFromMembership() {
        var p = Self.peer(0)
        _ = p.onStart(seeds: [], now: Self.t0)
        Self.introduce(&p, members: [1, 2, 3])
        var seen: Set<PeerID> = []
        for k in 0..<40 {
            let out = p.onTimer(.gossip(.round), now: Instant(nanoseconds: Int64(k) * 1_000_000_000))
            for e in out { if case .exchange(let seq, _, let peer, _) = e { seen.insert(peer); _ = p.onExchangeFailed(seq: seq, now: Self.t0) } }
        }
        #expect(seen == [PeerID(1), PeerID(2), PeerID(3)])
    }

    @Test func interestsGoToTheClientGraphOnlyInItsModeAndModelsNeverTravelByDatagram() {
        var plain = Self.peer(0)
        _ = plain.onStart(seeds: [], now: Self.t0)
        let interests = Message.interests(epoch: 1, catalogueSize: UInt32(Self.split.itemCount), items: [1, 2, 3], wantsReply: true)
        #expect(plain.onDatagram(interests, from: PeerID(1), address: Self.address(1), now: Self.t0).contains { e in
            if case .report(.dropped("client_graph_off")) = e { return true } else { return false }
        })
        let model = Message.modelPush(seq: 1, model: plain.gossip.snapshot(), wantsReply: true)
        #expect(plain.onDatagram(model, from: PeerID(1), address: Self.address(1), now: Self.t0).contains { e in
            if case .report(.dropped("model_on_udp")) = e { return true } else { return false }
        })

        var s = PeerSettings()
        var cg = ClientGraphSettings()
        cg.neighbours = 2
        s.partners = .clientGraph(cg)
        var graph = Self.peer(0, settings: s)
        _ = graph.onStart(seeds: [], now: Self.t0)
        let out = graph.onDatagram(interests, from: PeerID(1), address: Self.address(1), now: Self.t0)
        // Asked for a reply: the peer answers with its own disclosure.
        #expect(out.contains { if case .send(.interests, let to) = $0 { return to == Self.address(1) } else { return false } })
        #expect(graph.clientGraph?.knownPeers == [PeerID(1)])
    }

    @Test func aPushIsMergedAndAnsweredAndTheReplyCompletesTheExchange() {
        var a = Self.peer(0), b = Self.peer(1)
        _ = a.onStart(seeds: [], now: Self.t0)
        _ = b.onStart(seeds: [Self.address(0)], now: Self.t0)
        Self.introduce(&a, members: [1])
        let out = a.onTimer(.gossip(.round), now: Self.t0)
        guard case .exchange(_, let push, let to, _)? = out.first(where: { if case .exchange = $0 { return true } else { return false } }) else {
            Issue.record("no exchange started"); return
        }
        #expect(to == PeerID(1))
        let answer = b.onStreamMessage(push, from: PeerID(0), inbound: true, now: Self.t0)
        guard case .reply(let reply)? = answer.first else { Issue.record("no reply: \(answer)"); return }
        #expect(b.gossip.counters.mergesApplied == 1)
        let done = a.onStreamMessage(reply, from: PeerID(1), inbound: false, now: Self.t0)
        #expect(done.contains { if case .report(.exchangeCompleted(with: PeerID(1))) = $0 { return true } else { return false } })
        // Only a push may open a stream.
        let stray = b.onStreamMessage(reply, from: PeerID(0), inbound: true, now: Self.t0)
        #expect(stray.count == 1 && { if case .report(.dropped("unexpected_on_stream")) = stray[0] { return true } else { return false } }())
    }

    @Test func aGracefulStopLeavesThenSavesAndACrashDoesNeither() {
        var s = PeerSettings()
        s.checkpointPeriod = .seconds(30)
        s.checkpointPeers = 2
        var p = Self.peer(0, settings: s)
        let start = p.onStart(seeds: [], now: Self.t0)
        #expect(start.contains { if case .schedule(.checkpoint, .seconds(30)) = $0 { return true } else { return false } })
        Self.introduce(&p, members: [1, 2, 3, 4])
        let tick = p.onTimer(.checkpoint, now: Self.t0)
        guard case .checkpoint(let saved)? = tick.first else { Issue.record("no checkpoint: \(tick)"); return }
        #expect(saved.known.count == 2)
        #expect(tick.contains { if case .schedule(.checkpoint, _) = $0 { return true } else { return false } })

        var graceful = p
        let leave = graceful.onStop(graceful: true, now: Self.t0)
        let lastSend = leave.lastIndex { if case .send = $0 { return true } else { return false } }
        let save = leave.firstIndex { if case .checkpoint = $0 { return true } else { return false } }
        #expect(lastSend != nil && save != nil && lastSend! < save!, "leave messages first, then the checkpoint: \(leave)")
        #expect(graceful.onTimer(.gossip(.round), now: Self.t0).isEmpty, "a stopped peer does nothing")

        var crashed = p
        #expect(crashed.onStop(graceful: false, now: Self.t0).isEmpty)
    }

    @Test func aPushWithNoRowsGetsNoTableBack() {
        var p = Self.peer(0)
        _ = p.onStart(seeds: [], now: Self.t0)
        let table = p.gossip.snapshot()
        let empty = ModelPayload(itemCount: table.itemCount, dimension: table.dimension, round: 0, items: [], weights: [], values: [])
        let out = p.onStreamMessage(.modelPush(seq: 5, model: empty, wantsReply: true), from: PeerID(9), inbound: true, now: Self.t0)
        #expect(out.count == 1)
        guard case .reply(.modelDecline(seq: 5, _))? = out.first else { Issue.record("expected a decline, got \(out)"); return }
    }

    @Test func theSameSeedAndEventsGiveTheSameDecisions() {
        func run() -> [String] {
            var s = PeerSettings()
            s.partners = .fixed((1...5).map { Neighbour(PeerID(UInt64($0)), Self.address($0)) })
            var p = Self.peer(0, settings: s, seed: 7)
            var trace: [String] = []
            _ = p.onStart(seeds: [Self.address(1)], now: Self.t0)
            for k in 0..<20 {
                for e in p.onTimer(.gossip(.round), now: Instant(nanoseconds: Int64(k) * 1_000_000)) {
                    if case .exchange(let seq, _, let peer, _) = e { trace.append("\(seq)->\(peer.raw)") }
                    if case .schedule(let t, let after) = e { trace.append("\(t)@\(after)") }
                }
            }
            return trace
        }
        #expect(run() == run())
    }

    @Test func everySeedOfASwarmComesFromOneScheme() {
        #expect(SeedScheme.table(5) == 5 ^ 0x7AB1E)
        #expect(SeedScheme.user(5, 3) == 5 &* 1_000_003 &+ 3)
        #expect(SeedScheme.peer(5, user: 3, start: 1) != SeedScheme.peer(5, user: 3, start: 2))
        let purposes = SeedScheme.Purposes(peerSeed: 11)
        #expect(Set([purposes.membership, purposes.partners, purposes.checkpoint, purposes.faults]).count == 4)
    }
}
