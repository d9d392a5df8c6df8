import Dispatch
import Glibc
import Testing
@testable import SocketTransport

/// What a finished stream reports: why it closed, what it read, its counters.
struct StreamOutcome: Sendable {
    var reason: TCPStream.CloseReason
    var received: [UInt8]
    var stats: TCPStream.Stats
}

/// Builds a stream on `loop` that accumulates inbound bytes and posts a `StreamOutcome` on close.
/// Must run on the loop's queue.
@discardableResult
func collectingStream(_ connection: TCPConnection, loop: EventLoop, limits: TCPStream.Limits,
                      outcomes: Inbox<StreamOutcome>,
                      onBytes extra: (@Sendable (TCPStream, [UInt8]) -> Void)? = nil) -> TCPStream {
    let received = LoopBox<[UInt8]>([])
    let streamBox = LoopBox<TCPStream?>(nil)
    let stream = TCPStream(connection: connection, loop: loop, limits: limits,
                           onBytes: { bytes in
                               received.value += bytes
                               if let extra, let stream = streamBox.value { extra(stream, bytes) }
                           },
                           onClose: { reason in
                               outcomes.put(StreamOutcome(reason: reason, received: received.value,
                                                          stats: streamBox.value?.stats ?? .init()))
                               streamBox.value = nil
                           })
    streamBox.value = stream
    return stream
}

/// Connects on `loop` and returns the result (bounded wait).
func connectSync(_ loop: EventLoop, to address: SocketAddress, timeout: Duration = .seconds(5)) -> Result<TCPConnection, TransportError>? {
    let result = Inbox<Result<TCPConnection, TransportError>>()
    onLoop(loop) { _ = loop.connect(to: address, timeout: timeout) { result.put($0) } }
    return result.next(timeout: 10)
}

extension NetworkTests {
    @Test func tcpEchoOfOneMebibyteWithPartialIO() throws {
        let (loop, errors) = makeLoop("tcp-echo")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        // Small kernel buffers force partial writes and many reads.
        let limits = TCPStream.Limits(maxQueuedBytes: 2 << 20, readChunkBytes: 8 << 10,
                                      idleTimeout: .seconds(5), overallTimeout: .seconds(15),
                                      socketBufferBytes: 64 << 10)
        let serverOutcomes = Inbox<StreamOutcome>()
        let acceptor = onLoop(loop) {
            loop.watchAccepts(on: listener) { connection in
                // Echo: every inbound chunk is queued back; on the client's FIN the server flushes and finishes.
                collectingStream(connection, loop: loop, limits: limits, outcomes: serverOutcomes) { stream, bytes in
                    do throws(TransportError) { try stream.enqueue(bytes) } catch { loop.report(error) }
                }
            }
        }
        let connection = try #require(try connectSync(loop, to: listener.localAddress)?.get())
        let payload = patternBytes(1 << 20, seed: 7)
        let clientOutcomes = Inbox<StreamOutcome>()
        try onLoop(loop) {
            let client = collectingStream(connection, loop: loop, limits: limits, outcomes: clientOutcomes)
            try client.enqueue(payload)
            #expect(client.queuedBytes == payload.count)
            client.finishWriting()
        }
        let client = try #require(clientOutcomes.next(timeout: 15))
        let server = try #require(serverOutcomes.next(timeout: 5))
        #expect(client.reason == .finished)
        #expect(server.reason == .finished)
        #expect(server.received.count == payload.count)
        #expect(client.received.count == payload.count)
        // Compare as a Bool: on failure Swift Testing would otherwise diff two 1 MiB arrays (very slow).
        let echoedIntact = client.received == payload
        #expect(echoedIntact, "echoed bytes differ from the payload")
        #expect(client.stats.bytesWritten == payload.count)
        #expect(client.stats.partialWrites + client.stats.writeWouldBlocks > 0, "1 MiB through 64 KiB buffers must not go in one write: \(client.stats)")
        #expect(client.stats.readCalls > 1)
        #expect(errors.count == 0)
        #expect(cancelAndWait(acceptor, on: loop))
    }

    @Test func silentClientIsClosedByIdleDeadline() throws {
        let (loop, _) = makeLoop("tcp-idle")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        let serverOutcomes = Inbox<StreamOutcome>()
        let limits = TCPStream.Limits(idleTimeout: .milliseconds(300), overallTimeout: .seconds(10))
        let acceptor = onLoop(loop) {
            loop.watchAccepts(on: listener) { connection in
                collectingStream(connection, loop: loop, limits: limits, outcomes: serverOutcomes)
            }
        }
        // The client connects and never sends.
        let silent = try #require(try connectSync(loop, to: listener.localAddress)?.get())
        let outcome = try #require(serverOutcomes.next(timeout: 5))
        #expect(outcome.reason == .idleTimeout)
        #expect(outcome.received.isEmpty)
        // The loop was never blocked: it still runs work promptly.
        let alive = Inbox<Bool>()
        loop.execute { alive.put(true) }
        #expect(alive.next() == true)
        try onLoop(loop) { try silent.close() }
        #expect(cancelAndWait(acceptor, on: loop))
    }

    @Test func tricklingClientIsClosedByOverallDeadline() throws {
        let (loop, _) = makeLoop("tcp-deadline")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        let serverOutcomes = Inbox<StreamOutcome>()
        let serverLimits = TCPStream.Limits(idleTimeout: .seconds(2), overallTimeout: .milliseconds(500))
        let acceptor = onLoop(loop) {
            loop.watchAccepts(on: listener) { connection in
                collectingStream(connection, loop: loop, limits: serverLimits, outcomes: serverOutcomes)
            }
        }
        let connection = try #require(try connectSync(loop, to: listener.localAddress)?.get())
        let clientOutcomes = Inbox<StreamOutcome>()
        // One byte every 50 ms keeps the idle deadline from firing; only the overall deadline can.
        let ticker = onLoop(loop) {
            let client = collectingStream(connection, loop: loop, limits: TCPStream.Limits(idleTimeout: .seconds(5)),
                                          outcomes: clientOutcomes)
            return loop.scheduleRepeating(every: .milliseconds(50)) {
                if client.isOpen { try? client.enqueue([1]) }
            }
        }
        let outcome = try #require(serverOutcomes.next(timeout: 5))
        #expect(outcome.reason == .deadlineExceeded)
        #expect(!outcome.received.isEmpty)
        ticker.cancel()
        // The server's close reaches the client as EOF (or a reset): it closes too.
        let clientOutcome = try #require(clientOutcomes.next(timeout: 5))
        #expect(clientOutcome.reason != .idleTimeout)
        #expect(cancelAndWait(acceptor, on: loop))
    }

    @Test func connectToClosedPortNamesConnectAndAddress() throws {
        let (loop, _) = makeLoop("tcp-refused")
        let probe = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        let address = probe.localAddress
        try probe.close()  // nobody listens there now
        let result = try #require(connectSync(loop, to: address))
        switch result {
        case .success(let connection):
            Issue.record("connect to closed port \(address) succeeded")
            try onLoop(loop) { try connection.close() }
        case .failure(let error):
            #expect(error == .failed(call: "connect", errno: .connectionRefused, address: address))
            #expect(error.description.contains("connect"))
            #expect(error.description.contains("\(address)"))
        }
    }

    @Test func outboundQueueRejectsPastItsBound() throws {
        let (loop, _) = makeLoop("tcp-bound")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0))
        let accepted = Inbox<TCPConnection>()
        let acceptor = onLoop(loop) { loop.watchAccepts(on: listener) { accepted.put($0) } }
        let connection = try #require(try connectSync(loop, to: listener.localAddress)?.get())
        let peer = try #require(accepted.next())  // never reads
        let outcomes = Inbox<StreamOutcome>()
        let limit = 64 << 10
        onLoop(loop) {
            let stream = collectingStream(connection, loop: loop, limits: TCPStream.Limits(maxQueuedBytes: limit),
                                          outcomes: outcomes)
            // No write happens inside this block (writes run from the write source on this queue),
            // so the queue holds exactly what was enqueued.
            #expect(throws: Never.self) { try stream.enqueue([UInt8](repeating: 1, count: 40 << 10)) }
            #expect(throws: TransportError.limitExceeded(what: "TCP outbound queue to \(listener.localAddress)",
                                                         limit: limit, attempted: 80 << 10)) {
                try stream.enqueue([UInt8](repeating: 2, count: 40 << 10))
            }
            #expect(stream.queuedBytes == 40 << 10)
            #expect(throws: Never.self) { try stream.enqueue([UInt8](repeating: 3, count: 24 << 10)) }
            #expect(stream.queuedBytes == limit)
            stream.close()
            #expect(throws: TransportError.closed(what: "TCP stream to \(listener.localAddress)")) {
                try stream.enqueue([4])
            }
        }
        #expect(try #require(outcomes.next()).reason == .closedLocally)
        try onLoop(loop) { try peer.close() }
        #expect(cancelAndWait(acceptor, on: loop))
    }
}

extension NetworkTests {
    /// A listener that never accepts, with a tiny backlog: once its accept queue is full, Linux drops
    /// further SYNs, so later connects stay in SYN_SENT and must end by our timeout (ETIMEDOUT).
    @Test func connectTimesOutWhenRemoteNeverAnswers() throws {
        let (loop, _) = makeLoop("tcp-timeout")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0), backlog: 1)
        let results = Inbox<Result<TCPConnection, TransportError>>()
        let attempts = 6
        onLoop(loop) {
            for _ in 0..<attempts {
                _ = loop.connect(to: listener.localAddress, timeout: .milliseconds(300)) { results.put($0) }
            }
        }
        var connected: [TCPConnection] = []
        var timedOut = 0
        for _ in 0..<attempts {
            switch try #require(results.next()) {
            case .success(let c): connected.append(c)
            case .failure(let e):
                #expect(e == .failed(call: "connect", errno: .timedOut, address: listener.localAddress))
                timedOut += 1
            }
        }
        #expect(timedOut > 0, "with a full accept queue some connect must time out")
        try onLoop(loop) { for c in connected { try c.close() } }
        try listener.close()
    }

    @Test func cancelledConnectReportsCancellation() throws {
        let (loop, _) = makeLoop("tcp-cancel")
        let listener = try TCPListener(bindingTo: .loopbackIPv4(port: 0), backlog: 1)
        let results = Inbox<Result<TCPConnection, TransportError>>()
        // Fill the accept queue so the last attempt hangs, then cancel it.
        var connected: [TCPConnection] = []
        var cancelled = 0
        for _ in 0..<4 {
            let attempt = onLoop(loop) { loop.connect(to: listener.localAddress, timeout: .seconds(5)) { results.put($0) } }
            switch results.next(timeout: 0.3) {
            case .success(let c)?: connected.append(c)
            case .failure(let e)?: Issue.record("unexpected \(e)")
            case nil:
                attempt.cancel()
                let r = try #require(results.next())
                guard case .failure(let e) = r else { Issue.record("expected a failure"); break }
                #expect(e.errno?.rawValue == ECANCELED)
                #expect(e.description.contains("connect"))
                cancelled += 1
            }
        }
        #expect(cancelled > 0, "with a full accept queue some connect must hang until cancelled")
        try onLoop(loop) { for c in connected { try c.close() } }
        try listener.close()
    }
}
