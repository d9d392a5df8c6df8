/// Why a frame was rejected. Every case has a stable, short `reason` (snake_case, never reworded) that the
/// node uses as the key of its drop counter ("counted, logged reason"), and a `description` that names the
/// offending field and value for the log line.
///
/// Decoding never traps and never allocates on the say-so of an unchecked length: every failure on any input
/// is one of these cases.
public enum DecodeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A read needed `needed` bytes but only `available` were left (frame cut short, or a length field that
    /// promises more than the frame holds).
    case truncated(needed: Int, available: Int)
    /// The first four bytes are not "GREC": not a GossipRec frame at all.
    case badMagic
    /// A frame of a protocol version this build does not speak.
    case unsupportedVersion(UInt8)
    /// A message type byte this version does not define.
    case unknownMessageType(UInt8)
    /// Flag bits this version does not define (a newer peer's feature we cannot honour).
    case unknownFlags(UInt16)
    /// The XXH32 checksum trailer does not match the frame's bytes (corruption in transit or a framing bug).
    case badChecksum(stored: UInt32, computed: UInt32)
    /// The frame comes from another swarm sharing our ports.
    case wrongSwarm(expected: UInt32, found: UInt32)
    /// A length or count field exceeds its `WireLimits` bound (checked before anything is allocated).
    case lengthExceedsLimit(field: String, length: Int, limit: Int)
    /// A float field holds NaN or an infinity.
    case nonFiniteFloat(field: String)
    /// Bytes left over after a complete frame or payload (every frame has exactly one valid encoding).
    case trailingBytes(count: Int)
    /// A sealed frame names a key this receiver does not hold (or the receiver runs `--insecure` and holds none).
    case unknownKey(UInt32)
    /// A sealed frame's tag does not match: forged, corrupted, or sealed under another key context.
    case badTag
    /// An authentic frame whose (epoch, sequence) the sender's replay window has seen, or is too old to judge.
    case replayed(epoch: UInt32, sequence: UInt64)
    /// An authentic frame from an earlier epoch (process start) of its sender than the latest seen.
    case staleEpoch(epoch: UInt32, current: UInt32)
    /// An unsealed frame reached a keyed receiver.
    case unsealed
    /// Any other semantic violation (bad address length, unsorted item list, negative weight, ...).
    case invalid(String)

    /// Stable counter key for this kind of rejection.
    public var reason: String {
        switch self {
        case .truncated: return "truncated"
        case .badMagic: return "bad_magic"
        case .unsupportedVersion: return "unsupported_version"
        case .unknownMessageType: return "unknown_message_type"
        case .unknownFlags: return "unknown_flags"
        case .badChecksum: return "bad_checksum"
        case .wrongSwarm: return "wrong_swarm"
        case .lengthExceedsLimit: return "length_exceeds_limit"
        case .nonFiniteFloat: return "non_finite_float"
        case .trailingBytes: return "trailing_bytes"
        case .unknownKey: return "unknown_key"
        case .badTag: return "bad_tag"
        case .replayed: return "replayed"
        case .staleEpoch: return "stale_epoch"
        case .unsealed: return "unsealed"
        case .invalid: return "invalid"
        }
    }

    /// Every `reason` string, for pre-registering counters.
    public static let allReasons: [String] = [
        "truncated", "bad_magic", "unsupported_version", "unknown_message_type", "unknown_flags", "bad_checksum",
        "wrong_swarm", "length_exceeds_limit", "non_finite_float", "trailing_bytes", "unknown_key", "bad_tag", "replayed", "stale_epoch", "unsealed", "invalid",
    ]

    public var description: String {
        switch self {
        case .truncated(let needed, let available):
            return "truncated: needed \(needed) bytes, \(available) available"
        case .badMagic: return "bad magic: not a GossipRec frame"
        case .unsupportedVersion(let v): return "unsupported wire version \(v) (this build speaks \(WireCodec.version))"
        case .unknownMessageType(let t): return "unknown message type 0x\(String(t, radix: 16))"
        case .unknownFlags(let f): return "unknown flag bits 0x\(String(f, radix: 16))"
        case .badChecksum(let stored, let computed):
            return "bad checksum: frame says 0x\(String(stored, radix: 16)), bytes give 0x\(String(computed, radix: 16))"
        case .wrongSwarm(let expected, let found): return "wrong swarm: expected \(expected), frame is from \(found)"
        case .lengthExceedsLimit(let field, let length, let limit):
            return "\(field) = \(length) exceeds the limit \(limit)"
        case .nonFiniteFloat(let field): return "\(field) is not finite (NaN or infinity)"
        case .trailingBytes(let n): return "\(n) unexpected trailing bytes"
        case .unknownKey(let id): return "sealed under unknown key id \(String(id, radix: 16))"
        case .badTag: return "bad tag: forged, corrupted, or sealed under another key"
        case .replayed(let e, let s): return "replayed: epoch \(e) sequence \(s) already seen or too old"
        case .staleEpoch(let e, let c): return "stale epoch \(e): the sender is at epoch \(c)"
        case .unsealed: return "unsealed frame: this peer requires sealed frames (the sender runs --insecure?)"
        case .invalid(let what): return "invalid: \(what)"
        }
    }
}

/// The encoder refuses to produce a frame that a receiver with the same `WireLimits` would reject;
/// `rejection` is the error that receiver would report (so the sender's log and the receiver's counter agree).
public struct EncodeError: Error, Hashable, Sendable, CustomStringConvertible {
    public var rejection: DecodeError
    public init(_ rejection: DecodeError) { self.rejection = rejection }
    public var reason: String { rejection.reason }
    public var description: String { "refusing to encode, a receiver would reject it: \(rejection)" }
}
