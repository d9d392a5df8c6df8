import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SocketTransport

/// Appends lines to a file from any thread, on its own serial queue, each written as soon as that queue runs.
/// `flush` (synchronous) also fsyncs.
public final class LineWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "gossiprec.log")
    private let handle: FileHandle?
    private var buffer: [UInt8] = []

    /// nil path: lines are discarded.
    public init(path: String?) throws {
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw DataError.unreadable(file: path, reason: "cannot create log file")
            }
            handle = FileHandle(forWritingAtPath: path)
        } else {
            handle = nil
        }
    }

    public func write(_ line: String) {
        guard handle != nil else { return }
        queue.async { [self] in
            buffer.append(contentsOf: line.utf8)
            buffer.append(0x0A)
            // Written at once (one write(2) per line, a few hundred a second at most): a process killed with
            // SIGKILL loses no line it had logged.
            drain()
        }
    }

    private func drain() {
        guard let handle, !buffer.isEmpty else { return }
        handle.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }

    public func flush() {
        queue.sync { drain(); try? handle?.synchronize() }
    }

    public func close() {
        queue.sync { drain(); try? handle?.close() }
    }
}

/// Hosts many peers in one process: each with its own sockets and serial queue. Peers' queues share one
/// non-overcommitting target queue, so hundreds of peers use as many threads as there are cores.
public final class NodeHost: @unchecked Sendable {
    public let peers: [PeerNode]
    private let log: LineWriter
    private let control = DispatchQueue(label: "gossiprec.node")

    public init(peers: [PeerNode], log: LineWriter) {
        self.peers = peers
        self.log = log
    }

    /// One queue that all peer queues of this process target.
    public static let sharedTarget = DispatchQueue(label: "gossiprec.peers", attributes: .concurrent, target: .global())

    public func start() { for p in peers { p.start() } }

    /// Stops every peer (closing sockets and flushing logs) and waits at most `timeout`.
    public func stop(timeout: Duration = .seconds(1)) {
        let group = DispatchGroup()
        for p in peers {
            group.enter()
            p.stop { group.leave() }
        }
        _ = group.wait(timeout: .now() + .nanoseconds(Int(timeout.wholeNanoseconds) + 1_000_000))
        log.flush()
    }

    /// Collects a snapshot of every peer (waits at most `timeout`).
    public func snapshots(timeout: Duration = .seconds(2)) -> [PeerSnapshot] {
        let group = DispatchGroup()
        let out = SnapshotCollector()
        for p in peers {
            group.enter()
            p.snapshot { s in
                out.add(s)
                group.leave()
            }
        }
        _ = group.wait(timeout: .now() + .nanoseconds(Int(timeout.wholeNanoseconds)))
        return out.all
    }
}

/// Aggregate of many peers' snapshots: what a progress line shows.
public struct SwarmSummary: Sendable {
    public var peers = 0
    public var evaluated = 0
    public var hr10 = 0.0
    public var ndcg10 = 0.0
    public var meanRound = 0.0
    public var mbSentPerPeer = 0.0
    public var livePeersMean = 0.0
    public var exchangesCompleted = 0
    public var exchangesFailed = 0

    public init(_ snaps: [PeerSnapshot]) {
        peers = snaps.count
        guard !snaps.isEmpty else { return }
        var hit = 0.0, nd = 0.0, bytes = 0.0, rounds = 0.0, live = 0.0
        for s in snaps {
            if let h = s.hit10, let n = s.ndcg10 { evaluated += 1; hit += h; nd += n }
            bytes += Double(s.stats.bytesSent)
            rounds += Double(s.round)
            live += Double(s.livePeers)
            exchangesCompleted += s.counters.exchangesCompleted
            exchangesFailed += s.counters.exchangesFailed
        }
        if evaluated > 0 { hr10 = hit / Double(evaluated); ndcg10 = nd / Double(evaluated) }
        mbSentPerPeer = bytes / Double(snaps.count) / 1e6
        meanRound = rounds / Double(snaps.count)
        livePeersMean = live / Double(snaps.count)
    }
}

/// Thread-safe accumulation of snapshots arriving from many peers' queues.
final class SnapshotCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [PeerSnapshot] = []
    func add(_ s: PeerSnapshot) { lock.lock(); items.append(s); lock.unlock() }
    var all: [PeerSnapshot] { lock.lock(); defer { lock.unlock() }; return items }
}
