import GossipProtocol

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
        case .modelPush: return .modelPush
        case .modelReply: return .modelReply
        case .modelDecline: return .modelDecline
        }
    }
}

/// Frame flag bits (u16). Bits this version does not define are rejected (`DecodeError.unknownFlags`), so a
/// future feature can never be silently misread by an old peer.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    /// An authentication-tag field (u16 length + bytes) follows the payload.
    public static let authTag = FrameFlags(rawValue: 1 << 0)

    /// Every bit this version (2) defines.
    public static let known: FrameFlags = [.authTag]
}

/// The fixed 32-byte frame header (all integers little-endian):
///
/// | offset | size | field          |
/// |-------:|-----:|----------------|
/// |      0 |    4 | magic "GREC"   |
/// |      4 |    1 | version (2)    |
/// |      5 |    1 | message type   |
/// |      6 |    2 | flags          |
/// |      8 |    4 | swarm id       |
/// |     12 |    8 | sender PeerID  |
/// |     20 |    8 | sequence       |
/// |     28 |    4 | payload length |
///
/// then `payload length` bytes of payload, then (if `.authTag`) u16 tag length + tag, then the u32 XXH32
/// (seed 0) of every preceding byte of the frame.
public struct FrameHeader: Hashable, Sendable {
    public var version: UInt8
    public var type: MessageType
    public var flags: FrameFlags
    public var swarmID: UInt32
    public var sender: PeerID
    public var sequence: UInt64
    public var payloadLength: Int

    /// Size of the fixed header.
    public static let byteCount = 32
    /// The magic bytes "GREC".
    public static let magic: [UInt8] = [0x47, 0x52, 0x45, 0x43]
    /// Size of the XXH32 checksum trailer.
    public static let checksumByteCount = 4

    public init(version: UInt8 = WireCodec.version, type: MessageType, flags: FrameFlags, swarmID: UInt32,
                sender: PeerID, sequence: UInt64, payloadLength: Int) {
        self.version = version; self.type = type; self.flags = flags; self.swarmID = swarmID
        self.sender = sender; self.sequence = sequence; self.payloadLength = payloadLength
    }

    /// The bytes a keyed MAC (when one is added) authenticates: `frame[0 ..< authenticatedByteCount]`, i.e. the
    /// header (with `.authTag` set) and the payload, not the tag itself nor the checksum.
    public var authenticatedByteCount: Int { Self.byteCount + payloadLength }

    /// Offset of the tag-length field (when `.authTag` is set) or of the checksum (when not).
    public var trailerOffset: Int { authenticatedByteCount }

    /// The whole frame's length given the auth tag's length (ignored when the flag is clear).
    public func frameByteCount(authTagLength: Int) -> Int {
        authenticatedByteCount + (flags.contains(.authTag) ? 2 + authTagLength : 0) + Self.checksumByteCount
    }

    /// Parses and checks the fixed header at the front of `bytes`: magic, version, type, flags, and the payload
    /// length against the frame-size limit of the type's channel. Does not look at the payload, the tag, the
    /// checksum or the swarm id.
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
        let header = FrameHeader(version: version, type: type, flags: flags, swarmID: swarm, sender: sender,
                                 sequence: sequence, payloadLength: payloadLength)
        // The smallest frame this header allows (empty tag) must already fit the limit.
        let limit = limits.maxFrameBytes(for: type.channel)
        let minimal = header.frameByteCount(authTagLength: 0)
        guard minimal <= limit else { throw .lengthExceedsLimit(field: "frame_length", length: minimal, limit: limit) }
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
    }
}

/// A message as it travels: who sent it, in which swarm, with which frame sequence number, and the optional
/// authentication tag.
public struct Envelope: Hashable, Sendable {
    /// Identifies the swarm (deployment): a peer drops frames of another swarm sharing its ports.
    public var swarmID: UInt32
    /// The peer that built this frame.
    public var sender: PeerID
    /// The sender's per-frame counter, increasing over the sender's lifetime (for duplicate and, once frames are
    /// authenticated, replay detection). Distinct from the request/reply `seq` inside messages.
    public var sequence: UInt64
    public var message: Message
    /// Reserved for a keyed MAC over `FrameHeader.authenticatedByteCount` bytes; nil means no tag field at all.
    public var authTag: [UInt8]?

    public init(swarmID: UInt32, sender: PeerID, sequence: UInt64, message: Message, authTag: [UInt8]? = nil) {
        self.swarmID = swarmID; self.sender = sender; self.sequence = sequence
        self.message = message; self.authTag = authTag
    }
}
