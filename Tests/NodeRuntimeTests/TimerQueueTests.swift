import Dispatch
import Foundation
import Testing
@testable import NodeRuntime

final class Fired: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    func add(_ i: Int) { lock.lock(); items.append(i); lock.unlock() }
    var all: [Int] { lock.lock(); defer { lock.unlock() }; return items }
}

@Suite struct TimerQueueTests {
    @Test func timersFireInDeadlineOrderNoEarlierThanAskedAndNotAfterCancel() {
        let queue = DispatchQueue(label: "timer-test")
        let fired = Fired()
        let start = DispatchTime.now().uptimeNanoseconds
        let early = Fired()
        let tq = queue.sync { TimerQueue(queue: queue) }
        queue.sync {
            for (i, ms) in [(3, 90), (1, 30), (2, 60), (4, 60)].map({ ($0.0, $0.1) }) {
                tq.schedule(after: .milliseconds(ms)) {
                    if DispatchTime.now().uptimeNanoseconds - start < UInt64(ms) * 1_000_000 { early.add(i) }
                    fired.add(i)
                }
            }
            tq.schedule(after: .milliseconds(400)) { fired.add(99) }
        }
        Thread.sleep(forTimeInterval: 0.25)
        queue.sync { tq.cancel() }
        Thread.sleep(forTimeInterval: 0.3)
        #expect(fired.all == [1, 2, 4, 3], "equal deadlines keep their scheduling order; the cancelled one never runs")
        #expect(early.all.isEmpty)
    }
}
