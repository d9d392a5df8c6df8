import GossipProtocol
import SwarmCrypto

/// What a peer seals and opens frames with, and what it remembers to refuse replays: the keyring, this process's
/// nonce epoch, a bounded cache of derived per-sender keys, and a bounded table of per-sender replay filters.
/// Owned by the caller (one per peer, confined to the peer's queue) and passed `inout` to `WireCodec`.
///
/// Keys: a frame is sealed under `KeySchedule.senderKey(sender)` of the primary key in the context
/// (swarm id, wire version 3, `KeyContext.framePurpose`): one HKDF-Extract per installed key (at install), one
/// HKDF-Expand per (key, sender), cached (`maxCachedKeys`; when full the cache is emptied and refilled on demand,
/// two HMAC computations per entry), so no frame pays for a derivation once its sender is known.
///
/// Replays: one `SenderReplayFilter` per sender, updated only after a frame's tag checked. At most
/// `maxTrackedSenders`; when full, the sender heard from least recently is forgotten, and its frames of the
/// current epoch still inside its window could then be replayed once. Only key holders create entries (the tag
/// is checked first), so an outsider cannot push honest senders out.
///
/// Protects against: outsiders reading, forging or replaying frames. Does not protect against: key holders
/// (see `SwarmKey`), traffic analysis, or a replay of an evicted sender's frames (above).
public struct FrameSecurity: Sendable {
    /// The keys, or nil when running `--insecure` (frames go out unsealed; sealed frames are refused).
    public private(set) var keyring: Keyring?
    /// The swarm id the keys are derived for (a frame of another swarm id fails its tag).
    public let swarmID: UInt32
    /// This process's nonce epoch, stamped in every frame it sends (`NonceSequence.epoch(after:now:)`).
    public let epoch: UInt32
    /// Most senders whose replay state is kept.
    public let maxTrackedSenders: Int
    /// Most derived sender keys kept.
    public let maxCachedKeys: Int

    private var schedules: [UInt32: KeySchedule] = [:]
    private var senderKeys: [SenderKeyName: SymmetricKey] = [:]
    private var filters: [PeerID: TrackedFilter] = [:]
    private var clock: UInt64 = 0

    private struct SenderKeyName: Hashable { var keyID: UInt32; var sender: UInt64 }
    private struct TrackedFilter { var filter: SenderReplayFilter; var lastUsed: UInt64 }

    /// A keyed peer: seals with `keyring.primary`, opens with any installed key, refuses unsealed frames.
    public init(keyring: Keyring, swarmID: UInt32, epoch: UInt32, maxTrackedSenders: Int = 4_096,
                maxCachedKeys: Int = 4_096) {
        precondition(maxTrackedSenders > 0 && maxCachedKeys > 0)
        self.swarmID = swarmID
        self.epoch = epoch
        self.maxTrackedSenders = maxTrackedSenders
        self.maxCachedKeys = maxCachedKeys
        replaceKeyring(keyring)
    }

    /// An unkeyed (`--insecure`) peer: sends unsealed frames, refuses sealed ones (it cannot open them).
    public static func insecure(swarmID: UInt32 = 0) -> FrameSecurity {
        FrameSecurity(swarmID: swarmID)
    }

    private init(swarmID: UInt32) {
        self.swarmID = swarmID
        epoch = 0
        maxTrackedSenders = 1
        maxCachedKeys = 1
    }

    /// Whether frames are sealed (false: `--insecure`).
    public var isKeyed: Bool { keyring != nil }

    /// The key context of frame keys for this swarm.
    public var context: KeyContext {
        KeyContext(swarmID: swarmID, wireVersion: WireCodec.version, purpose: KeyContext.framePurpose)
    }

    /// Switches to `keyring` (a key rotation step): new keys open at once, the new primary seals the next frame,
    /// removed keys open nothing from now on. Replay state is kept (it is per sender, not per key).
    public mutating func replaceKeyring(_ keyring: Keyring) {
        precondition(isKeyed || schedules.isEmpty, "an insecure FrameSecurity cannot be keyed later")
        let context = self.context
        var next: [UInt32: KeySchedule] = [:]
        for key in keyring.keys {
            next[key.id.rawValue] = schedules[key.id.rawValue] ?? key.schedule(for: context)
        }
        schedules = next
        senderKeys = senderKeys.filter { next[$0.key.keyID] != nil }
        self.keyring = keyring
    }

    /// The primary key's id and `sender`'s key under it (cached).
    mutating func sealingKey(sender: PeerID) -> (keyID: UInt32, key: SymmetricKey)? {
        guard let primary = keyring?.primary.id.rawValue, let key = senderKey(keyID: primary, sender: sender) else {
            return nil
        }
        return (primary, key)
    }

    /// `sender`'s key under the installed key `keyID` (cached), nil if no such key is installed.
    mutating func senderKey(keyID: UInt32, sender: PeerID) -> SymmetricKey? {
        let name = SenderKeyName(keyID: keyID, sender: sender.raw)
        if let key = senderKeys[name] { return key }
        guard let schedule = schedules[keyID] else { return nil }
        if senderKeys.count >= maxCachedKeys { senderKeys.removeAll(keepingCapacity: true) }
        let key = schedule.senderKey(sender.raw)
        senderKeys[name] = key
        return key
    }

    /// Records an authentic frame's nonce in its sender's replay filter and says whether it is fresh.
    mutating func admit(sender: PeerID, nonce: Nonce) -> ReplayVerdict {
        clock &+= 1
        if var tracked = filters[sender] {
            let verdict = tracked.filter.accept(nonce)
            tracked.lastUsed = clock
            filters[sender] = tracked
            return verdict
        }
        if filters.count >= maxTrackedSenders, let oldest = filters.min(by: { $0.value.lastUsed < $1.value.lastUsed }) {
            filters.removeValue(forKey: oldest.key)
        }
        var filter = SenderReplayFilter()
        let verdict = filter.accept(nonce)
        filters[sender] = TrackedFilter(filter: filter, lastUsed: clock)
        return verdict
    }

    /// The latest epoch accepted from `sender`, if it is tracked.
    func currentEpoch(of sender: PeerID) -> UInt32? { filters[sender]?.filter.epoch }

    /// Senders whose replay state is held (at most `maxTrackedSenders`).
    public var trackedSenderCount: Int { filters.count }
    /// Derived sender keys held (at most `maxCachedKeys`).
    public var cachedKeyCount: Int { senderKeys.count }
}
