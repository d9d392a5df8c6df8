import Dispatch
import Testing
@testable import SocketTransport

/// Loopback socket tests. Serialized so they do not compete for the two cores; every wait is
/// bounded (Inbox.next times out) and every descriptor is closed (SocketHandle asserts on leaks).
@Suite(.serialized) struct NetworkTests {}

// MARK: UDP

extension NetworkTests {
    @Test func udpRoundTripIPv4() throws {
        try udpRoundTrip(bindAddress: .loopbackIPv4(port: 0))
    }

    @Test(.enabled(if: ipv6LoopbackAvailable(), "::1 is not configured on this machine (no IPv6 loopback): IPv6 UDP round trip not run"))
    func udpRoundTripIPv6() throws {
        try udpRoundTrip(bindAddress: .loopbackIPv6(port: 0))
    }

    /// A sends to B, B echoes reversed bytes to the sender; then a burst of 200 datagrams is drained.
    func udpRoundTrip(bindAddress: SocketAddress) throws {
        let (loop, errors) = makeLoop("udp")
        let a = try UDPSocket(bindingTo: bindAddress)
        let b = try UDPSocket(bindingTo: bindAddress)
        #expect(a.localAddress.port != 0 && b.localAddress.port != a.localAddress.port)
        #expect(a.localAddress.family == bindAddress.family)
        let atA = Inbox<([UInt8], SocketAddress)>()
        let (watchA, watchB) = onLoop(loop) {
            let wb = loop.watchDatagrams(on: b) { bytes, sender in
                do throws(TransportError) { try b.send(Array(bytes.reversed()), to: sender) } catch { loop.report(error) }
            }
            let wa = loop.watchDatagrams(on: a) { bytes, sender in atA.put((bytes, sender)) }
            return (wa, wb)
        }
        try onLoop(loop) { _ = try a.send(Array("hello".utf8), to: b.localAddress) }
        let reply = try #require(atA.next())
        #expect(reply.0 == Array("olleh".utf8))
        #expect(reply.1 == b.localAddress)

        // A burst: every read-source wakeup drains until would-block.
        let burst = 200
        try onLoop(loop) {
            for i in 0..<burst {
                let sent = try a.send([UInt8(truncatingIfNeeded: i), 1, 2, 3], to: b.localAddress)
                #expect(sent)
            }
        }
        var received = Set<UInt8>()
        for _ in 0..<burst {
            guard let r = atA.next() else { break }
            received.insert(r.0[3])
        }
        #expect(received.count == burst)
        #expect(errors.count == 0)
        #expect(cancelAndWait(watchA, on: loop))
        #expect(cancelAndWait(watchB, on: loop))
        onLoop(loop) {
            #expect(!a.isOpen && !b.isOpen)
        }
    }

    @Test func udpOversizedDatagramIsReportedNotDelivered() throws {
        let (loop, errors) = makeLoop("udp-trunc")
        let a = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let b = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        let delivered = Inbox<[UInt8]>()
        let watcher = onLoop(loop) { loop.watchDatagrams(on: b, bufferBytes: 16) { bytes, _ in delivered.put(bytes) } }
        try onLoop(loop) {
            try a.send([UInt8](repeating: 7, count: 100), to: b.localAddress)
            try a.send([UInt8](repeating: 9, count: 16), to: b.localAddress)
        }
        let error = try #require(errors.next())
        guard case .limitExceeded(let what, let limit, _) = error else {
            Issue.record("expected limitExceeded, got \(error)")
            return
        }
        #expect(what.contains("\(a.localAddress)"))
        #expect(limit == 16)
        #expect(delivered.next() == [UInt8](repeating: 9, count: 16))
        #expect(onLoop(loop) { loop.reportedErrorCount } == 1)
        #expect(cancelAndWait(watcher, on: loop))
        try a.close()
    }

    @Test func udpSocketBuffersAreRaised() throws {
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0), bufferBytes: 1 << 20)
        defer { try? socket.close() }
        // Linux caps at net.core.rmem_max and reports double the granted value; it must at least
        // exceed the small default a request of 1 MiB replaces, or equal the cap.
        let effective = try socket.receiveBufferBytes
        let small = try UDPSocket(bindingTo: .loopbackIPv4(port: 0), bufferBytes: 4096)
        defer { try? small.close() }
        #expect(effective > (try small.receiveBufferBytes))
    }
}

// MARK: Same port for UDP and TCP

extension NetworkTests {
    @Test func peerSocketsShareOnePortAndSecondBindNamesTheAddress() throws {
        let pair = try PeerSockets.bind(.loopbackIPv4(port: 0))
        #expect(pair.port != 0)
        #expect(pair.tcp.localAddress.port == pair.udp.localAddress.port)
        let taken = pair.udp.localAddress
        #expect(throws: TransportError.failed(call: "bind", errno: .addressInUse, address: taken)) {
            let again = try UDPSocket(bindingTo: taken)
            try again.close()
        }
        #expect(throws: TransportError.failed(call: "bind", errno: .addressInUse, address: taken)) {
            let again = try TCPListener(bindingTo: taken)
            try again.close()
        }
        try pair.tcp.close()
        try pair.udp.close()

        // A fixed port binds both protocols to exactly that port.
        let fixed = try PeerSockets.bind(taken)
        #expect(fixed.tcp.localAddress == taken && fixed.udp.localAddress == taken)
        try fixed.tcp.close()
        try fixed.udp.close()
    }
}
