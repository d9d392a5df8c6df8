// Types that hold secrets (keys, or hash and MAC states from which a key's use can be replayed) print no content:
// `description` names the type (and a key's public id), and `customMirror` has no children, so neither `print`,
// `debugPrint`, string interpolation nor `dump` can copy a secret into a log.

extension SymmetricKey: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension SwarmKey: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: ["id": id]) }
}

extension KeySchedule: CustomStringConvertible, CustomReflectable {
    public var description: String {
        "KeySchedule(key: \(keyID), swarm: \(context.swarmID), version: \(context.wireVersion), purpose: \(context.purpose))"
    }
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID, "context": context]) }
}

extension SHA256: CustomStringConvertible, CustomReflectable {
    public var description: String { "SHA256(<state redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension HMACSHA256: CustomStringConvertible, CustomReflectable {
    public var description: String { "HMACSHA256(<keyed state redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension Poly1305: CustomStringConvertible, CustomReflectable {
    public var description: String { "Poly1305(<keyed state redacted>)" }
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

extension ChaCha20: CustomStringConvertible, CustomReflectable {
    public var description: String { "ChaCha20(key: <redacted>, nonce: \(nonce))" }
    public var customMirror: Mirror { Mirror(self, children: ["nonce": nonce]) }
}
