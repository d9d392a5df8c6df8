// The keyring, after hashicorp/memberlist's (keyring.go): one primary key that seals, and other accepted keys
// that still open. A live swarm rotates its key with no downtime in three steps, each one applied to every peer
// before the next begins:
//   1. install the new key everywhere (`install`): peers still seal with the old one, and can open both;
//   2. make the new key primary everywhere (`use`): peers that switched seal with it, the others can open it;
//   3. remove the old key everywhere (`remove`).
// Unlike memberlist, which tries every key on every message, a frame names its key by id, so a receiver picks the
// key in one lookup and an unknown id is rejected (and counted) without any decryption.

/// Why a keyring refused a change.
public enum KeyringError: Error, Hashable, Sendable {
    /// No key with this id is installed.
    case unknownKey(KeyID)
    /// The primary key cannot be removed; make another key primary first.
    case cannotRemovePrimary(KeyID)
    /// A different key with the same 32-bit id is installed (chance 2^-32 per pair): generate another key.
    case keyIDCollision(KeyID)
    /// The ring holds `Keyring.maxKeyCount` keys already.
    case tooManyKeys(limit: Int)
}

/// The keys a peer seals and opens frames with: one primary key (seals), others accepted (open only).
///
/// Protects against: downtime during key rotation (frames sealed under any installed key open), and guessing (a frame
/// naming an unknown key id is refused before any work). Does not protect against: a holder of any installed key,
/// who can read and forge frames (see `SwarmKey`); a removed key's old frames stay readable to whoever kept it.
/// It holds keys in memory only: reading the key file and checking its permissions is the runtime's job.
public struct Keyring: Sendable {
    /// Most keys a ring holds (primary included): a rotation needs two.
    public static let maxKeyCount = 8

    /// The key that seals.
    public private(set) var primary: SwarmKey
    /// The other keys, which open only, in installation order.
    public private(set) var accepted: [SwarmKey]

    /// Every key, primary first.
    public var keys: [SwarmKey] { [primary] + accepted }

    /// A ring with `primary` sealing and `accepted` opening.
    public init(primary: SwarmKey, accepted: [SwarmKey] = []) throws(KeyringError) {
        self.primary = primary
        self.accepted = []
        for key in accepted { try install(key) }
    }

    /// The installed key named `id`, if any.
    public func key(for id: KeyID) -> SwarmKey? {
        keys.first { $0.id == id }
    }

    /// Installs `key` as an accepted key. Installing a key that is already there does nothing.
    public mutating func install(_ key: SwarmKey) throws(KeyringError) {
        if let existing = self.key(for: key.id) {
            guard existing.sameSecret(as: key) else { throw .keyIDCollision(key.id) }
            return
        }
        guard accepted.count + 1 < Self.maxKeyCount else { throw .tooManyKeys(limit: Self.maxKeyCount) }
        accepted.append(key)
    }

    /// Makes the installed key `id` the primary (sealing) key; the former primary stays accepted.
    public mutating func use(_ id: KeyID) throws(KeyringError) {
        guard id != primary.id else { return }
        guard let index = accepted.firstIndex(where: { $0.id == id }) else { throw .unknownKey(id) }
        let former = primary
        primary = accepted.remove(at: index)
        accepted.insert(former, at: 0)
    }

    /// Removes the accepted key `id`. The primary key cannot be removed.
    public mutating func remove(_ id: KeyID) throws(KeyringError) {
        guard id != primary.id else { throw .cannotRemovePrimary(id) }
        guard let index = accepted.firstIndex(where: { $0.id == id }) else { throw .unknownKey(id) }
        accepted.remove(at: index)
    }
}
