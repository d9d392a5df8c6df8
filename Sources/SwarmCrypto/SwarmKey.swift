// Swarm keys and what is derived from them.
//
// A swarm key is the 32-byte secret in a key file. It never keys a cipher itself: each use gets its own key from
// HKDF-SHA256 (RFC 5869), with the context in the salt and info:
//
//   PRK        = HKDF-Extract(salt = "gossiprec swarm key" ‖ 0x00 ‖ swarm id (u32 le) ‖ wire version (u8),
//                             IKM  = swarm key)
//   sender key = HKDF-Expand(PRK, info = purpose (UTF-8) ‖ 0x00 ‖ sender id (u64 le), L = 32)
//
// so one key file can serve several swarms, wire versions and purposes, and each sender seals under a key of its
// own (which is what lets a sender's nonce be only its own epoch and sequence number: see `NonceSequence`).
// A key's id, sent in the clear so a receiver picks the right key without trial decryption, is
//
//   key id     = first 4 bytes of HMAC-SHA256(swarm key, "gossiprec key id"), read as a little-endian u32
//
// a pseudorandom function of the key: it tells an observer which frames share a key, nothing about the key.

/// The 4-byte public name of a swarm key (HMAC-SHA256(key, "gossiprec key id"), first 4 bytes little-endian).
///
/// Protects against: trial decryption (a receiver looks the key up by id) without revealing the key: it is a
/// pseudorandom function of it. Does not protect against: linking: every frame under one key shows the same id, and
/// only 32 bits: two keys collide with probability 2^-32 per pair (the keyring refuses such a pair).
public struct KeyID: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Eight hex digits, e.g. `0a1b2c3d`.
    public var description: String { String(rawValue, radix: 16).leftPadded(to: 8) }
}

/// The context a key is derived for: which swarm, which wire version, which purpose.
///
/// Protects against: one key file's keys being reused across swarms, wire versions or purposes. Does not protect
/// against: anything secret; the context is public (the swarm id travels in every frame header).
public struct KeyContext: Hashable, Sendable {
    /// The purpose of frame keys under wire version 3.
    public static let framePurpose = "gossiprec v3 frame"

    public var swarmID: UInt32
    public var wireVersion: UInt8
    /// What the derived keys are for, e.g. `framePurpose`. Distinct purposes give independent keys; a purpose must
    /// have exactly one nonce sequence per sender (two counters under one purpose would reuse nonces).
    public var purpose: String

    public init(swarmID: UInt32, wireVersion: UInt8 = 3, purpose: String) {
        precondition(!purpose.utf8.contains(0), "a key purpose cannot contain a NUL byte (it separates the fields)")
        self.swarmID = swarmID
        self.wireVersion = wireVersion
        self.purpose = purpose
    }

    /// The HKDF salt: "gossiprec swarm key" ‖ 0x00 ‖ swarm id (u32 le) ‖ wire version.
    var salt: [UInt8] {
        Array("gossiprec swarm key".utf8) + [0] + (0..<4).map { UInt8(truncatingIfNeeded: swarmID >> (8 * UInt32($0))) }
            + [wireVersion]
    }

    /// The HKDF info for `sender`: purpose ‖ 0x00 ‖ sender id (u64 le).
    func info(sender: UInt64) -> [UInt8] {
        Array(purpose.utf8) + [0] + (0..<8).map { UInt8(truncatingIfNeeded: sender >> (8 * UInt64($0))) }
    }
}

/// A 32-byte swarm key: the shared secret of every peer of a swarm (one key file).
///
/// Protects against: outsiders. Frames sealed under keys derived from it cannot be read or forged without it, and
/// `description` shows only the key id, so the key does not leak into logs.
/// Does not protect against: any holder of the key. Every peer holds it, and can derive *every* sender's key, so a
/// key holder can read all frames and seal frames that claim to come from any peer; membership and learning must
/// still check what peers claim. It does not protect a key that leaks: rotate (`Keyring`).
public struct SwarmKey: Sendable, CustomStringConvertible {
    public static let byteCount = 32

    private let secret: SymmetricKey
    /// The key's public id.
    public let id: KeyID

    /// The key of exactly 32 bytes, or nil for any other length.
    public init?(bytes: [UInt8]) {
        guard let secret = SymmetricKey(bytes: bytes) else { return nil }
        self.secret = secret
        let mac = HMACSHA256.authenticationCode(key: bytes, message: Array("gossiprec key id".utf8))
        id = KeyID(rawValue: UInt32(mac[0]) | UInt32(mac[1]) << 8 | UInt32(mac[2]) << 16 | UInt32(mac[3]) << 24)
    }

    /// A new key from `generator`, which must be a cryptographically secure generator: pass a
    /// `SystemRandomNumberGenerator` (getrandom(2) on Linux). A seeded test generator gives a predictable key.
    public static func generate(using generator: inout some RandomNumberGenerator) -> SwarmKey {
        var bytes: [UInt8] = []
        for _ in 0..<4 {
            let word = generator.next()
            for j in 0..<8 { bytes.append(UInt8(truncatingIfNeeded: word >> (8 * UInt64(j)))) }
        }
        return SwarmKey(bytes: bytes)!
    }

    /// The 32 secret bytes, for writing a key file. Do not log them.
    public var bytes: [UInt8] { secret.bytes }

    /// Whether both values hold the same secret (constant time).
    public func sameSecret(as other: SwarmKey) -> Bool { secret.constantTimeEquals(other.secret) }

    /// The derivations of this key in `context` (one HKDF-Extract; keep the result, it is cheap to use).
    public func schedule(for context: KeyContext) -> KeySchedule {
        KeySchedule(keyID: id, context: context,
                    pseudoRandomKey: HKDFSHA256.extract(salt: context.salt, inputKeyMaterial: secret.bytes))
    }

    public var description: String { "SwarmKey(id: \(id))" }
}

/// One swarm key's derived keys in one context: a key per sender.
///
/// Protects against: key reuse across swarms, wire versions, purposes and senders (each gets an independent key),
/// which is what makes a nonce unique per sender enough. Does not protect against: a key holder, who can compute
/// every sender's key (see `SwarmKey`).
public struct KeySchedule: Sendable {
    /// The swarm key this schedule derives from.
    public let keyID: KeyID
    public let context: KeyContext
    /// HMAC keyed with the PRK: each expansion costs two SHA-256 compressions.
    private let prf: HMACSHA256

    init(keyID: KeyID, context: KeyContext, pseudoRandomKey: [UInt8]) {
        self.keyID = keyID
        self.context = context
        prf = HMACSHA256(key: pseudoRandomKey)
    }

    /// The key `sender` seals its frames with, and its receivers open them with.
    public func senderKey(_ sender: UInt64) -> SymmetricKey {
        SymmetricKey(bytes: HKDFSHA256.expand(prf, info: context.info(sender: sender),
                                              outputByteCount: SymmetricKey.byteCount))!
    }
}
