import GossipProtocol
import RecommenderModel
import WireFormat

/// Seeded generators of valid protocol values, sized by `Shape` so that fuzzing can use small ones. Shared by
/// the WireFormat tests and the `wire-fuzz` executable (which runs the decoder fuzz on a release build).
public struct Shape: Sendable {
    public var maxUpdates: Int
    public var maxEntries: Int
    public var maxRows: Int
    public var maxDimension: Int
    public var maxInterests: Int

    public init(maxUpdates: Int, maxEntries: Int, maxRows: Int, maxDimension: Int, maxInterests: Int = 8) {
        self.maxUpdates = maxUpdates; self.maxEntries = maxEntries; self.maxRows = maxRows
        self.maxDimension = maxDimension; self.maxInterests = maxInterests
    }

    /// Up to the default limits (but models kept modest so debug builds stay fast).
    public static let full = Shape(maxUpdates: 32, maxEntries: 32, maxRows: 40, maxDimension: 16,
                             maxInterests: Message.maxDisclosedItems)
    /// Small values, cheap to encode and decode many times.
    public static let small = Shape(maxUpdates: 3, maxEntries: 3, maxRows: 4, maxDimension: 3)
}

extension SplitMix64 {
    public mutating func int(_ range: ClosedRange<Int>) -> Int { range.lowerBound + next(below: range.count) }
    public mutating func bool() -> Bool { next() & 1 == 1 }
    public mutating func byte() -> UInt8 { UInt8(truncatingIfNeeded: next()) }

    /// A u64 biased towards edge values (0, 1, max) now and then.
    public mutating func u64() -> UInt64 {
        switch next(below: 8) {
        case 0: return 0
        case 1: return .max
        case 2: return UInt64(next(below: 100))
        default: return next()
        }
    }

    public mutating func address() -> PeerAddress {
        let n = bool() ? 4 : 16
        return PeerAddress(ip: (0..<n).map { _ in byte() }, port: UInt16(truncatingIfNeeded: next()))
    }

    public mutating func status() -> MemberStatus {
        let n = u64()
        switch next(below: 3) {
        case 0: return .alive(incarnation: n)
        case 1: return .suspect(incarnation: n)
        default: return .dead(incarnation: n)
        }
    }

    public mutating func updates(_ shape: Shape) -> [MemberUpdate] {
        (0..<int(0...shape.maxUpdates)).map { _ in MemberUpdate(peer: PeerID(u64()), address: address(), status: status()) }
    }

    public mutating func entries(_ shape: Shape) -> [ViewEntry] {
        (0..<int(0...shape.maxEntries)).map { _ in
            ViewEntry(peer: PeerID(u64()), address: address(), age: UInt16(truncatingIfNeeded: next()))
        }
    }

    /// A finite float of varied magnitude and sign (subnormals, zeros, huge values included).
    public mutating func finiteFloat() -> Float {
        switch next(below: 6) {
        case 0: return 0
        case 1: return -0.0
        case 2: return Float.greatestFiniteMagnitude * (bool() ? 1 : -1)
        case 3: return Float.leastNonzeroMagnitude * Float(int(1...1000))
        default:
            var bits = UInt32(truncatingIfNeeded: next())
            if bits & 0x7F80_0000 == 0x7F80_0000 { bits &= ~0x0080_0000 }  // clear one exponent bit: finite
            return Float(bitPattern: bits)
        }
    }

    public mutating func model(_ shape: Shape) -> ModelPayload {
        let dimension = int(1...shape.maxDimension)
        let itemCount = UInt32(int(1...5_000))
        let rows = min(int(0...shape.maxRows), Int(itemCount))
        var items = Set<UInt32>()
        while items.count < rows { items.insert(UInt32(next(below: Int(itemCount)))) }
        return ModelPayload(itemCount: itemCount, dimension: UInt16(dimension), round: u64(),
                            items: items.sorted(),
                            weights: (0..<rows).map { _ in abs(finiteFloat()) },
                            values: (0..<rows * dimension).map { _ in finiteFloat() })
    }

    /// A valid model rounded to 16 or 8 bits (`RowQuantizer`), which travels in the compact layout (unless it has no
    /// rows, which travels plain).
    public mutating func compactModel(_ shape: Shape) -> ModelPayload {
        var q = RowQuantizer(precision: bool() ? .f16 : .i8)
        return q.quantize(model(shape))
    }

    /// A valid `interests` message: up to `shape.maxInterests` distinct sorted items below a random catalogue.
    public mutating func interests(_ shape: Shape) -> Message {
        let catalogue = UInt32(int(1...5_000))
        let count = min(int(0...shape.maxInterests), Int(catalogue))
        var items = Set<UInt32>()
        while items.count < count { items.insert(UInt32(next(below: Int(catalogue)))) }
        return .interests(epoch: UInt32(truncatingIfNeeded: u64()), catalogueSize: catalogue, items: items.sorted(),
                          wantsReply: bool())
    }

    public mutating func message(_ type: MessageType, _ shape: Shape) -> Message {
        switch type {
        case .join: return .join(address: address(), incarnation: u64())
        case .joinReply: return .joinReply(members: updates(shape))
        case .ping: return .ping(seq: u64(), updates: updates(shape))
        case .pingReq:
            return .pingReq(seq: u64(), target: PeerID(u64()), targetAddress: address(), updates: updates(shape))
        case .ack: return .ack(seq: u64(), target: PeerID(u64()), updates: updates(shape))
        case .nack: return .nack(seq: u64(), target: PeerID(u64()))
        case .shuffleRequest: return .shuffleRequest(seq: u64(), entries: entries(shape))
        case .shuffleReply: return .shuffleReply(seq: u64(), entries: entries(shape))
        case .interests: return interests(shape)
        case .modelPush: return .modelPush(seq: u64(), model: model(shape), wantsReply: bool())
        case .modelReply: return .modelReply(seq: u64(), model: model(shape))
        case .modelPushCompact: return .modelPush(seq: u64(), model: compactModel(shape), wantsReply: bool())
        case .modelReplyCompact: return .modelReply(seq: u64(), model: compactModel(shape))
        case .modelDecline: return .modelDecline(seq: u64(), reason: byte())
        }
    }

    public mutating func envelope(_ shape: Shape, type: MessageType? = nil) -> Envelope {
        let t = type ?? MessageType.allCases[next(below: MessageType.allCases.count)]
        return Envelope(swarmID: UInt32(truncatingIfNeeded: u64()), sender: PeerID(u64()), sequence: u64(),
                        message: message(t, shape), epoch: UInt32(truncatingIfNeeded: u64()))
    }
}

/// Fixes up the checksum trailer of a (possibly mutated) frame whose layout is still intact enough to locate it:
/// lets fuzzing reach the payload decoder instead of stopping at the checksum.
public func withRecomputedChecksum(_ frame: [UInt8]) -> [UInt8] {
    guard frame.count >= 4, let sum = XXH32.hash(frame, range: 0..<frame.count - 4) else { return frame }
    var f = frame
    for k in 0..<4 { f[f.count - 4 + k] = UInt8(truncatingIfNeeded: sum >> (8 * k)) }
    return f
}
