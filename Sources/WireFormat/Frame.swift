import GossipProtocol
import RecommenderModel

/// Which transport a message type travels on, and so which frame-size limit applies to it.
public enum WireChannel: Hashable, Sendable {
    /// UDP: membership (SWIM, Cyclon, join). Frames stay below one MTU.
    case datagram
    /// TCP: model exchange. Frames may be megabytes; `FrameAccumulator` reassembles them.
    case stream
}

/// The message type byte. Membership types are below 0x10 (datagram channel), model-exchange types from 0x10
/// (stream channel). Values are part of the wire format: never renumber, only add.
public enum MessageType: UInt8, CaseIterable, Hashable, Sendable {
    case join = 0x01
    case joinReply = 0x02
    case ping = 0x03
    case pingReq = 0x04
    case ack = 0x05
    case nack = 0x06
    case shuffleRequest = 0x07
    case shuffleReply = 0x08
    case interests = 0x09
    case modelPush = 0x10
    case modelReply = 0x11
    case modelDecline = 0x12
    /// `modelPush` / `modelReply` whose model is in the compact layout (16- or 8-bit values, varint item gaps): the
    /// type a `ModelPayload` with `precision` other than `.f32` travels as.
    case modelPushCompact = 0x13
    case modelReplyCompact = 0x14

    public var channel: WireChannel { rawValue >= 0x10 ? .stream : .datagram }
}

extension Message {
    /// This message's type byte.
    public var wireType: MessageType {
        switch self {
        case .join: return .join
        case .joinReply: return .joinReply
        case .ping: return .ping
        case .pingReq: return .pingReq
        case .ack: return .ack
        case .nack: return .nack
        case .shuffleRequest: return .shuffleRequest
        case .shuffleReply: return .shuffleReply
        case .interests: return .interests
        case .modelPush(_, let m, _): return m.precision == .f32 ? .modelPush : .modelPushCompact
        case .modelReply(_, let m): return m.precision == .f32 ? .modelReply : .modelReplyCompact
        case .modelDecline: return .modelDecline
        }
    }
}

/// Frame flag bits (u16). Bits this version does not define are rejected (`DecodeError.unknownFlags`), so a
/// future feature can never be silently misread by an old peer.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// The payload is encrypted and a 16-byte ChaCha20-Poly1305 tag follows it (instead of the XXH32 trailer).
    public static let sealed = FrameFlags(rawValue: 1 << 0)

    /// Every bit this version (3) defines.
    public static let known: FrameFlags = [.sealed]
}

/// The fixed 40-byte frame header of wire version 3 (all integers little-endian):
///
/// | offset | size | field                                         |
/// |-------:|-----:|-----------------------------------------------|
/// |      0 |    4 | magic "GREC"                                  |
/// |      4 |    1 | version (3)                                   |
/// |      5 |    1 | message type                                  |
/// |      6 |    2 | flags (bit 0: sealed)                         |
/// |      8 |    4 | swarm id                                      |
/// |     12 |    8 | sender PeerID                                 |
/// |     20 |    8 | sequence (nonce, low 8 bytes)                 |
/// |     28 |    4 | payload length                                |
/// |     32 |    4 | key id (0 when not sealed)                    |
/// |     36 |    4 | sender epoch (nonce, high 4 bytes)            |
///
/// then `payload length` bytes of payload, then either (sealed) the 16-byte ChaCha20-Poly1305 tag over the header
/// (associated data) and the encrypted payload, or (not sealed) the u32 XXH32 (seed 0) of every preceding byte.
/// A sealed frame carries no XXH32: the tag already detects every accident a checksum would, and more.
public struct FrameHeader: Hashable, Sendable {
    public var version: UInt8
    public var type: MessageType
    public var flags: FrameFlags
    public var swarmID: UInt32
    public var sender: PeerID
    public var sequence: UInt64
    public var payloadLength: Int
    /// The sealing key's id (`SwarmCrypto.KeyID.rawValue`); 0 on an unsealed frame.
    public var keyID: UInt32
    /// The sender's nonce epoch (`NonceSequence.epoch`): with `sequence`, the frame's nonce.
    public var epoch: UInt32

    /// Size of the fixed header.
    public static let byteCount = 40
    /// The magic bytes "GREC".
    public static let magic: [UInt8] = [0x47, 0x52, 0x45, 0x43]
    /// Size of the XXH32 checksum trailer of an unsealed frame.
    public static let checksumByteCount = 4
    /// Size of the tag trailer of a sealed frame.
    public static let tagByteCount = 16

    public init(version: UInt8 = WireCodec.version, type: MessageType, flags: FrameFlags, swarmID: UInt32,
                sender: PeerID, sequence: UInt64, payloadLength: Int, keyID: UInt32 = 0, epoch: UInt32 = 0) {
        self.version = version; self.type = type; self.flags = flags; self.swarmID = swarmID
        self.sender = sender; self.sequence = sequence; self.payloadLength = payloadLength
        self.keyID = keyID; self.epoch = epoch
    }

    /// Header and payload: what the trailer (tag or checksum) follows.
    public var authenticatedByteCount: Int { Self.byteCount + payloadLength }

    /// Offset of the trailer (tag or checksum).
    public var trailerOffset: Int { authenticatedByteCount }

    /// Size of this frame's trailer: the tag when sealed, the checksum when not.
    public var trailerByteCount: Int { flags.contains(.sealed) ? Self.tagByteCount : Self.checksumByteCount }

    /// The whole frame's length.
    public var frameByteCount: Int { authenticatedByteCount + trailerByteCount }

    /// Parses and checks the fixed header at the front of `bytes`: magic, version, type, flags, and the frame
    /// length against the frame-size limit of the type's channel. Does not look at the payload, the trailer, the
    /// key id or the swarm id.
    public static func parse(_ bytes: [UInt8], at offset: Int = 0, limits: WireLimits) throws(DecodeError) -> FrameHeader {
        guard bytes.count - offset >= byteCount else {
            throw .truncated(needed: byteCount, available: bytes.count - offset)
        }
        var r = try ByteReader(bytes, range: offset..<offset + byteCount)
        let magic: UInt32 = try r.read()
        guard magic == Self.magicValue else { throw .badMagic }
        let version: UInt8 = try r.read()
        guard version == WireCodec.version else { throw .unsupportedVersion(version) }
        let rawType: UInt8 = try r.read()
        guard let type = MessageType(rawValue: rawType) else { throw .unknownMessageType(rawType) }
        let flags = FrameFlags(rawValue: try r.read(UInt16.self))
        guard FrameFlags.known.isSuperset(of: flags) else {
            throw .unknownFlags(flags.subtracting(.known).rawValue)
        }
        let swarm: UInt32 = try r.read()
        let sender = PeerID(try r.read(UInt64.self))
        let sequence: UInt64 = try r.read()
        let payloadLength = Int(try r.read(UInt32.self))
        let keyID: UInt32 = try r.read()
        let epoch: UInt32 = try r.read()
        guard flags.contains(.sealed) || keyID == 0 else { throw .invalid("key_id \(keyID) on an unsealed frame") }
        let header = FrameHeader(version: version, type: type, flags: flags, swarmID: swarm, sender: sender,
                                 sequence: sequence, payloadLength: payloadLength, keyID: keyID, epoch: epoch)
        let limit = limits.maxFrameBytes(for: type.channel)
        let total = header.frameByteCount
        guard total <= limit else { throw .lengthExceedsLimit(field: "frame_length", length: total, limit: limit) }
        return header
    }

    /// "GREC" read as a little-endian u32.
    static let magicValue: UInt32 = 0x4345_5247

    func write(to w: inout ByteWriter) {
        w.writeBytes(Self.magic)
        w.writeInteger(version)
        w.writeInteger(type.rawValue)
        w.writeInteger(flags.rawValue)
        w.writeInteger(swarmID)
        w.writeInteger(sender.raw)
        w.writeInteger(sequence)
        w.writeInteger(UInt32(truncatingIfNeeded: payloadLength))
        w.writeInteger(keyID)
        w.writeInteger(epoch)
    }
}

/// A message as it travels: who sent it, in which swarm, with which frame nonce (epoch, sequence), and under which
/// key (if sealed).
public struct Envelope: Hashable, Sendable {
    /// Identifies the swarm (deployment): a peer drops frames of another swarm sharing its ports.
    public var swarmID: UInt32
    /// The peer that built this frame.
    public var sender: PeerID
    /// The sender's per-frame counter, increasing over the sender's process lifetime: with `epoch`, the frame's
    /// nonce and the replay filter's input. Distinct from the request/reply `seq` inside messages.
    public var sequence: UInt64
    public var message: Message
    /// The sender's epoch (one per process start, increasing). A sealing encode stamps its `FrameSecurity`'s.
    public var epoch: UInt32
    /// The id of the key the frame was sealed under (set by decode); nil for an unsealed frame.
    public var keyID: UInt32?

    public init(swarmID: UInt32, sender: PeerID, sequence: UInt64, message: Message, epoch: UInt32 = 0,
                keyID: UInt32? = nil) {
        self.swarmID = swarmID; self.sender = sender; self.sequence = sequence
        self.message = message; self.epoch = epoch; self.keyID = keyID
    }
}
