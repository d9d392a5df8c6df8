import Dispatch
import Testing
@testable import SocketTransport

extension NetworkTests {
    @Test func oneShotTimerFiresWithinItsJitterBounds() throws {
        let (loop, _) = makeLoop("timer")
        let fired = Inbox<UInt64>()
        let base = Duration.milliseconds(40)
        let jitter = Duration.milliseconds(60)
        let (start, timer) = onLoop(loop) {
            var rng = TestRNG(state: 99)
            let start = EventLoop.monotonicNanoseconds()
            let timer = loop.schedule(after: base, jitter: jitter, using: &rng) {
                loop.preconditionOnLoop()
                fired.put(EventLoop.monotonicNanoseconds())
            }
            return (start, timer)
        }
        #expect(timer.firstDelay >= base && timer.firstDelay <= base + jitter)
        let at = try #require(fired.next())
        // Never early (1 ms slack for clock granularity); lateness is not asserted.
        #expect(Int64(at - start) >= timer.firstDelay.nanoseconds - 1_000_000)
        #expect(fired.next(timeout: 0.2) == nil, "a one-shot timer fires once")
    }

    @Test func cancelledTimerNeverFires() {
        let (loop, _) = makeLoop("timer-cancel")
        let fired = Inbox<Bool>()
        onLoop(loop) {
            let timer = loop.schedule(after: .milliseconds(50)) { fired.put(true) }
            timer.cancel()
            #expect(timer.isCancelled)
        }
        #expect(fired.next(timeout: 0.2) == nil)
    }

    @Test func repeatingTimerRepeatsUntilCancelled() throws {
        let (loop, _) = makeLoop("timer-repeat")
        let ticks = Inbox<UInt64>()
        let period = Duration.milliseconds(20)
        let jitter = Duration.milliseconds(10)
        let start = EventLoop.monotonicNanoseconds()
        let timer = onLoop(loop) {
            loop.scheduleRepeating(every: period, jitter: jitter, rng: TestRNG(state: 5)) {
                ticks.put(EventLoop.monotonicNanoseconds())
            }
        }
        var times: [UInt64] = [start]
        for _ in 0..<4 { times.append(try #require(ticks.next())) }
        onLoop(loop) { timer.cancel() }
        // Consecutive ticks are at least one period apart (jitter only delays).
        for (a, b) in zip(times, times.dropFirst()) {
            #expect(Int64(b - a) >= period.nanoseconds - 1_000_000)
        }
        while ticks.next(timeout: 0.1) != nil {}  // drain anything already queued before cancel
        #expect(ticks.next(timeout: 0.15) == nil, "no ticks after cancel")
    }

    @Test func signalWatcherDeliversSignalOnQueue() throws {
        let (loop, _) = makeLoop("signals")
        let got = Inbox<Signal>()
        let watcher = SignalWatcher(signals: [.user1], queue: loop.queue) { signal in
            loop.preconditionOnLoop()
            got.put(signal)
        }
        defer { watcher.cancel() }
        #expect(watcher.waitUntilReady())
        try Signal.user1.raiseInProcess()
        #expect(got.next() == .user1)
    }
}
