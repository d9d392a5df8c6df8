import Glibc
import Testing
@testable import SocketTransport

/// Pure values: no sockets.
@Suite struct ValueTests {
    @Test func errnoDescriptionIsStrerrorPlusNumber() {
        let e = Errno.connectionRefused
        #expect(e.rawValue == ECONNREFUSED)
        #expect(e.description.contains(String(cString: strerror(ECONNREFUSED))))
        #expect(e.description.contains("\(ECONNREFUSED)"))
        #expect(Errno(rawValue: EADDRINUSE) == .addressInUse)
        #expect(Errno(rawValue: EADDRINUSE).description != e.description)
    }

    @Test func transportErrorNamesCallAndAddress() {
        let address = SocketAddress.loopbackIPv4(port: 4242)
        let error = TransportError.failed(call: "bind", errno: .addressInUse, address: address)
        #expect(error.description.contains("bind"))
        #expect(error.description.contains("127.0.0.1:4242"))
        #expect(error.description.contains(Errno.addressInUse.description))
        #expect(error.errno == .addressInUse)
        #expect(TransportError.invalidAddress("x:y").description.contains("x:y"))
    }

    @Test func parsesIPv4AndIPv6Text() throws {
        let v4 = try SocketAddress(parsing: "1.2.3.4:5")
        #expect(v4.ipBytes == [1, 2, 3, 4])
        #expect(v4.port == 5)
        #expect(v4.family == .ipv4)
        #expect(v4.description == "1.2.3.4:5")

        let v6 = try SocketAddress(parsing: "[::1]:5")
        #expect(v6.ipBytes == Array(repeating: 0, count: 15) + [1])
        #expect(v6.port == 5)
        #expect(v6.family == .ipv6)
        #expect(v6.description == "[::1]:5")
        #expect(v6 == .loopbackIPv6(port: 5))

        let full = try SocketAddress(parsing: "[2001:db8::ff00:42:8329]:65535")
        #expect(full.ipBytes == [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0xff, 0x00, 0x00, 0x42, 0x83, 0x29])
        #expect(full.port == 65535)
        #expect(try SocketAddress(parsing: full.description) == full)
    }

    @Test(arguments: ["1.2.3:5", "1.2.3.4", "1.2.3.4:", "1.2.3.4:70000", "256.1.1.1:5", "::1:5", "[::1]", "[::1]5",
                      "[zz::1]:5", "localhost:80", ""])
    func rejectsMalformedAddressNamingIt(_ text: String) {
        #expect(throws: TransportError.invalidAddress(text)) { try SocketAddress(parsing: text) }
    }

    @Test func convertsFromRawBytesAndPort() {
        let a = SocketAddress(ipBytes: [10, 0, 0, 7], port: 7000)
        #expect(a.ipBytes == [10, 0, 0, 7])
        #expect(a.port == 7000)
        #expect(a.withPort(1).port == 1)
        #expect(a.withPort(1).ipBytes == a.ipBytes)
        #expect(SocketAddress(ipBytes: a.ipBytes, port: a.port) == a)
    }

    @Test func resolvesLocalhostToLoopback() throws {
        let addresses = try SocketAddress.resolve(host: "localhost", port: 8080)
        #expect(!addresses.isEmpty)
        for a in addresses {
            #expect(a.port == 8080)
            #expect(a.ipBytes == [127, 0, 0, 1] || a.ipBytes == SocketAddress.loopbackIPv6(port: 0).ipBytes,
                    "localhost resolved to \(a)")
        }
        // Numeric hosts resolve without DNS.
        #expect(try SocketAddress.resolve(host: "10.1.2.3", port: 9) == [SocketAddress(ipBytes: [10, 1, 2, 3], port: 9)])
    }

    @Test func jitteredDelayStaysWithinBoundsAndVaries() {
        var rng = TestRNG(state: 42)
        let base = Duration.milliseconds(200)
        let jitter = Duration.milliseconds(50)
        var seen = Set<Duration>()
        for _ in 0..<1000 {
            let d = EventLoop.jitteredDelay(base, jitter: jitter, using: &rng)
            #expect(d >= base && d <= base + jitter)
            seen.insert(d)
        }
        #expect(seen.count > 900, "jitter should spread delays, got \(seen.count) distinct values")
        #expect(EventLoop.jitteredDelay(base, jitter: .zero, using: &rng) == base)
    }

    @Test func durationNanoseconds() {
        #expect(Duration.milliseconds(1500).nanoseconds == 1_500_000_000)
        #expect(Duration.nanoseconds(7).nanoseconds == 7)
        #expect(Duration.seconds(Int64.max).nanoseconds == .max)
    }
}
