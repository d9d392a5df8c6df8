import Testing
@testable import SwarmCrypto

/// A deterministic generator for tests only (SplitMix64); real keys come from SystemRandomNumberGenerator.
struct TestGenerator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

func testKey(_ seed: UInt64) -> SwarmKey {
    var g = TestGenerator(state: seed)
    return SwarmKey.generate(using: &g)
}

@Suite struct KeyDerivationTests {
    static let key = SwarmKey(bytes: Array(0..<32))!

    /// The derivation format pinned by values computed outside this code base with python's hmac and hashlib:
    /// key id = hmac(key, b"gossiprec key id", sha256)[:4] read little-endian; PRK = hmac(salt, key) with
    /// salt = b"gossiprec swarm key\0" + pack('<I', 7) + bytes([3]); sender key = hmac(PRK, info + b"\x01") with
    /// info = b"gossiprec v3 frame\0" + pack('<Q', 0x1122334455667788).
    @Test func derivationMatchesGoldenValues() {
        #expect(Self.key.id == KeyID(rawValue: 0x4B95_9E54))
        #expect(Self.key.id.description == "4b959e54")
        let schedule = Self.key.schedule(for: KeyContext(swarmID: 7, purpose: KeyContext.framePurpose))
        #expect(schedule.keyID == Self.key.id)
        #expect(hexString(schedule.senderKey(0x1122_3344_5566_7788).bytes)
                == "d46dacf2efcab8047a7fba089ccbdde1c8dcc15f82db04a816d7c56eca10b28e")
    }

    /// Changing any one of swarm, wire version, purpose or sender gives another key; the same inputs the same key.
    @Test func everyContextFieldSeparatesKeys() {
        let base = KeyContext(swarmID: 7, wireVersion: 3, purpose: KeyContext.framePurpose)
        let variants = [
            KeyContext(swarmID: 8, wireVersion: 3, purpose: KeyContext.framePurpose),
            KeyContext(swarmID: 7, wireVersion: 4, purpose: KeyContext.framePurpose),
            KeyContext(swarmID: 7, wireVersion: 3, purpose: "gossiprec v3 stream"),
        ]
        let reference = Self.key.schedule(for: base).senderKey(1)
        #expect(Self.key.schedule(for: base).senderKey(1).constantTimeEquals(reference))
        #expect(!Self.key.schedule(for: base).senderKey(2).constantTimeEquals(reference))
        for context in variants {
            #expect(!Self.key.schedule(for: context).senderKey(1).constantTimeEquals(reference), "\(context)")
        }
        #expect(!testKey(1).schedule(for: base).senderKey(1).constantTimeEquals(reference))
    }

    /// Keys never print their bytes.
    @Test func descriptionsHideSecrets() {
        #expect(Self.key.description == "SwarmKey(id: 4b959e54)")
        #expect(!"\(Self.key.schedule(for: KeyContext(swarmID: 1, purpose: "p")).senderKey(1))".contains("d4"))
        #expect("\(SymmetricKey(bytes: Array(0..<32))!)" == "SymmetricKey(<redacted>)")
    }

    /// A generated key is 32 bytes drawn from the generator, and two draws differ.
    @Test func generatedKeysComeFromTheGenerator() {
        var g = TestGenerator(state: 5)
        let a = SwarmKey.generate(using: &g), b = SwarmKey.generate(using: &g)
        #expect(a.bytes.count == 32 && !a.sameSecret(as: b) && a.id != b.id)
        var again = TestGenerator(state: 5)
        #expect(SwarmKey.generate(using: &again).sameSecret(as: a))
    }
}

@Suite struct KeyringTests {
    /// The memberlist rotation: install the new key, make it primary, remove the old one; frames sealed at each step
    /// open on a peer one step behind or ahead.
    @Test func rotationKeepsEveryStepReadable() throws {
        let old = testKey(1), new = testKey(2)
        var ring = try Keyring(primary: old)
        #expect(ring.keys.map(\.id) == [old.id])
        try ring.install(new)
        #expect(ring.primary.id == old.id && ring.key(for: new.id) != nil)
        let installed = ring
        try ring.use(new.id)
        #expect(ring.primary.id == new.id && ring.accepted.map(\.id) == [old.id])
        // A peer still at step 1 opens what the switched peer seals, and the other way round.
        #expect(installed.key(for: ring.primary.id) != nil && ring.key(for: installed.primary.id) != nil)
        try ring.remove(old.id)
        #expect(ring.keys.map(\.id) == [new.id] && ring.key(for: old.id) == nil)
    }

    @Test func refusesWhatWouldBreakTheRing() throws {
        let a = testKey(1), b = testKey(2)
        var ring = try Keyring(primary: a, accepted: [b])
        #expect(throws: KeyringError.cannotRemovePrimary(a.id)) { try ring.remove(a.id) }
        let stranger = testKey(3)
        #expect(throws: KeyringError.unknownKey(stranger.id)) { try ring.use(stranger.id) }
        #expect(throws: KeyringError.unknownKey(stranger.id)) { try ring.remove(stranger.id) }
        try ring.install(b)  // already there: nothing happens
        #expect(ring.keys.count == 2)
        try ring.use(a.id)  // already primary: nothing happens
        #expect(ring.primary.id == a.id)
        for seed in UInt64(10)..<UInt64(16) { try ring.install(testKey(seed)) }
        #expect(ring.keys.count == Keyring.maxKeyCount)
        #expect(throws: KeyringError.tooManyKeys(limit: Keyring.maxKeyCount)) { try ring.install(testKey(99)) }
    }

    /// Two different keys with one 32-bit id cannot both be installed. The pair was found outside this code base by
    /// a birthday search with python's hmac: sha256(b"gossiprec id collision %d" % i) for i = 0...139241, the first
    /// two whose ids agree (id 4c24e009).
    @Test func aDifferentKeyUnderAKnownIDIsACollision() throws {
        let a = SwarmKey(bytes: hex("0425a02afc593c601d10f41b2df7b8f1d6dad8d0578396c8fd61f8b73628456e"))!
        let b = SwarmKey(bytes: hex("9c5badb2f6b5c7b5e4ed80bb3bdf092de2e96997211e0cc12e66aea07929c17f"))!
        #expect(a.id == b.id && a.id == KeyID(rawValue: 0x4C24_E009) && !a.sameSecret(as: b))
        var ring = try Keyring(primary: a)
        #expect(throws: KeyringError.keyIDCollision(a.id)) { try ring.install(b) }
        #expect(throws: KeyringError.keyIDCollision(a.id)) { try Keyring(primary: a, accepted: [b]) }
    }
}

@Suite struct KeyFileTests {
    static let hex1 = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
    static let hex2 = "F0E1D2C3B4A5968778695A4B3C2D1E0F00112233445566778899AABBCCDDEEFF"

    @Test func readsThirtyTwoRawBytesAsOneKey() throws {
        let ring = try KeyFile.parse(Array(0..<32))
        #expect(ring.keys.count == 1 && ring.primary.bytes == Array(0..<32))
    }

    @Test func readsHexTextWithCommentsBlanksAndCRLF() throws {
        let text = "# swarm key\r\n\n  \(Self.hex1)  # primary\r\n\t\(Self.hex2)\n\n# end\n"
        let ring = try KeyFile.parse(Array(text.utf8))
        #expect(ring.primary.bytes == Array(0..<32))
        #expect(ring.accepted.count == 1 && ring.accepted[0].bytes == hex(Self.hex2))
    }

    @Test func writesTextThatReadsBack() throws {
        let ring = try Keyring(primary: testKey(1), accepted: [testKey(2)])
        let text = KeyFile.text(for: ring)
        let back = try KeyFile.parse(text)
        #expect(back.keys.map(\.id) == ring.keys.map(\.id) && back.primary.sameSecret(as: ring.primary))
        let lines = String(decoding: text, as: UTF8.self).split(separator: "\n")
        #expect(lines.count == 5 && lines[0].hasPrefix("#") && lines[1] == "# primary, id \(ring.primary.id)")
    }

    @Test func refusesMalformedFilesNamingTheLineOnly() {
        #expect(throws: KeyFileError.noKey) { try KeyFile.parse([]) }
        #expect(throws: KeyFileError.noKey) { try KeyFile.parse(Array("# nothing here\n\n".utf8)) }
        #expect(throws: KeyFileError.malformedLine(line: 2)) {
            try KeyFile.parse(Array("# key\n\(Self.hex1.dropLast())\n".utf8))
        }
        #expect(throws: KeyFileError.malformedLine(line: 1)) {
            try KeyFile.parse(Array((Self.hex1.dropLast() + "g").utf8))
        }
        #expect(throws: KeyFileError.malformedLine(line: 1)) { try KeyFile.parse(Array(0..<33)) }
        #expect(throws: KeyFileError.duplicateKey(line: 3)) {
            try KeyFile.parse(Array("\(Self.hex1)\n\(Self.hex2)\n\(Self.hex1.uppercased())\n".utf8))
        }
        let nine = (0..<9).map { i in hexString(testKey(UInt64(i)).bytes) }.joined(separator: "\n")
        #expect(throws: KeyFileError.keyring(.tooManyKeys(limit: 8))) { try KeyFile.parse(Array(nine.utf8)) }
    }
}

@Suite struct RedactionTests {
    /// Nothing that holds a secret prints it: not `print`, not `debugPrint`, not `dump`.
    @Test func secretsNeverReachText() throws {
        let secret = Array(UInt8(0xA0)..<0xC0)  // its hex "a0a1a2..." must appear nowhere
        let key = SwarmKey(bytes: secret)!
        let ring = try Keyring(primary: key, accepted: [testKey(1)])
        let schedule = key.schedule(for: KeyContext(swarmID: 1, purpose: KeyContext.framePurpose))
        var mac = HMACSHA256(key: secret)
        mac.update([1])
        var poly = Poly1305(key: secret)!
        poly.update([1])
        var sha = SHA256()
        sha.update(secret)
        let values: [Any] = [key, ring, schedule, schedule.senderKey(1), SymmetricKey(bytes: secret)!, mac, poly, sha,
                             ChaCha20(key: SymmetricKey(bytes: secret)!, nonce: Nonce(epoch: 1, sequence: 2))]
        /// Whether `text` shows the secret: as hex, as decimal bytes (arrays, dump's "- 160" lines), as its first
        /// little-endian 32-bit word (SIMD storage), or through a stored property that holds key material (a
        /// default mirror prints `name: value`; derived forms such as Poly1305's clamped r are not the raw bytes).
        func leaks(_ text: String) -> Bool {
            let secretFields = ["words", "secret", "prf", "state", "pending", "inner", "outer", "r0", "pad0", "h0"]
            return text.lowercased().contains("a0a1a2") || text.contains("2745344416")
                || ["160", "161", "162", "163"].allSatisfy { text.contains($0) }
                || secretFields.contains { text.contains("\($0): ") || text.contains("- \($0)") }
        }
        func renderings(_ value: Any) -> [String] {
            var dumped = ""
            dump(value, to: &dumped)
            return [String(describing: value), String(reflecting: value), dumped]
        }
        // The check finds a secret where one is shown.
        #expect(renderings(secret).allSatisfy(leaks))
        #expect(renderings(SIMD8<UInt32>(0xA3A2_A1A0, 0, 0, 0, 0, 0, 0, 0)).allSatisfy(leaks))
        for value in values {
            for text in renderings(value) { #expect(!leaks(text), "\(type(of: value)): \(text)") }
        }
        #expect(String(describing: key) == "SwarmKey(id: \(key.id))")
    }
}
