// HMAC (RFC 2104) instantiated with SHA-256, as identified and tested in RFC 4231:
//   HMAC(K, m) = H((K0 ⊕ opad) ‖ H((K0 ⊕ ipad) ‖ m))
// where K0 is K padded with zeros to the 64-byte block, after hashing K first if it is longer than a block.

/// An incremental HMAC-SHA256 (RFC 2104, RFC 4231).
///
/// The keyed inner and outer hash states are computed once in `init`, so a value can be copied and reused for many
/// messages under the same key at the cost of two compressions per short message (HKDF-Expand does this).
///
/// Protects against: forgery of a 32-byte tag over a message by anyone without the key, and lets the tag serve as
/// a pseudorandom function of the message (key derivation, key ids).
/// Does not protect against: replays of a (message, tag) pair, or a key holder; and the comparison of tags is the
/// caller's job: compare with `ConstantTime.equals`, never `==` on arrays (which exits at the first difference).
public struct HMACSHA256: Sendable {
    /// Length of a tag in bytes.
    public static let byteCount = SHA256.digestByteCount

    private var inner: SHA256
    private var outer: SHA256

    /// Keys the MAC. Any key length is allowed (RFC 2104 §2); keys longer than 64 bytes are hashed first.
    public init(key: [UInt8]) {
        var block = key.count > SHA256.blockByteCount ? SHA256.hash(key) : key
        block += [UInt8](repeating: 0, count: SHA256.blockByteCount - block.count)
        inner = SHA256()
        outer = SHA256()
        inner.update(block.map { $0 ^ 0x36 })
        outer.update(block.map { $0 ^ 0x5C })
        for i in block.indices { block[i] = 0 }
    }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bytes) }

    /// Appends `bytes` to the message.
    public mutating func update(_ bytes: [UInt8]) { inner.update(bytes) }

    /// The 32-byte tag of the message appended so far.
    public consuming func finalize() -> [UInt8] {
        var o = outer
        o.update(inner.finalize())
        return o.finalize()
    }

    /// HMAC-SHA256(key, message).
    public static func authenticationCode(key: [UInt8], message: [UInt8]) -> [UInt8] {
        var mac = HMACSHA256(key: key)
        mac.update(message)
        return mac.finalize()
    }
}

/// Comparisons whose running time does not depend on where the inputs differ.
///
/// Protects against: timing attacks on a secret comparison (a forger learning, from how fast a wrong tag is
/// refused, how many of its leading bytes were right). Does not protect against: unequal lengths (answered at once;
/// lengths are public here) or the compiler: Swift gives no constant-time guarantee, this relies on the loop having
/// no data-dependent branch, as in the release builds inspected.
public enum ConstantTime {
    /// True when `a` and `b` hold the same bytes. The time depends on the lengths only (which are public: a tag's
    /// length is fixed), never on the position of the first difference: every byte is read, the differences are
    /// OR-ed together, and the result is tested once at the end.
    public static func equals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in a.indices { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}
