import Dispatch
import Glibc
import Testing
@testable import SocketTransport

/// The epoll selector that drives model-exchange TCP: deliveries, deadlines, and no stale event ever
/// reaching a handler after `deregister` (the property that makes descriptor reuse safe).
extension NetworkTests {
    @Test func selectorDeliversOneDeadlineAndNothingAfterDeregister() throws {
        let selector = try IOSelector()
        let (loop, _) = makeLoop("selector-deadline")
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        defer { try? socket.close() }
        let events = Inbox<IOEvents>()
        let registration = try onLoop(loop) { () throws(TransportError) -> IORegistration in
            let r = try selector.register(fd: socket.handle.fd.rawValue, queue: loop.queue) { events.put($0) }
            r.setDeadline(EventLoop.monotonicNanoseconds() + 50_000_000)
            return r
        }
        #expect(events.next(timeout: 5) == .deadline)
        #expect(events.next(timeout: 0.3) == nil, "a deadline is delivered once")
        // Readable while armed: one delivery (one shot), then quiet until re-armed.
        _ = try socket.send([1, 2, 3], to: socket.localAddress)
        onLoop(loop) { registration.arm(.read) }
        #expect(events.next(timeout: 5) == .readable)
        #expect(events.next(timeout: 0.3) == nil, "one shot: no second delivery without re-arming")
        onLoop(loop) { registration.arm(.read) }
        #expect(events.next(timeout: 5) == .readable, "level-triggered: still readable after re-arming")
        onLoop(loop) { registration.deregister() }
        #expect(selector.registrationCount == 0)
    }

    @Test func aDeliveryRacingWithDeregisterIsDropped() throws {
        let selector = try IOSelector()
        let (loop, _) = makeLoop("selector-race")
        let socket = try UDPSocket(bindingTo: .loopbackIPv4(port: 0))
        defer { try? socket.close() }
        let calls = Inbox<IOEvents>()
        let before = selector.deliveryCount
        try onLoop(loop) { () throws(TransportError) in
            let r = try selector.register(fd: socket.handle.fd.rawValue, queue: loop.queue) { calls.put($0) }
            r.arm(.read)
            _ = try socket.send([9], to: socket.localAddress)
            // Hold the queue while the selector sees the event and queues its delivery behind us.
            var waited = 0
            while selector.deliveryCount == before && waited < 5_000 { usleep(1_000); waited += 1 }
            r.deregister()
        }
        #expect(selector.deliveryCount > before, "the selector did dispatch a delivery")
        #expect(calls.next(timeout: 0.5) == nil, "but it ran after deregister and was dropped")
    }

    /// Many short connections, as a swarm makes them: descriptor numbers are reused at once, every stream
    /// closes cleanly with its bytes intact, and the selector ends with no registrations left.
    @Test func connectionChurnReusesDescriptorsSafely() throws {
        let selector = try IOSelector()
        let (loop, errors) = makeLoop("selector-churn")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        let limits = TCPStream.Limits(idleTimeout: .seconds(5), overallTimeout: .seconds(10))
        let serverOutcomes = Inbox<StreamOutcome>()
        let clientOutcomes = Inbox<TCPStream.CloseReason>()
        let acceptor = onLoop(loop) {
            loop.watchAccepts(on: listener) { connection in
                _ = TCPStream(connection: connection, loop: loop, limits: limits, selector: selector,
                          onBytes: { _ in }, onClose: { serverOutcomes.put(StreamOutcome(reason: $0, received: [], stats: .init())) })
            }
        }
        let total = 400
        let batch = 20
        var started = 0
        while started < total {
            let n = min(batch, total - started)
            for i in 0..<n {
                let payload = patternBytes(1 + (started + i) * 37 % 20_000, seed: UInt64(started + i))
                onLoop(loop) {
                    _ = loop.connect(to: listener.localAddress, timeout: .seconds(5), selector: selector) { result in
                        guard case .success(let connection) = result else {
                            clientOutcomes.put(.closedLocally)
                            return
                        }
                        let stream = TCPStream(connection: connection, loop: loop, limits: limits, selector: selector,
                                               onBytes: { _ in }, onClose: { clientOutcomes.put($0) })
                        do throws(TransportError) { try stream.enqueue(payload) } catch { loop.report(error) }
                        stream.finishWriting()
                    }
                }
            }
            for _ in 0..<n {
                #expect(clientOutcomes.next(timeout: 10) == .finished)
                #expect(serverOutcomes.next(timeout: 10)?.reason == .finished)
            }
            started += n
        }
        #expect(cancelAndWait(acceptor, on: loop))
        #expect(selector.registrationCount == 0, "every stream and connect attempt deregistered")
        #expect(errors.count == 0)
    }
}
