// HKDF (RFC 5869) with HMAC-SHA256:
//   PRK = HMAC(salt, IKM)                                   (§2.2, Extract; an empty salt is 32 zero bytes)
//   T(0) = empty; T(i) = HMAC(PRK, T(i-1) ‖ info ‖ i)       (§2.3, Expand; i is one byte, 1...255)
//   OKM = first L bytes of T(1) ‖ T(2) ‖ ...

/// HKDF-SHA256, the extract-then-expand key derivation function of RFC 5869.
///
/// Protects against: related keys. Keys expanded from one secret with different `info` (or extracted with a
/// different `salt`) are independent pseudorandom values, so one key file can serve several swarms and purposes
/// without any two of them sharing a key.
/// Does not protect against: a weak input secret (HKDF concentrates entropy, it does not create any: a password needs
/// a slow password hash instead); and it adds no secrecy to `salt` and `info`, which are public context.
public enum HKDFSHA256 {
    /// Most bytes one expansion can produce (RFC 5869 §2.3: L <= 255 * HashLen).
    public static let maxOutputByteCount = 255 * HMACSHA256.byteCount

    /// HKDF-Extract(salt, IKM) -> PRK, 32 bytes (RFC 5869 §2.2). An empty `salt` stands for 32 zero bytes (which
    /// HMAC's zero padding of the key makes the same thing).
    public static func extract(salt: [UInt8], inputKeyMaterial: [UInt8]) -> [UInt8] {
        HMACSHA256.authenticationCode(key: salt.isEmpty ? [UInt8](repeating: 0, count: HMACSHA256.byteCount) : salt,
                                      message: inputKeyMaterial)
    }

    /// HKDF-Expand(PRK, info, L) -> OKM (RFC 5869 §2.3). `pseudoRandomKey` must be at least 32 bytes and
    /// `outputByteCount` at most 8,160 (programmer errors, checked by precondition).
    public static func expand(pseudoRandomKey: [UInt8], info: [UInt8], outputByteCount: Int) -> [UInt8] {
        precondition(pseudoRandomKey.count >= HMACSHA256.byteCount, "HKDF-Expand needs a PRK of at least 32 bytes")
        return expand(HMACSHA256(key: pseudoRandomKey), info: info, outputByteCount: outputByteCount)
    }

    /// HKDF-Expand with the PRK already keyed into `prf` (saves the two key-block compressions per call).
    static func expand(_ prf: HMACSHA256, info: [UInt8], outputByteCount: Int) -> [UInt8] {
        precondition(outputByteCount >= 0 && outputByteCount <= maxOutputByteCount,
                     "HKDF-Expand output length must be 0...8160 bytes")
        var okm: [UInt8] = []
        okm.reserveCapacity(outputByteCount)
        var t: [UInt8] = []
        var counter: UInt8 = 1
        while okm.count < outputByteCount {
            var mac = prf
            mac.update(t)
            mac.update(info)
            mac.update([counter])
            t = mac.finalize()
            okm += t.prefix(outputByteCount - okm.count)
            counter &+= 1
        }
        return okm
    }

    /// Extract then expand: `outputByteCount` bytes of key material from `inputKeyMaterial`.
    public static func deriveKey(inputKeyMaterial: [UInt8], salt: [UInt8], info: [UInt8],
                                 outputByteCount: Int) -> [UInt8] {
        expand(pseudoRandomKey: extract(salt: salt, inputKeyMaterial: inputKeyMaterial), info: info,
               outputByteCount: outputByteCount)
    }
}
