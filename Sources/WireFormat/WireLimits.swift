/// Bounds that every length and count read off the wire is checked against *before* anything is allocated,
/// so a hostile or corrupt 4-byte length cannot make a peer reserve gigabytes. Sender and receiver should use
/// the same limits: the encoder refuses (with `EncodeError`) whatever the decoder would reject.
///
/// Defaults: membership frames (UDP) stay within 1,400 bytes, below a 1,500-byte Ethernet MTU minus IP/UDP
/// headers, so datagrams are never fragmented; the worst-case membership frame under the default counts
/// (a sealed `pingReq` with 32 IPv6 updates: 40-byte header, 1,189-byte payload, 16-byte tag) is 1,245 bytes. Model frames (TCP) may be up to
/// 4 MiB: a full MovieLens-100K table (1,682 items x 32 floats) is ~229 KB.
public struct WireLimits: Hashable, Sendable {
    /// Largest whole frame of a membership (datagram-channel) message type. At most 65,507 (UDP payload).
    public var maxDatagramFrameBytes: Int
    /// Largest whole frame of a model-exchange (stream-channel) message type.
    public var maxStreamFrameBytes: Int
    /// Most `MemberUpdate`s in one `joinReply`, `ping`, `pingReq` or `ack`.
    public var maxUpdatesPerMessage: Int
    /// Most `ViewEntry`s in one `shuffleRequest` or `shuffleReply`.
    public var maxViewEntries: Int
    /// Most rows (items) in one `ModelPayload`.
    public var maxModelRows: Int
    /// Largest embedding dimension of a `ModelPayload` (its smallest is 1).
    public var maxDimension: Int

    public init(maxDatagramFrameBytes: Int = 1_400, maxStreamFrameBytes: Int = 4 << 20,
                maxUpdatesPerMessage: Int = 32, maxViewEntries: Int = 32, maxModelRows: Int = 1 << 18,
                maxDimension: Int = 1_024) {
        self.maxDatagramFrameBytes = maxDatagramFrameBytes
        self.maxStreamFrameBytes = maxStreamFrameBytes
        self.maxUpdatesPerMessage = maxUpdatesPerMessage
        self.maxViewEntries = maxViewEntries
        self.maxModelRows = maxModelRows
        self.maxDimension = maxDimension
    }

    public static let `default` = WireLimits()

    /// The frame-size bound for messages that travel on `channel`.
    public func maxFrameBytes(for channel: WireChannel) -> Int {
        switch channel {
        case .datagram: return maxDatagramFrameBytes
        case .stream: return maxStreamFrameBytes
        }
    }
}
