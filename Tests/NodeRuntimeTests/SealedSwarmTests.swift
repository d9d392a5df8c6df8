import Foundation
import GossipProtocol
import RecommenderModel
import SocketTransport
import SwarmCrypto
import Testing
@testable import NodeRuntime
import PeerCore

/// Wire v3 on real loopback sockets: a keyed swarm ignores whoever lacks the key, and rotates its key while running.
@Suite(.serialized) struct SealedSwarmTests {
    static let keyA = SwarmKey(bytes: [UInt8](repeating: 0xA1, count: 32))!
    static let keyB = SwarmKey(bytes: [UInt8](repeating: 0xB2, count: 32))!

    func drops(_ snaps: [PeerSnapshot], _ reason: String) -> Int {
        snaps.map { $0.stats.dropped[reason, default: 0] }.reduce(0, +)
    }

    /// Two outsiders, one holding another key and one running insecure, each seeded with a member's address and
    /// pointed (static mode) at a member to push to: neither is admitted, neither completes an exchange (no pull: no
    /// reply ever comes back), neither learns a member; every frame they send is dropped and counted by reason.
    @Test func aProcessWithoutTheKeyCanNeitherJoinPushNorPull() throws {
        let log = SyntheticData.planted(users: 10, items: 40, groups: 2, perUser: 10, seed: 3)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
        let lines = Lines()
        let ringA = try Keyring(primary: Self.keyA)
        let members = try makeSwarm(split: split, count: 8, period: .milliseconds(40), lines: lines) { $0.keyring = ringA }
        let (config, gossip, membership) = fastTestSettings(period: .milliseconds(40))
        var outsiders: [PeerNode] = []
        for (k, ring) in [(8, try Keyring(primary: Self.keyB)), (9, nil)] as [(Int, Keyring?)] {
            let learner = PeerLearner(shard: split.shards[k], config: config, tableSeed: 99, peerSeed: UInt64(k) + 1)
            var pc = PeerConfig(id: PeerID(UInt64(k)), listen: .loopbackIPv4(port: 0), seeds: [members[0].address],
                                swarmID: 7, seed: UInt64(k) * 31 + 5)
            pc.peer.gossip = gossip
            pc.peer.membership = membership
            pc.keyring = ring
            let node = try PeerNode(config: pc, learner: learner, merge: WeightedAverageMerge(), target: NodeHost.sharedTarget,
                                    sink: { lines.add($0) })
            node.useStaticNeighbours([Neighbour(PeerID(1), members[1].address), Neighbour(PeerID(2), members[2].address)])
            outsiders.append(node)
        }
        let host = NodeHost(peers: members + outsiders, log: try LineWriter(path: nil))
        host.start()
        Thread.sleep(forTimeInterval: 3)
        let snaps = host.snapshots()
        host.stop()
        let inside = snaps.filter { $0.peer.raw < 8 }, outside = snaps.filter { $0.peer.raw >= 8 }
        #expect(inside.count == 8 && outside.count == 2)
        for s in outside {
            #expect(s.livePeers == 0, "outsider \(s.peer) learned \(s.livePeers) members")
            #expect(s.counters.exchangesCompleted == 0, "outsider \(s.peer) completed an exchange")
            #expect(s.stats.completedWith.isEmpty)
            #expect(s.counters.exchangesFailed > 0, "outsider \(s.peer) tried to push")
        }
        for s in inside {
            #expect(s.livePeers <= 7, "member \(s.peer) admitted an outsider (\(s.livePeers) live)")
            #expect(s.counters.exchangesCompleted > 0, "member \(s.peer) exchanged with the swarm")
        }
        // Every outsider frame that arrived was dropped by reason: another key's as unknown_key, clear ones as unsealed.
        #expect(drops(inside, "unknown_key") > 0)
        #expect(drops(inside, "unsealed") > 0)
        #expect(drops(inside, "bad_tag") == 0)
    }

    /// A running swarm of 10 rotates A -> B in the three steps (install B, switch primary to B, remove A), each
    /// applied to every peer through the API SIGHUP calls; afterwards every peer still completes exchanges, no frame
    /// failed its tag or named an unknown key, and a peer that kept only A is shut out.
    @Test func aKeyRotationAcrossARunningSwarmKeepsEveryPeerExchanging() throws {
        let log = SyntheticData.planted(users: 11, items: 40, groups: 2, perUser: 10, seed: 7)
        let split = try LeaveOneOutSplit.make(from: log, negatives: 15, seed: 1)
        let nodes = try makeSwarm(split: split, count: 10, period: .milliseconds(40), lines: Lines()) {
            $0.keyring = try! Keyring(primary: Self.keyA)
        }
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        Thread.sleep(forTimeInterval: 1.0)
        #expect(host.updateKeyring(try Keyring(primary: Self.keyA, accepted: [Self.keyB])) == 10)   // 1. install B
        Thread.sleep(forTimeInterval: 0.5)
        #expect(host.updateKeyring(try Keyring(primary: Self.keyB, accepted: [Self.keyA])) == 10)   // 2. seal with B
        Thread.sleep(forTimeInterval: 0.5)
        #expect(host.updateKeyring(try Keyring(primary: Self.keyB)) == 10)                          // 3. remove A
        let atRotation = host.snapshots()
        // A peer that kept only the old key, pushing to three members.
        let (config, gossip, membership) = fastTestSettings(period: .milliseconds(40))
        var pc = PeerConfig(id: PeerID(10), listen: .loopbackIPv4(port: 0), seeds: [nodes[0].address], swarmID: 7, seed: 11)
        pc.peer.gossip = gossip
        pc.peer.membership = membership
        pc.keyring = try Keyring(primary: Self.keyA)
        let stale = try PeerNode(config: pc, learner: PeerLearner(shard: split.shards[10], config: config, tableSeed: 99, peerSeed: 11),
                                 merge: WeightedAverageMerge(), target: NodeHost.sharedTarget, sink: { _ in })
        stale.useStaticNeighbours((0..<3).map { Neighbour(PeerID(UInt64($0)), nodes[$0].address) })
        let staleHost = NodeHost(peers: [stale], log: try LineWriter(path: nil))
        staleHost.start()
        Thread.sleep(forTimeInterval: 1.5)
        let after = host.snapshots()
        let staleSnap = staleHost.snapshots()
        staleHost.stop()
        host.stop()
        #expect(staleSnap.first?.counters.exchangesCompleted == 0, "a peer with only the removed key still exchanged")
        #expect(staleSnap.first?.livePeers == 0)
        let before = Dictionary(uniqueKeysWithValues: atRotation.map { ($0.peer, $0.counters.exchangesCompleted) })
        #expect(after.count == 10)
        for s in after {
            #expect(s.counters.exchangesCompleted > before[s.peer, default: 0],
                    "peer \(s.peer) completed no exchange after the rotation")
            #expect(s.livePeers >= 5, "peer \(s.peer) sees \(s.livePeers) live members after the rotation")
        }
        #expect(drops(after, "bad_tag") == 0)
        // Only the stale peer's frames name an unknown key (the removed A); none of the rotating swarm's did.
        #expect(drops(atRotation, "unknown_key") == 0)
        #expect(drops(after, "unknown_key") > 0)
    }

    @Test func theNonceEpochIsPersistedAndOnlyGrows() throws {
        let dir = NSTemporaryDirectory() + "gossiprec-epoch-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let origin = NonceSequence.clockOrigin
        #expect(try NonceEpochFile.next(directory: dir, now: origin) == 1)
        #expect(try NonceEpochFile.next(directory: dir, now: origin) == 2)          // same second: still higher
        #expect(try NonceEpochFile.next(directory: dir, now: origin + 1_000) == 1_000)  // the clock floor
        #expect(try NonceEpochFile.next(directory: dir, now: origin + 5) == 1_001)   // a clock set back: still higher
        let text = try String(contentsOfFile: dir + "/" + NonceEpochFile.fileName, encoding: .utf8)
        #expect(text == "1001\n")
        #expect(try NonceEpochFile.next(directory: nil, now: origin + 77) == 77)      // no directory: the clock alone
        try "garbage".write(toFile: dir + "/" + NonceEpochFile.fileName, atomically: true, encoding: .utf8)
        #expect(throws: NonceEpochFile.Failure.self) { try NonceEpochFile.next(directory: dir, now: origin) }
    }
}
