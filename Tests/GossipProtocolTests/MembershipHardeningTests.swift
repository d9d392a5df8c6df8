import Testing
import RecommenderModel
@testable import GossipProtocol

// What a key holder that lies in membership messages can and cannot do (issue 16, "admission and limits").

private func pid(_ i: Int) -> PeerID { PeerID(UInt64(i)) }
private func addr(_ i: Int) -> PeerAddress { .ipv4(192, 168, 0, UInt8(i), port: 9000) }
private let t0 = Instant(nanoseconds: 1_000_000_000_000)

/// Instance 0, started, that learned members 1...n from a joinReply sent by member 1.
private func instance(members n: Int, settings: MembershipSettings = MembershipSettings()) -> MembershipInstance {
    var m = MembershipInstance(id: pid(0), address: addr(0), seed: 42, settings: settings)
    _ = m.onJoin(seeds: [addr(1)], now: t0)
    let members = (1...n).map { MemberUpdate(peer: pid($0), address: addr($0), status: .alive(incarnation: 0)) }
    _ = m.onMessage(.joinReply(members: members), from: pid(1), address: addr(1), now: t0)
    return m
}

private func sends(_ out: [MembershipDirective]) -> [(Message, PeerAddress)] {
    out.compactMap { if case .send(let m, let a) = $0 { return (m, a) } else { return nil } }
}

@Suite struct MembershipHardeningTests {
    @Test func aDeathRumourAtTheLargestIncarnationCannotKillAPeerForGood() {
        var m = instance(members: 4)
        let forged = MemberUpdate(peer: pid(0), address: addr(0), status: .dead(incarnation: .max))
        _ = m.onMessage(.ping(seq: 1, updates: [forged]), from: pid(2), address: addr(2), now: t0)
        #expect(m.incarnation == 0, "an implausible rumour about us is ignored, not refuted by wrapping")
        #expect(m.rejectedRumours == 1)
        // Nor about another member: peer 3 stays alive here.
        let aboutThree = MemberUpdate(peer: pid(3), address: addr(3), status: .dead(incarnation: .max))
        _ = m.onMessage(.ping(seq: 2, updates: [aboutThree]), from: pid(2), address: addr(2), now: t0)
        #expect(m.status(of: pid(3)) == .alive(incarnation: 0))
        #expect(m.rejectedRumours == 2)
        // An honest accusation one step up is still refuted with the next incarnation.
        let honest = MemberUpdate(peer: pid(0), address: addr(0), status: .suspect(incarnation: 0))
        _ = m.onMessage(.ping(seq: 3, updates: [honest]), from: pid(2), address: addr(2), now: t0)
        #expect(m.incarnation == 1)
    }

    @Test func incarnationsSaturateInsteadOfWrapping() {
        #expect(UInt64.max.saturatingSuccessor == .max)
        #expect(UInt64(7).saturatingSuccessor == 8)
    }

    @Test func aForgedJoinCannotRepointAMemberAndARumourRepointingUsIsRefuted() {
        var m = instance(members: 4)
        // "I am peer 3, at the attacker's address", sent from the attacker's address: 3 is re-admitted where the
        // datagram came from only if that is where 3 is; the join's claimed address is never used.
        let attacker = PeerAddress.ipv4(10, 9, 9, 9, port: 6666)
        let out = m.onMessage(.join(address: addr(3), incarnation: 5), from: pid(3), address: attacker, now: t0)
        for (message, to) in sends(out) {
            if case .joinReply = message { #expect(to == attacker, "a joinReply goes back to the datagram's source") }
        }
        // A rumour that we (peer 0) moved elsewhere is refuted at our own address with a higher incarnation.
        let repoint = MemberUpdate(peer: pid(0), address: attacker, status: .alive(incarnation: 3))
        let refute = m.onMessage(.ping(seq: 4, updates: [repoint]), from: pid(2), address: addr(2), now: t0)
        #expect(m.incarnation == 4)
        let announced = sends(refute).flatMap { (message, _) -> [MemberUpdate] in
            if case .ping(_, let updates) = message { return updates } else { return [] }
        }
        #expect(announced.contains(MemberUpdate(peer: pid(0), address: addr(0), status: .alive(incarnation: 4))))
    }

    @Test func aPingReqIsRelayedOnlyToALiveMemberAtTheAddressWeHold() {
        var m = instance(members: 4)
        let stranger = PeerAddress.ipv4(10, 1, 2, 3, port: 53)
        let reflected = m.onMessage(.pingReq(seq: 9, target: pid(77), targetAddress: stranger, updates: []),
                                    from: pid(2), address: addr(2), now: t0)
        #expect(!sends(reflected).contains { $0.1 == stranger }, "no ping to an address given by the requester")
        let misdirected = m.onMessage(.pingReq(seq: 10, target: pid(3), targetAddress: stranger, updates: []),
                                      from: pid(2), address: addr(2), now: t0)
        #expect(!sends(misdirected).contains { $0.1 == stranger })
        #expect(m.relaysRefused == 2)
        let honest = m.onMessage(.pingReq(seq: 11, target: pid(3), targetAddress: addr(3), updates: []),
                                 from: pid(2), address: addr(2), now: t0)
        #expect(sends(honest).contains { if case .ping = $0.0 { return $0.1 == addr(3) } else { return false } })
    }

    @Test func inventedMembersAreAdmittedAtABoundedRate() {
        var s = MembershipSettings()
        s.admissionsPerSecond = 10
        s.admissionBurst = 20
        s.maxMembers = nil
        var m = instance(members: 4, settings: s)
        // 25 messages of 20 invented members each, all at once: only the burst gets in.
        for k in 0..<25 {
            let updates = (0..<20).map { j in
                MemberUpdate(peer: pid(1_000 + k * 20 + j), address: .ipv4(10, 0, UInt8(k), UInt8(j), port: 1), status: .alive(incarnation: 0))
            }
            _ = m.onMessage(.ping(seq: UInt64(k), updates: updates), from: pid(2), address: addr(2), now: t0)
        }
        #expect(m.knownMembers.count == 4 + 20)
        #expect(m.admissionsRefused > 0)
        // One second later, ten more may come in.
        let later = (0..<20).map { j in MemberUpdate(peer: pid(5_000 + j), address: .ipv4(10, 1, 0, UInt8(j), port: 1), status: .alive(incarnation: 0)) }
        _ = m.onMessage(.ping(seq: 99, updates: later), from: pid(2), address: addr(2), now: t0 + .seconds(1))
        #expect(m.knownMembers.count == 4 + 30)
    }

    @Test func theMemberTableIsBoundedByDefault() {
        #expect(MembershipSettings().maxMembers != nil)
    }
}
