import Dispatch
import GossipProtocol

/// A peer's timers on ONE Dispatch timer source: a binary min-heap of deadlines, and the source re-armed to the
/// earliest. Protocol instances ask for several timers per second per peer (probe timeouts, rounds, shuffles,
/// exchange deadlines); with hundreds of peers per process, one Dispatch source per request meant thousands of
/// sources created and torn down each second, and Dispatch's own timer heap dominated the profile.
/// Confined to the owning peer's queue (`@unchecked Sendable` for that reason).
final class TimerQueue: @unchecked Sendable {
    private struct Entry { var deadline: UInt64; var order: UInt64; var body: @Sendable () -> Void }
    private var heap: [Entry] = []
    private var order: UInt64 = 0
    private var armed: UInt64 = .max
    private let source: DispatchSourceTimer
    private var cancelled = false

    init(queue: DispatchQueue) {
        source = DispatchSource.makeTimerSource(queue: queue)
        source.setEventHandler { [unowned self] in fire() }
        source.schedule(deadline: .distantFuture)
        source.resume()
    }

    deinit { if !cancelled { source.cancel() } }

    var count: Int { heap.count }

    /// Runs `body` on the queue no earlier than `delay` from now; ties run in the order they were scheduled.
    func schedule(after delay: Duration, _ body: @escaping @Sendable () -> Void) {
        guard !cancelled else { return }
        let deadline = DispatchTime.now().uptimeNanoseconds &+ UInt64(max(0, delay.wholeNanoseconds))
        order &+= 1
        push(Entry(deadline: deadline, order: order, body: body))
        if deadline < armed { arm(deadline) }
    }

    /// Drops every pending timer and stops the source.
    func cancel() {
        guard !cancelled else { return }
        cancelled = true
        heap.removeAll()
        source.cancel()
    }

    private func arm(_ deadline: UInt64) {
        armed = deadline
        source.schedule(deadline: DispatchTime(uptimeNanoseconds: deadline), leeway: .milliseconds(1))
    }

    private func fire() {
        armed = .max
        let now = DispatchTime.now().uptimeNanoseconds
        while !cancelled, let top = heap.first, top.deadline <= now {
            popTop()
            top.body()
        }
        if !cancelled, let top = heap.first { arm(top.deadline) }
    }

    private static func less(_ a: Entry, _ b: Entry) -> Bool { (a.deadline, a.order) < (b.deadline, b.order) }

    private func push(_ e: Entry) {
        heap.append(e)
        var i = heap.count - 1
        while i > 0 {
            let p = (i - 1) / 2
            guard Self.less(heap[i], heap[p]) else { break }
            heap.swapAt(i, p)
            i = p
        }
    }

    private func popTop() {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var i = 0
        while true {
            let l = 2 * i + 1, r = l + 1
            var m = i
            if l < heap.count && Self.less(heap[l], heap[m]) { m = l }
            if r < heap.count && Self.less(heap[r], heap[m]) { m = r }
            if m == i { break }
            heap.swapAt(i, m)
            i = m
        }
    }
}
