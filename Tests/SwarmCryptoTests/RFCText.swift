// Readers for test vectors pasted as they are printed in the RFCs, so each vector in these tests can be compared
// with its source line by line.

/// Bytes from hex text: every pair of hex digits, ignoring whitespace, ':' separators and "0x" prefixes.
func hex(_ text: String) -> [UInt8] {
    let digits = text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == ":" })
        .map { $0.hasPrefix("0x") ? $0.dropFirst(2) : $0 }.joined().filter { $0.isHexDigit }
    precondition(digits.count % 2 == 0, "odd number of hex digits in \(text)")
    var out: [UInt8] = []
    var i = digits.startIndex
    while i < digits.endIndex {
        let j = digits.index(i, offsetBy: 2)
        out.append(UInt8(digits[i..<j], radix: 16)!)
        i = j
    }
    return out
}

/// Bytes of an RFC 8439 hex dump, e.g. `000  4c 61 64 69 ...  Ladies and Gentl`: on each line, after the 3-digit
/// offset, up to 16 two-digit hex tokens; the ASCII column after them is ignored. Lines without an offset (labels,
/// blank lines) are skipped.
func dump(_ text: String) -> [UInt8] {
    var out: [UInt8] = []
    for line in text.split(separator: "\n") {
        let tokens = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = tokens.first, first.count == 3, first.allSatisfy(\.isNumber) else { continue }
        precondition(Int(first) == out.count, "hex dump offset \(first) after \(out.count) bytes")
        for token in tokens.dropFirst().prefix(16) {
            guard token.count == 2, let byte = UInt8(token, radix: 16) else { break }
            out.append(byte)
        }
    }
    return out
}

/// The fields of an RFC 4231 or RFC 5869 test case, e.g. `Key =  0b0b...` followed by continuation lines: field
/// name -> value text with parenthesised remarks (`(20 bytes)`, `("Hi There")`) removed. A field starts at a line
/// whose first word is one of `names` (RFC 4231 §4.4 prints "Key" without its "=").
func fields(_ text: String, names: Set<String>) -> [String: String] {
    var result: [String: String] = [:]
    var current: String?
    for rawLine in text.split(separator: "\n") {
        var line = String(rawLine)
        while let open = line.firstIndex(of: "("), let close = line[open...].firstIndex(of: ")") {
            line.removeSubrange(open...close)
        }
        let words = line.split(separator: " ", omittingEmptySubsequences: true)
        guard let first = words.first else { continue }
        if names.contains(String(first)) {
            current = String(first)
            result[String(first), default: ""] += words.dropFirst().filter { $0 != "=" }.joined(separator: " ")
        } else if let current {
            result[current, default: ""] += " " + words.joined(separator: " ")
        }
    }
    return result
}

/// `count` bytes `(31 i + 7) mod 256`: a reproducible, non-repeating-looking test message.
func pattern(_ count: Int, seed: Int = 7) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: 31 &* $0 &+ seed) }
}

/// Lowercase hex of `bytes`.
func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
