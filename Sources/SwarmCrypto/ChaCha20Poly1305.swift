// AEAD_CHACHA20_POLY1305 as specified in RFC 8439 §2.8:
//   otk        = first 32 bytes of ChaCha20 block(key, counter 0, nonce)          (§2.6, the one-time Poly1305 key)
//   ciphertext = plaintext XOR ChaCha20 keystream(key, counter 1..., nonce)       (§2.4)
//   tag        = Poly1305(otk, aad ‖ pad16 ‖ ciphertext ‖ pad16 ‖ len(aad) u64le ‖ len(ciphertext) u64le)
// Opening computes the tag over the received ciphertext first, compares it in constant time, and decrypts only
// if it matches: no unauthenticated plaintext is ever produced.
//
// Encryption and authentication run over the data in 16 KB chunks, so each chunk is still in the L1/L2 cache when
// Poly1305 reads what ChaCha20 wrote.

/// Why `ChaCha20Poly1305.open` refused a message.
public enum AEADError: Error, Hashable, Sendable {
    /// The sealed message is shorter than a tag.
    case truncated(length: Int)
    /// The tag does not match: wrong key, wrong nonce, wrong associated data, or a modified ciphertext or tag.
    /// Deliberately one case: which of these it was is not observable.
    case authenticationFailed
}

/// AEAD_CHACHA20_POLY1305 (RFC 8439 §2.8): authenticated encryption with associated data.
///
/// Protects against: reading of the plaintext, and any change to the ciphertext, the tag or the associated data
/// (a frame header passed as `aad`), by anyone without the key: a forgery succeeds with probability at most
/// 8 ⌈L/16⌉ / 2^106 per attempt for L bytes (2^-84 for an 8 MB frame). Tags are compared in constant time.
/// Does not protect against: a key holder (every peer of the swarm holds the key and can seal anything, claiming to
/// be any sender); replays (a recorded sealed frame opens again: use `ReplayWindow`); traffic analysis (lengths and
/// timing are visible); nonce reuse (a second message under the same key and nonce reveals the XOR of both
/// plaintexts and lets the holder of both forge: see `NonceSequence`).
public enum ChaCha20Poly1305 {
    /// Bytes a sealed message adds to its plaintext.
    public static let tagByteCount = AuthenticationTag.byteCount
    /// Longest plaintext one (key, nonce) can seal: 2^32 - 1 blocks of 64 bytes (RFC 8439 §2.8, P_MAX).
    public static let maxPlaintextByteCount = 274_877_906_880

    private static let chunkByteCount = 16 * 1024

    /// Encrypts `plaintext` in place and returns the tag over `aad` and the ciphertext (detached, for frames that
    /// carry the tag in a field of their own).
    public static func seal(key: SymmetricKey, nonce: Nonce, aad: UnsafeRawBufferPointer,
                            inPlace buffer: UnsafeMutableRawBufferPointer) -> AuthenticationTag {
        precondition(buffer.count <= maxPlaintextByteCount, "ChaCha20-Poly1305: plaintext longer than P_MAX")
        let cipher = ChaCha20(key: key, nonce: nonce)
        var mac = oneTimeAuthenticator(cipher)
        mac.update(aad)
        mac.padToBlock()
        var offset = 0
        var counter: UInt32 = 1
        while offset < buffer.count {
            let end = min(offset + chunkByteCount, buffer.count)
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<end])
            cipher.xorKeystream(into: chunk, counter: counter)
            mac.update(UnsafeRawBufferPointer(chunk))
            counter &+= UInt32(chunkByteCount / ChaCha20.blockByteCount)
            offset = end
        }
        return finish(mac, aadCount: aad.count, textCount: buffer.count)
    }

    /// Checks `tag` against `aad` and the ciphertext in `buffer`, then decrypts `buffer` in place. On
    /// `.authenticationFailed` the buffer is left as it was (still ciphertext).
    public static func open(key: SymmetricKey, nonce: Nonce, aad: UnsafeRawBufferPointer,
                            inPlace buffer: UnsafeMutableRawBufferPointer,
                            tag: AuthenticationTag) throws(AEADError) {
        guard verifyThenDecrypt(key: key, nonce: nonce, aad: aad, buffer: buffer, tag: tag) else {
            throw .authenticationFailed
        }
    }

    /// Seals `plaintext`: returns the ciphertext followed by the 16-byte tag.
    public static func seal(key: SymmetricKey, nonce: Nonce, aad: [UInt8], plaintext: [UInt8]) -> [UInt8] {
        var out = plaintext
        out.reserveCapacity(plaintext.count + tagByteCount)
        let tag = aad.withUnsafeBytes { a in
            out.withUnsafeMutableBytes { seal(key: key, nonce: nonce, aad: a, inPlace: $0) }
        }
        out += tag.bytes
        return out
    }

    /// Opens `sealed` (ciphertext followed by the 16-byte tag): returns the plaintext, or throws without
    /// producing any plaintext when the tag does not match.
    public static func open(key: SymmetricKey, nonce: Nonce, aad: [UInt8], sealed: [UInt8]) throws(AEADError) -> [UInt8] {
        guard sealed.count >= tagByteCount else { throw .truncated(length: sealed.count) }
        let textCount = sealed.count - tagByteCount
        let tag = sealed.withUnsafeBytes { AuthenticationTag(UnsafeRawBufferPointer(rebasing: $0[textCount...])) }
        var text = Array(sealed[..<textCount])
        let opened = aad.withUnsafeBytes { a in
            text.withUnsafeMutableBytes { verifyThenDecrypt(key: key, nonce: nonce, aad: a, buffer: $0, tag: tag) }
        }
        guard opened else { throw .authenticationFailed }
        return text
    }

    /// The tag over `aad` and the ciphertext in `buffer`, compared with `tag` in constant time; only if they match
    /// is `buffer` decrypted in place.
    private static func verifyThenDecrypt(key: SymmetricKey, nonce: Nonce, aad: UnsafeRawBufferPointer,
                                          buffer: UnsafeMutableRawBufferPointer, tag: AuthenticationTag) -> Bool {
        guard buffer.count <= maxPlaintextByteCount else { return false }
        let cipher = ChaCha20(key: key, nonce: nonce)
        var mac = oneTimeAuthenticator(cipher)
        mac.update(aad)
        mac.padToBlock()
        mac.update(UnsafeRawBufferPointer(buffer))
        guard finish(mac, aadCount: aad.count, textCount: buffer.count) == tag else { return false }
        cipher.xorKeystream(into: buffer, counter: 1)
        return true
    }

    /// RFC 8439 §2.6: Poly1305 keyed with the first 32 bytes of the ChaCha20 block for counter 0.
    private static func oneTimeAuthenticator(_ cipher: ChaCha20) -> Poly1305 {
        var block = SIMD16<UInt32>.zero
        return withUnsafeMutableBytes(of: &block) { b in
            cipher.xorKeystream(into: b, counter: 0)
            let mac = Poly1305(keyBytes: UnsafeRawBufferPointer(rebasing: b[0..<Poly1305.keyByteCount]))
            for i in 0..<b.count { b[i] = 0 }
            return mac
        }
    }

    /// Pads the ciphertext to 16 bytes and appends the two lengths, then returns the tag.
    private static func finish(_ mac: consuming Poly1305, aadCount: Int, textCount: Int) -> AuthenticationTag {
        mac.padToBlock()
        var lengths = SIMD2<UInt64>(UInt64(aadCount).littleEndian, UInt64(textCount).littleEndian)
        withUnsafeBytes(of: &lengths) { mac.update($0) }
        return mac.finalize()
    }
}
