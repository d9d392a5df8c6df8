import Dispatch
import Foundation
import GossipProtocol
import RecommenderModel
import SocketTransport
import SwarmCrypto

/// Appends lines to a file (created if missing, else continued at its end) from any thread, on its own serial queue, each written as soon as that queue runs.
/// `flush` (synchronous) also fsyncs.
public final class LineWriter: @unchecked Sendable {
    private let queue = DispatchQueue(label: "gossiprec.log")
    private let handle: FileHandle?
    /// Every JSON object line starts with `"insecure":true` (a peer running unkeyed says so in every line).
    private let insecure: Bool

    /// nil path: lines are discarded. `insecure`: mark every JSON line `"insecure":true`.
    public init(path: String?, insecure: Bool = false) throws {
        self.insecure = insecure
        if let path {
            // Appends to an existing log (a restarted process continues its file; nothing earlier is lost).
            if !FileManager.default.fileExists(atPath: path) {
                guard FileManager.default.createFile(atPath: path, contents: nil) else {
                    throw DataError.unwritable(file: path, reason: "cannot create the log file (missing directory or no permission)")
                }
            }
            guard let h = FileHandle(forWritingAtPath: path) else {
                throw DataError.unwritable(file: path, reason: "cannot open the log file for writing (a directory, or no permission)")
            }
            h.seekToEndOfFile()
            handle = h
        } else {
            handle = nil
        }
    }

    /// Written at once, one write(2) per line (a few hundred a second at most), so a process killed with
    /// SIGKILL loses no line it had logged.
    public func write(_ line: String) {
        guard let handle else { return }
        let text = insecure && line.hasPrefix("{") ? "{\"insecure\":true," + line.dropFirst() : line
        queue.async { handle.write(Data(text.utf8) + [0x0A]) }
    }

    /// Waits for the lines written so far, then fsyncs.
    public func flush() {
        queue.sync { try? handle?.synchronize() }
    }

    public func close() {
        queue.sync { try? handle?.close() }
    }
}

/// Hosts many peers in one process: each with its own sockets and serial queue. Peers' queues share one
/// non-overcommitting target queue, so hundreds of peers use as many threads as there are cores.
///
/// Peers sit in slots (slot i: the process's i-th peer). With a `factory`, a slot can go offline (`crash`,
/// `leave`) and come back (`launch`: the factory builds a new peer for it, which resumes from its checkpoint when
/// checkpoints are on, unless it is launched `fresh`, as a newcomer): how a churn profile is applied to real peers
/// (`ScenarioDriver`).
public final class NodeHost: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [PeerNode?]
    /// Builds slot `slot`'s peer, seeded with `seeds`; `fresh`: a newcomer, which must not resume from a checkpoint.
    public typealias Factory = @Sendable (_ slot: Int, _ seeds: [PeerAddress], _ fresh: Bool) throws -> PeerNode
    private let factory: Factory?
    private let log: LineWriter

    /// Every slot online, no restarts.
    public init(peers: [PeerNode], log: LineWriter) {
        self.slots = peers
        self.log = log
        self.factory = nil
    }

    /// `slotCount` slots; those in `online` are built now (in slot order; each later one gets the first one's
    /// address as its seed), the others stay offline until `launch`.
    public init(slotCount: Int, online: [Int], log: LineWriter,
                factory: @escaping Factory) throws {
        self.log = log
        self.factory = factory
        var slots = [PeerNode?](repeating: nil, count: slotCount)
        for i in online.sorted() {
            slots[i] = try factory(i, Array(slots.compactMap { $0?.address }.prefix(1)), false)
        }
        self.slots = slots
    }

    /// The peers online now.
    public var peers: [PeerNode] { lock.withLock { slots.compactMap { $0 } } }
    public var slotCount: Int { lock.withLock { slots.count } }
    public func peer(inSlot i: Int) -> PeerNode? { lock.withLock { slots[i] } }

    /// One queue that all peer queues of this process target.
    public static let sharedTarget = DispatchQueue(label: "gossiprec.peers", attributes: .concurrent, target: .global())

    public func start() { for p in peers { p.start() } }

    /// Installs `keyring` in every running peer (a key rotation step; what SIGHUP does after re-reading the key
    /// file) and returns once each has switched, or after `timeout`. Returns how many switched.
    @discardableResult
    public func updateKeyring(_ keyring: Keyring, timeout: Duration = .seconds(5)) -> Int {
        let running = peers
        let group = DispatchGroup()
        for p in running {
            group.enter()
            p.updateKeyring(keyring) { group.leave() }
        }
        let ms = Int(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        return group.wait(timeout: .now() + .milliseconds(ms)) == .success ? running.count : 0
    }

    /// Takes slot `i` offline as a crash (no leave message, no final checkpoint) or a graceful leave. Returns
    /// false if it was offline. `done` runs once the peer's sockets are closed.
    @discardableResult
    public func takeOffline(_ i: Int, graceful: Bool, done: @escaping @Sendable () -> Void = {}) -> Bool {
        let node: PeerNode? = lock.withLock { let n = slots[i]; slots[i] = nil; return n }
        guard let node else { return false }
        node.stop(graceful: graceful, done: done)
        return true
    }

    /// Brings slot `i` online with a new peer from the factory (seeded with up to 3 online peers of this
    /// process besides the peer's own known peers). Returns the new peer, nil if it was online already. `fresh`: a
    /// newcomer (a scenario's `join`), built without its checkpoint, as the simulator starts one.
    public func launch(_ i: Int, fresh: Bool = false) throws -> PeerNode? {
        guard let factory else { throw NodeHostError.noFactory }
        let seeds: [PeerAddress]? = lock.withLock { slots[i] != nil ? nil : Array(slots.compactMap { $0?.address }.prefix(3)) }
        guard let seeds else { return nil }
        let node = try factory(i, seeds, fresh)
        let raced: Bool = lock.withLock {
            if slots[i] != nil { return true }
            slots[i] = node
            return false
        }
        if raced { node.stop(graceful: false) {}; return nil }
        node.start()
        return node
    }

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

    /// Collects a snapshot of every online peer (waits at most `timeout`).
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

public enum NodeHostError: Error, CustomStringConvertible {
    case noFactory
    public var description: String { "this node host was built without a peer factory: it cannot restart peers" }
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
