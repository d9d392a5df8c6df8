import Foundation
import Testing
import RecommenderModel
@testable import GossipProtocol

// Pure single-instance tests: events in, directives out, fake clock.

private func pid(_ i: Int) -> PeerID { PeerID(UInt64(i)) }
private func addr(_ i: Int) -> PeerAddress { .ipv4(192, 168, 0, UInt8(i), port: 9000) }
private let t0 = Instant(nanoseconds: 1_000_000_000_000)

/// Instance 0, started, that learned members 1...n from a joinReply sent by member 1.
private func instance(members n: Int, settings: MembershipSettings = MembershipSettings(),
                      seed: UInt64 = 42) -> MembershipInstance {
    var m = MembershipInstance(id: pid(0), address: addr(0), seed: seed, settings: settings)
    _ = m.onJoin(seeds: [addr(1)], now: t0)
    let members = (1...n).map { MemberUpdate(peer: pid($0), address: addr($0), status: .alive(incarnation: 0)) }
    let out = m.onMessage(.joinReply(members: members), from: pid(1), address: addr(1), now: t0)
    #expect(out.filter { if case .memberUp = $0 { return true } else { return false } }.count == n)
    return m
}

private func sends(_ out: [MembershipDirective]) -> [(Message, PeerAddress)] {
    out.compactMap { if case .send(let m, let a) = $0 { return (m, a) } else { return nil } }
}

private func schedules(_ out: [MembershipDirective]) -> [(MembershipTimer, Duration)] {
    out.compactMap { if case .schedule(let t, let d) = $0 { return (t, d) } else { return nil } }
}

private func suspectPing(_ target: Int, incarnation: UInt64 = 0) -> Message {
    .ping(seq: 77, updates: [MemberUpdate(peer: pid(target), address: addr(target),
                                          status: .suspect(incarnation: incarnation))])
}

@Suite struct InstantTests {
    @Test func arithmeticAndOrdering() {
        let a = Instant(nanoseconds: 5)
        let b = a + .milliseconds(1500)
        #expect(b.nanoseconds == 1_500_000_005)
        #expect(b - a == .milliseconds(1500))
        #expect(a - b == .milliseconds(-1500))
        #expect(b - .milliseconds(1500) == a)
        #expect(a < b && !(b < a))
        #expect(Instant(nanoseconds: .max - 1) + .seconds(10) == Instant(nanoseconds: .max))
        #expect(b.description == "1.500000005s")
        #expect(Duration.milliseconds(300).scaled(by: 0.8) == .milliseconds(240))
        #expect(Duration.seconds(2).wholeNanoseconds == 2_000_000_000)
    }
}

@Suite struct MembershipSettingsTests {
    @Test func defaultsAreValidAndBadFieldsAreNamed() {
        #expect(MembershipSettings().validate() == nil)
        var s = MembershipSettings()
        s.shuffleLength = 30
        #expect(s.validate()?.contains("shuffleLength") == true)
        s = MembershipSettings()
        s.pingTimeout = .seconds(2)
        #expect(s.validate()?.contains("pingTimeout") == true)
        s = MembershipSettings()
        s.maxUpdatesPerMessage = 0
        #expect(s.validate()?.contains("maxUpdatesPerMessage") == true)
    }
}

@Suite struct CyclonViewTests {
    private func e(_ i: Int, age: UInt16 = 0) -> ViewEntry { ViewEntry(peer: pid(i), address: addr(i), age: age) }

    @Test func mergeFillsEmptySlotsThenReplacesOnlySentEntries() {
        var v = CyclonView(capacity: 4)
        v.insert(e(1, age: 3)); v.insert(e(2, age: 1)); v.insert(e(3, age: 2))
        // Self (0) and rejected (9) are dropped; 2 is a duplicate (younger age kept); 4 fills the empty slot;
        // 5 replaces a sent entry (3); 6 finds nothing left to replace and is dropped.
        v.merge(received: [e(0), e(9), e(2, age: 0), e(4), e(5), e(6)], sent: [e(3)], selfID: pid(0)) { $0 != pid(9) }
        #expect(v.entries.map(\.peer) == [pid(1), pid(2), pid(5), pid(4)])
        #expect(v.entries[1].age == 0)
        #expect(v.count == v.capacity)
    }

    @Test func oldestAgingAndSampling() {
        var v = CyclonView(capacity: 5)
        for i in 1...5 { v.insert(e(i, age: UInt16(i % 3))) }
        let added = v.insert(e(6))
        #expect(!added)
        v.incrementAges()
        #expect(v.oldest?.peer == pid(2))
        #expect(v.oldest?.age == 3)
        var rng = SplitMix64(seed: 1)
        let s = v.sample(3, excluding: pid(1), rng: &rng)
        #expect(s.count == 3 && Set(s.map(\.peer)).count == 3 && !s.contains { $0.peer == pid(1) })
        #expect(v.remove(pid(3))?.peer == pid(3))
        #expect(!v.contains(pid(3)) && v.count == 4)
    }
}

@Suite struct MembershipInstanceTests {
    @Test func ignoresEverythingBeforeStartAndAfterLeave() {
        var m = MembershipInstance(id: pid(0), address: addr(0), seed: 1)
        #expect(m.onMessage(.ping(seq: 1, updates: []), from: pid(1), address: addr(1), now: t0).isEmpty)
        #expect(m.onTimer(.protocolPeriod, now: t0).isEmpty)
        var j = instance(members: 5)
        let leave = j.onLeave(now: t0)
        #expect(sends(leave).count == 4)
        for (message, _) in sends(leave) {
            guard case .ping(_, let updates) = message else { Issue.record("leave sent \(message)"); continue }
            #expect(updates == [MemberUpdate(peer: pid(0), address: addr(0), status: .dead(incarnation: 0))])
        }
        #expect(j.onMessage(.ping(seq: 1, updates: []), from: pid(1), address: addr(1), now: t0).isEmpty)
        #expect(j.onTimer(.protocolPeriod, now: t0).isEmpty)
    }

    @Test func suspectedMemberRefutesWithHigherIncarnation() {
        var m = instance(members: 3)
        let out = m.onMessage(suspectPing(0, incarnation: 0), from: pid(2), address: addr(2), now: t0)
        #expect(m.incarnation == 1)
        #expect(m.localHealth == 1, "Lifeguard: refuting raises the local health multiplier")
        let refutation = MemberUpdate(peer: pid(0), address: addr(0), status: .alive(incarnation: 1))
        guard let (ack, to) = sends(out).first(where: { if case .ack = $0.0 { return true } else { return false } }),
              case .ack(77, pid(0), let updates) = ack else {
            Issue.record("expected an ack, got \(out)"); return
        }
        #expect(to == addr(2) && updates.contains(refutation))
        // The refutation is also pushed at once to indirectProbeCount (3) distinct members, first in each ping.
        let pushes = sends(out).filter { if case .ping(_, let u) = $0.0 { return u.first == refutation } else { return false } }
        #expect(pushes.count == 3 && Set(pushes.map(\.1)).count == 3, "\(pushes)")
        // A stale accusation does not bump again.
        _ = m.onMessage(suspectPing(0, incarnation: 0), from: pid(3), address: addr(3), now: t0)
        #expect(m.incarnation == 1)
    }

    @Test func startingASuspicionTellsTheAccusedAtOnce() {
        var m = instance(members: 5)
        // A rumour that member 4 is suspect: we start our own suspicion and ping 4 with the accusation first.
        let out = m.onMessage(suspectPing(4), from: pid(2), address: addr(2), now: t0)
        #expect(m.status(of: pid(4)) == .suspect(incarnation: 0))
        let toAccused = sends(out).filter { $0.1 == addr(4) }
        #expect(toAccused.count == 1)
        if case .ping(_, let updates)? = toAccused.first?.0 {
            #expect(updates.first == MemberUpdate(peer: pid(4), address: addr(4), status: .suspect(incarnation: 0)))
        } else {
            Issue.record("expected a ping to the accused, got \(toAccused)")
        }
        // A repeated rumour (a confirmation) does not ping again.
        let again = m.onMessage(suspectPing(4), from: pid(3), address: addr(3), now: t0)
        #expect(sends(again).filter { $0.1 == addr(4) }.isEmpty)
    }

    @Test func joinOverridesDeathAndTellsTheJoinerItsIncarnation() {
        var contact = instance(members: 4)
        let dead = MemberUpdate(peer: pid(3), address: addr(3), status: .dead(incarnation: 5))
        let downs = contact.onMessage(.ping(seq: 1, updates: [dead]), from: pid(2), address: addr(2), now: t0)
        #expect(downs.contains(.memberDown(pid(3), reason: .reportedDead)))
        #expect(contact.status(of: pid(3)) == .dead(incarnation: 5))
        // Peer 3 restarts with lost state (incarnation 0) and joins through us.
        let out = contact.onMessage(.join(address: addr(3), incarnation: 0), from: pid(3), address: addr(3),
                                    now: t0 + .seconds(1))
        #expect(out.contains(.memberUp(pid(3), addr(3))))
        #expect(contact.status(of: pid(3)) == .alive(incarnation: 6))
        guard case .joinReply(let members)? = sends(out).first(where: { $0.1 == addr(3) })?.0 else {
            Issue.record("no joinReply in \(out)"); return
        }
        #expect(members.first == MemberUpdate(peer: pid(3), address: addr(3), status: .alive(incarnation: 6)))
        #expect(members.count == 5)  // joiner, contact, three other live members
        // The restarted peer adopts the incarnation it is re-admitted with.
        var joiner = MembershipInstance(id: pid(3), address: addr(3), seed: 9)
        _ = joiner.onJoin(seeds: [addr(0)], now: t0)
        _ = joiner.onMessage(.joinReply(members: members), from: pid(0), address: addr(0), now: t0 + .seconds(1))
        #expect(joiner.incarnation == 6)
        #expect(!joiner.isAwaitingJoinReply)
        #expect(Set(joiner.livePeers.map(\.peer)) == [pid(0), pid(1), pid(2), pid(4)])
    }

    @Test func messagesToAnAccusedPeerCarryTheAccusationFirst() {
        var m = instance(members: 40)
        _ = m.onMessage(suspectPing(7), from: pid(2), address: addr(2), now: t0)
        let ack = m.onMessage(.ping(seq: 5, updates: []), from: pid(7), address: addr(7), now: t0)
        guard case .ack(5, _, let updates)? = sends(ack).first?.0 else { Issue.record("\(ack)"); return }
        #expect(updates.first == MemberUpdate(peer: pid(7), address: addr(7), status: .suspect(incarnation: 0)))
        #expect(updates.count <= m.settings.maxUpdatesPerMessage)
        #expect(updates.count == m.settings.maxUpdatesPerMessage, "41 queued updates should fill the message")
    }

    @Test func eachUpdateIsRetransmittedLambdaLogNTimes() {
        var m = instance(members: 1)  // N = 2: limit = 4 * ceil(log10(3)) = 4
        #expect(m.retransmitLimit == 4)
        var carried = 0
        for _ in 0..<10 where m.piggyback(for: pid(1)).contains(where: { $0.peer == pid(1) }) { carried += 1 }
        #expect(carried == 4)
    }

    /// Lifeguard dynamic suspicion: the timeout starts at the maximum, shrinks with each distinct confirmation
    /// down to the minimum at K, and the member is declared dead exactly at the (shortened) deadline.
    @Test func suspicionTimeoutShrinksWithIndependentConfirmations() {
        let s = MembershipSettings()
        var m = instance(members: 10, settings: s)
        let minTimeout = s.protocolPeriod.scaled(by: s.suspicionMultiplier * log10(11.0))
        let maxTimeout = minTimeout.scaled(by: s.suspicionMaxMultiplier)
        let first = schedules(m.onMessage(suspectPing(5), from: pid(2), address: addr(2), now: t0))
        #expect(first.count == 1)
        #expect(first.first?.0 == .suspicion(pid(5)))
        #expect(first.first?.1 == maxTimeout)
        var previous = maxTimeout
        for (k, sender) in [3, 3, 4, 6, 7].enumerated() {
            let out = schedules(m.onMessage(suspectPing(5), from: pid(sender), address: addr(sender), now: t0))
            if k == 1 || k == 4 {
                // A repeated sender, or confirmations beyond K, change nothing.
                #expect(out.isEmpty, "confirmation \(k) from \(sender) rescheduled: \(out)")
                continue
            }
            guard let d = out.first?.1 else { Issue.record("no reschedule after confirmation \(k)"); continue }
            #expect(d < previous && d >= minTimeout)
            previous = d
        }
        #expect(previous == minTimeout, "after K = 3 confirmations the timeout is the minimum")
        #expect(m.onTimer(.suspicion(pid(5)), now: t0 + minTimeout - .nanoseconds(1)).isEmpty)
        let dead = m.onTimer(.suspicion(pid(5)), now: t0 + minTimeout)
        #expect(dead.contains(.memberDown(pid(5), reason: .unreachable)))
        #expect(m.status(of: pid(5)) == .dead(incarnation: 0))
        // A late refutation (alive at a higher incarnation) re-admits it.
        let back = m.onMessage(.ping(seq: 9, updates: [MemberUpdate(peer: pid(5), address: addr(5),
                                                                    status: .alive(incarnation: 1))]),
                               from: pid(3), address: addr(3), now: t0 + .seconds(30))
        #expect(back.contains(.memberUp(pid(5), addr(5))))
    }

    /// Lifeguard LHM: relays that neither ack nor nack count against our own health; the protocol period and
    /// ping timeout stretch by LHM + 1; nacks from every relay leave it unchanged; an ack lowers it.
    @Test(arguments: [false, true])
    func localHealthMultiplierTracksMissedNacks(relaysNack: Bool) {
        var m = instance(members: 6)
        var now = t0
        let start = m.onTimer(.protocolPeriod, now: now)
        guard case .ping(let seq, _)? = sends(start).first?.0,
              case .probeTimeout? = schedules(start).first(where: { $0.0 != .protocolPeriod })?.0 else {
            Issue.record("no probe in \(start)"); return
        }
        now += .milliseconds(300)
        let relays = sends(m.onTimer(.probeTimeout(seq: seq), now: now))
        #expect(relays.count == 3)
        let target = relays.compactMap { if case .pingReq(_, let t, _, _) = $0.0 { return t } else { return nil } }
        #expect(Set(target).count == 1)
        if relaysNack {
            for (_, a) in relays {
                let relay = PeerID(UInt64(a.ip[3]))
                _ = m.onMessage(.nack(seq: seq, target: target[0]), from: relay, address: a, now: now)
            }
        }
        now += .milliseconds(700)
        let next = m.onTimer(.protocolPeriod, now: now)
        let expectedHealth = relaysNack ? 0 : 3
        #expect(m.localHealth == expectedHealth)
        #expect(m.status(of: target[0]) == .suspect(incarnation: 0))
        // N = 7 < 10: min = 4 periods, max = 6 * min; an unhealthy member also stretches its suspicion by LHM + 1.
        #expect(schedules(next).contains { $0.0 == .suspicion(target[0]) && $0.1 == .seconds(24) * (expectedHealth + 1) })
        #expect(schedules(next).contains { $0.0 == .protocolPeriod && $0.1 == .seconds(1) * (expectedHealth + 1) })
        #expect(schedules(next).contains {
            if case .probeTimeout = $0.0 { return $0.1 == .milliseconds(300) * (expectedHealth + 1) } else { return false }
        })
        // A successful probe lowers it again. (The new suspect was also sent its accusation: pick the probe's ping,
        // the one whose seq has a probe timeout.)
        let probeSeq = schedules(next).compactMap { if case .probeTimeout(let s) = $0.0 { return s } else { return nil } }.first
        guard let (probe, a2) = sends(next).first(where: { if case .ping(let s, _) = $0.0 { return s == probeSeq } else { return false } }),
              case .ping(let seq2, _) = probe else { Issue.record("no probe ping in \(next)"); return }
        let acker = PeerID(UInt64(a2.ip[3]))
        _ = m.onMessage(.ack(seq: seq2, target: acker, updates: []), from: acker, address: a2, now: now)
        #expect(m.localHealth == max(0, expectedHealth - 1))
    }

    @Test func relayForwardsAckOrSendsNack() {
        var relay = instance(members: 4)
        let req = relay.onMessage(.pingReq(seq: 50, target: pid(3), targetAddress: addr(3), updates: []),
                                  from: pid(2), address: addr(2), now: t0)
        guard case .ping(let relaySeq, _)? = sends(req).first?.0, sends(req).first?.1 == addr(3) else {
            Issue.record("relay did not ping the target: \(req)"); return
        }
        #expect(schedules(req).contains { $0.0 == .relayTimeout(seq: relaySeq) && $0.1 == .milliseconds(240) })
        let ack = relay.onMessage(.ack(seq: relaySeq, target: pid(3), updates: []), from: pid(3), address: addr(3),
                                  now: t0 + .milliseconds(10))
        guard case .ack(50, pid(3), _)? = sends(ack).first?.0 else { Issue.record("no forwarded ack: \(ack)"); return }
        #expect(sends(ack).first?.1 == addr(2))
        #expect(relay.onTimer(.relayTimeout(seq: relaySeq), now: t0 + .milliseconds(240)).isEmpty)
        // A silent target earns the requester a nack.
        let req2 = relay.onMessage(.pingReq(seq: 51, target: pid(4), targetAddress: addr(4), updates: []),
                                   from: pid(2), address: addr(2), now: t0)
        guard case .ping(let seq2, _)? = sends(req2).first?.0 else { return }
        let nack = relay.onTimer(.relayTimeout(seq: seq2), now: t0 + .milliseconds(240))
        #expect(sends(nack).first?.0 == .nack(seq: 51, target: pid(4)))
    }

    @Test func staleTimersAreIgnored() {
        var m = instance(members: 3)
        #expect(m.onTimer(.probeTimeout(seq: 999), now: t0).isEmpty)
        #expect(m.onTimer(.relayTimeout(seq: 999), now: t0).isEmpty)
        #expect(m.onTimer(.suspicion(pid(2)), now: t0).isEmpty)
        #expect(m.onTimer(.joinRetry, now: t0).isEmpty, "join retry after the joinReply arrived")
    }

    @Test func unknownSenderIsAdmittedAtIncarnationZero() {
        var m = instance(members: 2)
        let out = m.onMessage(.ping(seq: 3, updates: []), from: pid(9), address: addr(9), now: t0)
        #expect(out.contains(.memberUp(pid(9), addr(9))))
        #expect(m.status(of: pid(9)) == .alive(incarnation: 0))
    }

    @Test func partnerCandidatesAreTheAliveViewEntries() {
        var m = instance(members: 8)
        _ = m.onMessage(suspectPing(4), from: pid(2), address: addr(2), now: t0)
        let candidates = m.partnerCandidates.map(\.peer)
        #expect(!candidates.contains(pid(4)))
        #expect(Set(candidates) == Set(m.viewEntries.map(\.peer)).subtracting([pid(4)]))
        #expect(Set(candidates).count == candidates.count)
    }

    @Test func sameSeedSameDirectivesDifferentSeedDifferentChoices() {
        func run(_ seed: UInt64) -> [MembershipDirective] {
            var m = instance(members: 30, seed: seed)
            var out: [MembershipDirective] = []
            var now = t0
            for _ in 0..<20 {
                now += .seconds(1)
                out += m.onTimer(.protocolPeriod, now: now)
                out += m.onTimer(.shuffle, now: now)
            }
            return out
        }
        #expect(run(5) == run(5))
        #expect(run(5) != run(6))
    }

    @Test func memberCapIgnoresRumoursAndEvictsForDirectContacts() {
        var s = MembershipSettings()
        s.viewSize = 5; s.shuffleLength = 3; s.maxMembers = 12
        #expect(s.validate() == nil)
        var m = MembershipInstance(id: pid(0), address: addr(0), seed: 3, settings: s)
        _ = m.onJoin(seeds: [addr(1)], now: t0)
        let members = (1...30).map { MemberUpdate(peer: pid($0), address: addr($0), status: .alive(incarnation: 0)) }
        _ = m.onMessage(.joinReply(members: members), from: pid(1), address: addr(1), now: t0)
        #expect(m.knownMembers.count == 12)
        #expect(m.status(of: pid(1)) == .alive(incarnation: 0))
        // A rumour about a member we do not hold is ignored once the table is full (alive or dead).
        let rumours = [MemberUpdate(peer: pid(40), address: addr(40), status: .alive(incarnation: 3)),
                       MemberUpdate(peer: pid(41), address: addr(41), status: .dead(incarnation: 0))]
        _ = m.onMessage(.ping(seq: 1, updates: rumours), from: pid(2), address: addr(2), now: t0)
        #expect(m.status(of: pid(40)) == nil && m.status(of: pid(41)) == nil)
        // A peer that contacts us directly is admitted in place of an alive member outside the view.
        let view = Set(m.viewEntries.map(\.peer))
        let out = m.onMessage(.ping(seq: 2, updates: []), from: pid(50), address: addr(50), now: t0)
        let evicted = out.compactMap { d -> PeerID? in if case .memberDown(let p, .evicted) = d { return p } else { return nil } }
        #expect(evicted.count == 1)
        if let e = evicted.first {
            #expect(!view.contains(e) && e != pid(50))
            #expect(m.status(of: e) == nil)
        }
        #expect(m.status(of: pid(50)) == .alive(incarnation: 0))
        #expect(m.knownMembers.count == 12)
        // Below the cap nothing is evicted: an uncapped instance keeps everyone.
        var all = MembershipInstance(id: pid(0), address: addr(0), seed: 3)
        _ = all.onJoin(seeds: [addr(1)], now: t0)
        _ = all.onMessage(.joinReply(members: members), from: pid(1), address: addr(1), now: t0)
        #expect(all.knownMembers.count == 30)
    }

    @Test func memberCapMustLeaveRoomForViewAndRelays() {
        var s = MembershipSettings()
        s.maxMembers = s.viewSize + s.indirectProbeCount + 1
        #expect(s.validate()?.contains("maxMembers") == true)
        s.maxMembers = s.viewSize + s.indirectProbeCount + 2
        #expect(s.validate() == nil)
    }
}
