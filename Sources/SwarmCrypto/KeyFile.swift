// The key file format (the bytes only; opening the file and refusing one that group or others can read is the
// runtime's job, as ssh refuses a private key).
//
// A key file is either
//   * binary: exactly 32 bytes, one key (the primary); or
//   * text (UTF-8/ASCII): one key per line as 64 hex digits (either case). `#` starts a comment that runs to the
//     end of the line; blank lines, surrounding spaces and tabs, and a trailing '\r' are ignored. The first key is
//     the primary, the others are accepted. At most `Keyring.maxKeyCount` keys.
// Length alone tells them apart: a text file with a key is at least 64 bytes. Example (what `text(for:)` writes):
//
//   # gossiprec swarm key file: the first key seals, every key opens. Keep it secret (chmod 600).
//   # primary, id 0a1b2c3d
//   3f2a...(64 hex digits)
//   # accepted, id 99887766
//   c01d...(64 hex digits)
//
// Errors name the line, never its content (which may be a key).

/// Why a key file was refused.
public enum KeyFileError: Error, Hashable, Sendable {
    /// The file holds no key.
    case noKey
    /// Line `line` (1-based) is neither blank, a comment, nor exactly 64 hex digits.
    case malformedLine(line: Int)
    /// Line `line` repeats a key already listed.
    case duplicateKey(line: Int)
    /// The keys do not form a keyring (too many, or an id collision).
    case keyring(KeyringError)
}

/// Reads and writes key files (see the format above).
///
/// Protects against: keys echoed in error messages (errors give a line number only), and silently odd files (a bad
/// line, a repeated key, an id collision or too many keys is an error, not skipped). Does not protect against: a
/// readable file (the runtime checks permissions), or timing while parsing (the hex decoder branches on the digits;
/// it runs once per start, on the peer's own file).
public enum KeyFile {
    /// The keyring a key file's bytes describe.
    public static func parse(_ bytes: [UInt8]) throws(KeyFileError) -> Keyring {
        if bytes.count == SwarmKey.byteCount {
            return try ring(of: [SwarmKey(bytes: bytes)!])
        }
        var keys: [SwarmKey] = []
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            var content = line.prefix { $0 != UInt8(ascii: "#") }
            while let last = content.last, isSpace(last) { content.removeLast() }
            while let first = content.first, isSpace(first) { content.removeFirst() }
            if content.isEmpty { continue }
            guard content.count == 2 * SwarmKey.byteCount, let key = decodeHex(content) else {
                throw .malformedLine(line: lineNumber)
            }
            guard !keys.contains(where: { $0.sameSecret(as: key) }) else { throw .duplicateKey(line: lineNumber) }
            keys.append(key)
        }
        return try ring(of: keys)
    }

    /// The text form of `keyring`: a header comment, then each key (primary first) under a comment with its id.
    public static func text(for keyring: Keyring) -> [UInt8] {
        var lines = ["# gossiprec swarm key file: the first key seals, every key opens. Keep it secret (chmod 600)."]
        for (i, key) in keyring.keys.enumerated() {
            lines.append("# \(i == 0 ? "primary" : "accepted"), id \(key.id)")
            lines.append(key.bytes.map { String($0, radix: 16).leftPadded(to: 2) }.joined())
        }
        return Array((lines.joined(separator: "\n") + "\n").utf8)
    }

    private static func ring(of keys: [SwarmKey]) throws(KeyFileError) -> Keyring {
        guard let primary = keys.first else { throw .noKey }
        do {
            return try Keyring(primary: primary, accepted: Array(keys.dropFirst()))
        } catch {
            throw .keyring(error)
        }
    }

    private static func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
    }

    /// 64 hex digits -> a key; nil if any byte is not a hex digit.
    private static func decodeHex(_ digits: ArraySlice<UInt8>) -> SwarmKey? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(SwarmKey.byteCount)
        var high: UInt8 = 0
        for (i, c) in digits.enumerated() {
            let v: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = c - UInt8(ascii: "A") + 10
            default: return nil
            }
            if i % 2 == 0 { high = v } else { bytes.append(high << 4 | v) }
        }
        return SwarmKey(bytes: bytes)
    }
}
