import Foundation
import GossipProtocol
import RecommenderModel
import SwarmCrypto
import Testing
@testable import NodeRuntime

@Suite struct IPPrefixTests {
    @Test func parsesCIDRAndBareAddressesAndMasksHostBits() throws {
        let p = try #require(IPPrefix(parsing: "10.77.2.9/24"))
        #expect(p.description == "10.77.2.0/24" && p.length == 24)
        #expect(p.contains([10, 77, 2, 0]) && p.contains([10, 77, 2, 255]))
        #expect(!p.contains([10, 77, 3, 1]) && !p.contains([11, 77, 2, 1]))
        let host = try #require(IPPrefix(parsing: "10.77.1.7"))
        #expect(host.length == 32 && host.contains([10, 77, 1, 7]) && !host.contains([10, 77, 1, 6]))
        let odd = try #require(IPPrefix(parsing: "10.77.0.0/17"))   // a boundary inside a byte
        #expect(odd.contains([10, 77, 127, 1]) && !odd.contains([10, 77, 128, 1]))
        let all = try #require(IPPrefix(parsing: "0.0.0.0/0"))
        #expect(all.contains([1, 2, 3, 4]) && !all.contains(Array(repeating: 0, count: 16)))
    }

    @Test func ipv6PrefixesMatchOnlyIPv6() throws {
        let p = try #require(IPPrefix(parsing: "fd00::/8"))
        #expect(p.description == "fd00::/8" || p.description == "fd00:0:0:0:0:0:0:0/8")
        #expect(p.contains([0xFD, 0x12] + Array(repeating: 0, count: 13) + [1]))
        #expect(!p.contains([0xFE, 0x80] + Array(repeating: 0, count: 14)))
        #expect(!p.contains([253, 0, 0, 1]))
    }

    @Test func rejectsMalformedPrefixes() {
        for bad in ["", "/24", "10.77.2.0/33", "10.77.2/24", "10.77.2.0/", "10.77.2.0/+8", "10.77.2.0/24/1",
                    "host/24", "fd00::/129", "10.77.2.0/ 8"] {
            #expect(IPPrefix(parsing: bad) == nil, "'\(bad)' must be rejected")
        }
    }
}

/// Fault injection on a loopback swarm: delays, drops and duplicates happen, are counted, never stall the peers,
/// and respect the destination filter.
@Suite(.serialized) struct FaultInjectionSwarmTests {
    static let loopback = [IPPrefix(parsing: "127.0.0.0/8")!]

    @Test func delayedDroppedAndDuplicatedTrafficIsCountedAndExchangesStillComplete() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 6, items: 30, groups: 2, perUser: 8, seed: 9),
                                              negatives: 10, seed: 1)
        let nodes = try makeSwarm(split: split, count: 6, period: .milliseconds(40), lines: Lines(), configure: { pc in
            // Round trips of 20-40 ms stay inside the swarm's 60 ms ping timeout (LoopbackSwarmTests.makeSwarm).
            pc.faults.outgoingDelay = .milliseconds(10)
            pc.faults.outgoingDelayJitter = .milliseconds(10)
            pc.faults.dropOutgoingDatagrams = 0.1
            pc.faults.duplicateOutgoingDatagrams = 0.3
            pc.faults.destinations = Self.loopback
        })
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        // Bounded wait until every peer completed an exchange and knows every other peer.
        let snaps = pollSnapshots(host, timeout: 8, interval: 0.25) { snaps in snaps.count == 6 && snaps.allSatisfy { $0.counters.exchangesCompleted > 0 && $0.livePeers >= 5 } }
        host.stop()
        #expect(snaps.count == 6)
        for s in snaps {
            #expect(s.counters.exchangesCompleted > 0, "peer \(s.peer) completed no exchange: \(s.stats.dropped)")
            #expect(s.livePeers >= 5, "peer \(s.peer) sees \(s.livePeers) live peers")
            #expect(!s.stats.completedWith.isEmpty)
        }
        let sum = { (key: String) in snaps.map { $0.stats.faultsInjected[key] ?? 0 }.reduce(0, +) }
        #expect(sum("delayed_datagrams") > 0 && sum("duplicated_datagrams") > 0)
        #expect(sum("delayed_exchanges") > 0 && sum("delayed_replies") > 0)
        #expect(snaps.map { $0.stats.dropped["fault_injected"] ?? 0 }.reduce(0, +) > 0)
        // A delayed reply is written before the stream is half-closed, never after.
        #expect(snaps.allSatisfy { $0.stats.dropped["stream_enqueue_failed"] == nil }, "\(snaps.map(\.stats.dropped))")
    }

    /// In a keyed swarm an injected duplicate is dropped by its receiver's replay window, counted there as
    /// `replayed` (documented on `FaultInjection.duplicateOutgoingDatagrams`): every duplicate a sender counts shows
    /// up as one replay at a receiver, up to those still in flight when the snapshots are taken; without duplicates
    /// nothing is replayed.
    @Test func injectedDuplicatesAreCountedAsReplaysByKeyedReceivers() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 4, items: 20, groups: 2, perUser: 6, seed: 3),
                                              negatives: 8, seed: 1)
        let ring = try Keyring(primary: SwarmKey(bytes: [UInt8](repeating: 0x5A, count: 32))!)
        for duplicate in [0.5, 0] {
            let nodes = try makeSwarm(split: split, count: 4, period: .milliseconds(40), lines: Lines(), configure: { pc in
                pc.keyring = ring
                pc.faults.duplicateOutgoingDatagrams = duplicate
            })
            let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
            host.start()
            Thread.sleep(forTimeInterval: 1.5)
            let snaps = host.snapshots()
            host.stop()
            let duplicated = snaps.map { $0.stats.faultsInjected["duplicated_datagrams"] ?? 0 }.reduce(0, +)
            let replayed = snaps.map { $0.stats.dropped["replayed"] ?? 0 }.reduce(0, +)
            if duplicate > 0 {
                #expect(duplicated > 20)
                #expect(replayed <= duplicated && replayed * 10 >= duplicated * 9, "\(replayed) replayed, \(duplicated) duplicated")
            } else {
                #expect(duplicated == 0 && replayed == 0)
            }
        }
    }

    @Test func faultsForOtherDestinationsLeaveLoopbackTrafficAlone() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 4, items: 20, groups: 2, perUser: 6, seed: 2),
                                              negatives: 8, seed: 1)
        let nodes = try makeSwarm(split: split, count: 4, period: .milliseconds(40), lines: Lines(), configure: { pc in
            pc.faults.outgoingDelay = .milliseconds(30)
            pc.faults.dropOutgoingDatagrams = 1
            pc.faults.duplicateOutgoingDatagrams = 1
            pc.faults.destinations = [IPPrefix(parsing: "10.77.0.0/16")!]
        })
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        let snaps = pollSnapshots(host, timeout: 5, interval: 0.2) { snaps in snaps.count == 4 && snaps.allSatisfy { $0.counters.exchangesCompleted > 0 } }
        host.stop()
        #expect(snaps.count == 4)
        for s in snaps {
            #expect(s.counters.exchangesCompleted > 0)
            #expect(s.stats.faultsInjected.isEmpty, "\(s.stats.faultsInjected)")
            #expect(s.stats.dropped["fault_injected"] == nil)
        }
    }

    @Test func aPeerDroppingEveryDatagramIsNeverHeardFrom() throws {
        let split = try LeaveOneOutSplit.make(from: SyntheticData.planted(users: 5, items: 20, groups: 2, perUser: 6, seed: 4),
                                              negatives: 8, seed: 1)
        let mute = PeerID(4)
        let nodes = try makeSwarm(split: split, count: 5, period: .milliseconds(40), lines: Lines(), configure: { pc in
            if pc.id == mute { pc.faults.dropOutgoingDatagrams = 1 }
        })
        let host = NodeHost(peers: nodes, log: try LineWriter(path: nil))
        host.start()
        // The four healthy peers find each other; the mute one's join never leaves it.
        _ = pollSnapshots(host, timeout: 5, interval: 0.1) { snaps in snaps.count == 5 && snaps.filter { $0.peer != mute }.allSatisfy { $0.livePeers >= 3 } }
        Thread.sleep(forTimeInterval: 0.2)
        let snaps = host.snapshots()
        host.stop()
        let healthy = snaps.filter { $0.peer != mute }
        #expect(healthy.count == 4)
        for s in healthy {
            #expect(s.livePeers == 3, "peer \(s.peer) sees \(s.livePeers) live peers; the mute peer must not be one")
            #expect(s.stats.partners[mute] == nil, "peer \(s.peer) gossiped with the mute peer")
        }
        let m = snaps.first { $0.peer == mute }
        #expect(m?.stats.datagramsSent == 0)
        #expect((m?.stats.dropped["fault_injected"] ?? 0) > 0)
    }
}
