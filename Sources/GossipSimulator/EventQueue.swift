/// A priority queue of events keyed by (virtual time, insertion sequence): a binary min-heap, so that events at
/// equal times come out in the order they were pushed (as swift-nio's `EmbeddedEventLoop` breaks ties). With
/// no other source of order, a simulation driven by it is deterministic.
///
/// Heap entries are 24 bytes (time, sequence, slot); the events themselves stay in a slot array, so sifting
/// never copies an event (a model message can be hundreds of kilobytes of array references and enum payload).
public struct EventQueue<Event> {
    struct Entry {
        var time: Int64
        var sequence: UInt64
        var slot: Int32
        @inline(__always) func precedes(_ o: Entry) -> Bool {
            time < o.time || (time == o.time && sequence < o.sequence)
        }
    }

    private var heap: [Entry] = []
    private var slots: [Event?] = []
    private var freeSlots: [Int32] = []
    private var sequence: UInt64 = 0

    public init() {}

    public var count: Int { heap.count }
    public var isEmpty: Bool { heap.isEmpty }
    /// The time of the earliest event, if any.
    public var nextTime: Int64? { heap.first?.time }

    /// Adds `event` at virtual time `time` (nanoseconds), after every event already queued for that time.
    public mutating func push(_ event: Event, at time: Int64) {
        sequence &+= 1
        let slot: Int32
        if let free = freeSlots.popLast() {
            slot = free
            slots[Int(slot)] = event
        } else {
            slot = Int32(slots.count)
            slots.append(event)
        }
        heap.append(Entry(time: time, sequence: sequence, slot: slot))
        var i = heap.count - 1
        let e = heap[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard e.precedes(heap[parent]) else { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = e
    }

    /// Removes and returns the earliest event with its time.
    public mutating func pop() -> (time: Int64, event: Event)? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        if !heap.isEmpty {
            var i = 0
            let n = heap.count
            while true {
                let l = 2 * i + 1
                if l >= n { break }
                var c = l
                if l + 1 < n && heap[l + 1].precedes(heap[l]) { c = l + 1 }
                guard heap[c].precedes(last) else { break }
                heap[i] = heap[c]
                i = c
            }
            heap[i] = last
        }
        let event = slots[Int(top.slot)].take()!
        freeSlots.append(top.slot)
        return (top.time, event)
    }
}
