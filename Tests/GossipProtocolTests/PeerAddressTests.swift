import Testing
import RecommenderModel
@testable import GossipProtocol

// PeerAddress stores its bytes as two integers; these check that every way in and out agrees.
@Suite struct PeerAddressTests {
    @Test func bytesIntegersAndTextAgree() throws {
        let v4 = PeerAddress(ip: [10, 1, 2, 254], port: 7000)
        #expect(v4 == .ipv4(10, 1, 2, 254, port: 7000))
        #expect(v4 == PeerAddress(ipv4: 0x0A01_02FE, port: 7000))
        #expect(v4.ip == [10, 1, 2, 254] && v4.ipv4Value == 0x0A01_02FE && !v4.isIPv6 && v4.ipByteCount == 4)
        #expect(v4.description == "10.1.2.254:7000" && PeerAddress(parsing: v4.description) == v4)

        let v6Bytes: [UInt8] = [0xFE, 0x80, 0, 0, 0, 0, 0, 0, 0x12, 0x34, 0, 0, 0, 0, 0xAB, 0xCD]
        let v6 = PeerAddress(ip: v6Bytes, port: 9)
        #expect(v6.ip == v6Bytes && v6.isIPv6 && v6.ipv4Value == nil && v6.ipByteCount == 16)
        #expect(PeerAddress(parsing: "[fe80::1234:0:0:abcd]:9") == v6)
        #expect(PeerAddress(parsing: v6.description) == v6)

        // ::a01:2fe is not 10.1.2.254: the family is part of the value.
        var mapped = [UInt8](repeating: 0, count: 16)
        mapped[12...] = [10, 1, 2, 254]
        #expect(PeerAddress(ip: mapped, port: 7000) != v4)
        #expect(Set([PeerAddress(ip: mapped, port: 7000), v4]).count == 2)

        // Setting the bytes switches the family.
        var a = v4
        a.ip = v6Bytes
        #expect(a == PeerAddress(ip: v6Bytes, port: 7000))
        a.ip = [127, 0, 0, 1]
        #expect(a == .ipv4(127, 0, 0, 1, port: 7000) && a.host == "127.0.0.1")
    }

    @Test func randomAddressesRoundTripThroughBytesAndText() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<2000 {
            let count = rng.next(below: 2) == 0 ? 4 : 16
            let bytes = (0..<count).map { _ in UInt8(rng.next(below: 256)) }
            let a = PeerAddress(ip: bytes, port: UInt16(rng.next(below: 65536)))
            #expect(a.ip == bytes)
            #expect(PeerAddress(parsing: a.description) == a)
            #expect(PeerAddress(host: a.host, port: a.port) == a)
        }
    }
}
