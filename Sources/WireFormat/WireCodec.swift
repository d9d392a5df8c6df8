import RecommenderModel
import GossipProtocol
import SwarmCrypto

/// Envelopes to bytes and back. Pure: no I/O, no clocks, no randomness.
///
/// Every envelope has exactly one encoding, and decoding is strict (unknown versions, types, flags, enum
/// tags, booleans other than 0/1, trailing bytes and non-finite floats are all rejected), so
/// `encode(decode(b)) == b` for every frame `b` that decodes. Payload layouts are in README.wire.md and on the
/// `encodePayload` cases below.
public enum WireCodec {
    /// The wire version this build speaks (and the only one it accepts). Version 3 has a 40-byte header (key id and
    /// sender epoch added) and seals frames with ChaCha20-Poly1305; versions 1 and 2 are rejected as
    /// `unsupportedVersion`.
    public static let version: UInt8 = 3

    // MARK: Encoding

    /// Encodes `envelope` as one unsealed frame (XXH32 trailer, key id 0, `envelope.epoch`): what an `--insecure`
    /// peer sends. Throws if a receiver using `limits` would reject the result (a list over its limit, a
    /// non-finite float, an inconsistent `ModelPayload`, an address that is not 4 or 16 bytes, a frame over its
    /// channel's size limit).
    public static func encode(_ envelope: Envelope, limits: WireLimits = .default) throws(EncodeError) -> [UInt8] {
        do {
            return try encodeFrame(envelope, limits: limits, sealingWith: nil, epoch: envelope.epoch)
        } catch {
            throw EncodeError(error)
        }
    }

    /// Encodes `envelope` as `security` says: sealed under the sender's key of the primary key, stamped with
    /// `security.epoch` (ignoring `envelope.epoch`), when keyed; unsealed when insecure. The caller must never
    /// seal two frames with one `envelope.sequence` in one epoch (the pair is the nonce).
    public static func encode(_ envelope: Envelope, limits: WireLimits = .default,
                              security: inout FrameSecurity) throws(EncodeError) -> [UInt8] {
        do {
            guard security.isKeyed else {
                return try encodeFrame(envelope, limits: limits, sealingWith: nil, epoch: envelope.epoch)
            }
            let sealing = security.sealingKey(sender: envelope.sender)!
            return try encodeFrame(envelope, limits: limits, sealingWith: sealing, epoch: security.epoch)
        } catch {
            throw EncodeError(error)
        }
    }

    private static func encodeFrame(_ e: Envelope, limits: WireLimits, sealingWith sealing: (keyID: UInt32, key: SymmetricKey)?,
                                    epoch: UInt32) throws(DecodeError) -> [UInt8] {
        let type = e.message.wireType
        var header = FrameHeader(type: type, flags: sealing == nil ? [] : .sealed, swarmID: e.swarmID, sender: e.sender,
                                 sequence: e.sequence, payloadLength: 0, keyID: sealing?.keyID ?? 0, epoch: epoch)
        var w = ByteWriter(reservingCapacity: FrameHeader.byteCount + estimatedPayloadSize(e.message)
                           + FrameHeader.tagByteCount)
        header.write(to: &w)
        try encodePayload(e.message, into: &w, limits: limits)
        header.payloadLength = w.writerIndex - FrameHeader.byteCount
        let total = header.frameByteCount
        let limit = limits.maxFrameBytes(for: type.channel)
        guard total <= limit else { throw .lengthExceedsLimit(field: "frame_length", length: total, limit: limit) }
        w.setInteger(UInt32(header.payloadLength), at: 28)
        if let sealing {
            let nonce = Nonce(epoch: epoch, sequence: e.sequence)
            let tag = w.withUnsafeMutableBytes { frame in
                ChaCha20Poly1305.seal(key: sealing.key, nonce: nonce,
                                      aad: UnsafeRawBufferPointer(rebasing: frame[0..<FrameHeader.byteCount]),
                                      inPlace: UnsafeMutableRawBufferPointer(rebasing: frame[FrameHeader.byteCount...]))
            }
            w.writeBytes(tag.bytes)
        } else {
            w.writeInteger(XXH32.hash(w.bytes))
        }
        return w.bytes
    }

    /// An upper bound of the payload size, to allocate the frame once.
    private static func estimatedPayloadSize(_ m: Message) -> Int {
        switch m {
        case .modelPush, .modelReply:
            return modelPayloadBytes(m) ?? 256
        default:
            return 256
        }
    }

    /// The exact payload size of a model message (`modelPush`, `modelReply`, `modelDecline`) as this codec encodes it,
    /// or nil for any other message. The simulator's byte count and the node's frame-size preflight use it.
    public static func modelPayloadBytes(_ m: Message) -> Int? {
        switch m {
        case .modelPush(_, let model, _): return 8 + 1 + modelBytes(model)
        case .modelReply(_, let model): return 8 + modelBytes(model)
        case .modelDecline: return 8 + 1
        default: return nil
        }
    }

    /// The exact size of a whole model frame (header, payload, and the tag when `sealed` or the checksum when not),
    /// or nil for a message that is not a model message.
    public static func modelFrameBytes(_ m: Message, sealed: Bool) -> Int? {
        modelPayloadBytes(m).map { FrameHeader.byteCount + $0 + (sealed ? FrameHeader.tagByteCount : FrameHeader.checksumByteCount) }
    }

    /// The largest model frame a table of `rows` rows of `dimension` floats can make (every row, f32), sealed or not.
    public static func maxModelFrameBytes(rows: Int, dimension: Int, sealed: Bool) -> Int {
        FrameHeader.byteCount + 8 + 1 + 18 + rows * (8 + 4 * dimension)
            + (sealed ? FrameHeader.tagByteCount : FrameHeader.checksumByteCount)
    }

    /// Bytes of `m`'s model layout: 18 fixed, then per row u32 item, f32 weight, f32 values (plain), or a varint item
    /// gap, f32 weight, [f32 scale at 8 bits], 2- or 1-byte values (compact, plus 1 precision byte).
    static func modelBytes(_ m: ModelPayload) -> Int {
        let rows = m.items.count, dim = Int(m.dimension)
        switch m.precision {
        case .f32: return 18 + rows * 8 + 4 * m.values.count
        case .f16: return 19 + varintBytes(m.items) + rows * 4 + 2 * rows * dim
        case .i8: return 19 + varintBytes(m.items) + rows * 8 + rows * dim
        }
    }

    /// Bytes of `items` as varint gaps (the first item itself, then each item minus the one before).
    static func varintBytes(_ items: [UInt32]) -> Int {
        var total = 0, previous: UInt32 = 0
        for (k, item) in items.enumerated() {
            let gap = k == 0 ? item : item &- previous
            total += gap < 1 << 7 ? 1 : gap < 1 << 14 ? 2 : gap < 1 << 21 ? 3 : gap < 1 << 28 ? 4 : 5
            previous = item
        }
        return total
    }

    // Payload layouts (all little-endian; `address` = u8 ip length (4|16), ip bytes, u16 port;
    // `update` = u64 peer, address, u8 status (0 alive, 1 suspect, 2 dead), u64 incarnation;
    // `entry` = u64 peer, address, u16 age; lists are a u16 count then the elements):
    //   join            address, u64 incarnation
    //   joinReply       updates
    //   ping            u64 seq, updates
    //   pingReq         u64 seq, u64 target, address, updates
    //   ack             u64 seq, u64 target, updates
    //   nack            u64 seq, u64 target
    //   shuffleRequest  u64 seq, entries
    //   shuffleReply    u64 seq, entries
    //   interests       u32 epoch, u32 catalogueSize, u8 wantsReply (0|1), u16 count, count x u32 items (strictly increasing,
    //                   each < catalogueSize, count <= Message.maxDisclosedItems)
    //   modelPush       u64 seq, u8 wantsReply (0|1), model
    //   modelReply      u64 seq, model
    //   modelDecline    u64 seq, u8 reason
    //   modelPushCompact, modelReplyCompact: the same, with the model in the compact layout
    //   model = u32 itemCount, u16 dimension, u64 round, u32 rows, rows x u32 items, rows x f32 weights,
    //           rows*dimension x f32 values (row-major)
    //   compact model = u32 itemCount, u16 dimension, u64 round, u32 rows, u8 precision (1: f16, 2: i8),
    //           rows x varint item gaps (unsigned LEB128, shortest form; the first item, then each item minus the one
    //           before, so every gap after the first is >= 1), rows x f32 weights, (i8 only) rows x f32 scales (finite,
    //           >= 0), then rows*dimension values row-major: f16 (IEEE binary16, finite), or i8 (two's complement in
    //           -127...127; value = scale of its row x the integer; a row with scale 0 has only zeros)
    static func encodePayload(_ m: Message, into w: inout ByteWriter, limits: WireLimits) throws(DecodeError) {
        switch m {
        case .join(let address, let incarnation):
            try writeAddress(address, field: "join.address", into: &w)
            w.writeInteger(incarnation)
        case .joinReply(let members):
            try writeUpdates(members, field: "joinReply.members", into: &w, limits: limits)
        case .ping(let seq, let updates):
            w.writeInteger(seq)
            try writeUpdates(updates, field: "ping.updates", into: &w, limits: limits)
        case .pingReq(let seq, let target, let targetAddress, let updates):
            w.writeInteger(seq)
            w.writeInteger(target.raw)
            try writeAddress(targetAddress, field: "pingReq.targetAddress", into: &w)
            try writeUpdates(updates, field: "pingReq.updates", into: &w, limits: limits)
        case .ack(let seq, let target, let updates):
            w.writeInteger(seq)
            w.writeInteger(target.raw)
            try writeUpdates(updates, field: "ack.updates", into: &w, limits: limits)
        case .nack(let seq, let target):
            w.writeInteger(seq)
            w.writeInteger(target.raw)
        case .shuffleRequest(let seq, let entries):
            w.writeInteger(seq)
            try writeEntries(entries, field: "shuffleRequest.entries", into: &w, limits: limits)
        case .shuffleReply(let seq, let entries):
            w.writeInteger(seq)
            try writeEntries(entries, field: "shuffleReply.entries", into: &w, limits: limits)
        case .interests(let epoch, let catalogueSize, let items, let wantsReply):
            try checkInterests(items, catalogueSize: catalogueSize)
            w.writeInteger(epoch)
            w.writeInteger(catalogueSize)
            w.writeInteger(UInt8(wantsReply ? 1 : 0))
            w.writeInteger(UInt16(items.count))
            w.writeIntegers(items)
        case .modelPush(let seq, let model, let wantsReply):
            w.writeInteger(seq)
            w.writeInteger(UInt8(wantsReply ? 1 : 0))
            try writeModel(model, field: "modelPush.model", into: &w, limits: limits)
        case .modelReply(let seq, let model):
            w.writeInteger(seq)
            try writeModel(model, field: "modelReply.model", into: &w, limits: limits)
        case .modelDecline(let seq, let reason):
            w.writeInteger(seq)
            w.writeInteger(reason)
        }
    }

    private static func writeAddress(_ a: PeerAddress, field: String, into w: inout ByteWriter) throws(DecodeError) {
        if let v4 = a.ipv4Value {
            w.writeInteger(UInt8(4))
            w.writeInteger(v4.byteSwapped)   // network order: writeInteger writes little-endian
        } else {
            w.writeInteger(UInt8(16))
            w.writeBytes(a.ip)
        }
        w.writeInteger(a.port)
    }

    private static func writeCount(_ count: Int, limit: Int, field: String, into w: inout ByteWriter) throws(DecodeError) {
        let bound = min(limit, Int(UInt16.max))
        guard count <= bound else { throw .lengthExceedsLimit(field: field, length: count, limit: bound) }
        w.writeInteger(UInt16(count))
    }

    private static func writeUpdates(_ us: [MemberUpdate], field: String, into w: inout ByteWriter,
                                     limits: WireLimits) throws(DecodeError) {
        try writeCount(us.count, limit: limits.maxUpdatesPerMessage, field: field, into: &w)
        for u in us {
            w.writeInteger(u.peer.raw)
            try writeAddress(u.address, field: field + ".address", into: &w)
            switch u.status {
            case .alive(let n): w.writeInteger(UInt8(0)); w.writeInteger(n)
            case .suspect(let n): w.writeInteger(UInt8(1)); w.writeInteger(n)
            case .dead(let n): w.writeInteger(UInt8(2)); w.writeInteger(n)
            }
        }
    }

    private static func writeEntries(_ es: [ViewEntry], field: String, into w: inout ByteWriter,
                                     limits: WireLimits) throws(DecodeError) {
        try writeCount(es.count, limit: limits.maxViewEntries, field: field, into: &w)
        for e in es {
            w.writeInteger(e.peer.raw)
            try writeAddress(e.address, field: field + ".address", into: &w)
            w.writeInteger(e.age)
        }
    }

    private static func writeModel(_ m: ModelPayload, field: String, into w: inout ByteWriter,
                                   limits: WireLimits) throws(DecodeError) {
        try validate(m, field: field, limits: limits)
        w.writeInteger(m.itemCount)
        w.writeInteger(m.dimension)
        w.writeInteger(m.round)
        w.writeInteger(UInt32(m.items.count))
        guard m.precision != .f32 else {
            w.writeIntegers(m.items)
            w.writeFloats(m.weights)
            w.writeFloats(m.values)
            return
        }
        w.writeInteger(m.precision.rawValue)
        var previous: UInt32 = 0
        for (k, item) in m.items.enumerated() {
            w.writeVarUInt32(k == 0 ? item : item - previous)   // validate checked they increase
            previous = item
        }
        w.writeFloats(m.weights)
        let dim = Int(m.dimension)
        switch m.precision {
        case .f16:
            var bad: Int? = nil
            w.writeRaw(count: 2 * m.values.count) { out in
                m.values.withUnsafeBufferPointer { V in
                    for k in 0..<V.count {
                        let h = Float16(V[k])
                        if Float(h) != V[k], bad == nil { bad = k }
                        out.storeBytes(of: h.bitPattern.littleEndian, toByteOffset: 2 * k, as: UInt16.self)
                    }
                }
            }
            if let k = bad { throw .invalid("\(field).values[\(k)] = \(m.values[k]) is not a 16-bit float (precision f16)") }
        case .i8:
            guard m.scales.count == m.items.count else {
                throw .invalid("\(field) has \(m.items.count) rows but \(m.scales.count) scales")
            }
            if let k = m.scales.firstIndex(where: { !($0.isFinite && $0.sign == .plus) }) {
                throw .invalid("\(field).scales[\(k)] = \(m.scales[k]) is not a finite, non-negative scale")
            }
            w.writeFloats(m.scales)
            var bad: Int? = nil
            w.writeRaw(count: m.values.count) { out in
                m.values.withUnsafeBufferPointer { V in
                    for k in 0..<V.count {
                        let q = RowQuantizer.i8Code(V[k], scale: m.scales[k / dim])
                        if q == nil, bad == nil { bad = k }
                        out[k] = UInt8(bitPattern: q ?? 0)
                    }
                }
            }
            if let k = bad {
                throw .invalid("\(field).values[\(k)] = \(m.values[k]) is not scale \(m.scales[k / dim]) x an integer in -127...127 (precision i8)")
            }
        case .f32:
            break
        }
    }

    /// The same checks on both sides of an `interests` list: at most `Message.maxDisclosedItems` items,
    /// strictly increasing (so the encoding is canonical and a set), each below `catalogueSize`.
    static func checkInterests(_ items: [UInt32], catalogueSize: UInt32) throws(DecodeError) {
        guard items.count <= Message.maxDisclosedItems else {
            throw .lengthExceedsLimit(field: "interests.items", length: items.count, limit: Message.maxDisclosedItems)
        }
        var previous: UInt32? = nil
        for (k, item) in items.enumerated() {
            if item >= catalogueSize {
                throw .invalid("interests.items[\(k)] = \(item) is not below catalogueSize \(catalogueSize)")
            }
            if let p = previous, item <= p {
                throw .invalid("interests.items[\(k)] = \(item) does not increase on items[\(k - 1)] = \(p)")
            }
            previous = item
        }
    }

    /// Checks a model payload's consistency, the same way on both sides: dimension in 1...maxDimension, at most
    /// maxModelRows rows, `weights.count == items.count`, `values.count == items.count * dimension`, items
    /// strictly increasing and below `itemCount`, weights finite and >= 0, values finite.
    ///
    /// Runs once per direction: the encoder calls it before copying the arrays into the frame (and then trusts
    /// them), the decoder right after reading them out of the frame. The element checks are one branch-free,
    /// vectorizable pass over the raw array storage (`ModelChecks`); only when that pass finds a problem does a
    /// second, element-by-element scan run to name the first offending field in the error.
    /// A payload whose `elementsVerified` is set (it was built from a table, or decoded) skips that pass.
    public static func validate(_ m: ModelPayload, field: String = "model", limits: WireLimits) throws(DecodeError) {
        var copy = m
        try validate(&copy, field: field, limits: limits)
    }

    /// `validate`, recording a passed element check in `m.elementsVerified` (`ModelChecks.verify`).
    static func validate(_ m: inout ModelPayload, field: String, limits: WireLimits) throws(DecodeError) {
        let dim = Int(m.dimension)
        guard dim >= 1 else { throw .invalid("\(field).dimension is 0") }
        guard dim <= limits.maxDimension else {
            throw .lengthExceedsLimit(field: field + ".dimension", length: dim, limit: limits.maxDimension)
        }
        let rows = m.items.count
        guard rows <= limits.maxModelRows else {
            throw .lengthExceedsLimit(field: field + ".rows", length: rows, limit: limits.maxModelRows)
        }
        guard m.weights.count == rows else {
            throw .invalid("\(field) has \(rows) items but \(m.weights.count) weights")
        }
        guard m.values.count == rows * dim else {
            throw .invalid("\(field) has \(m.values.count) values, expected \(rows) rows x \(dim) = \(rows * dim)")
        }
        if ModelChecks.verify(&m) { return }
        try firstElementProblem(m, field: field)
    }

    /// The exact, element-by-element check behind `validate` (error path only): throws for the first offending
    /// element in field order (items, weights, values), or returns if there is none (e.g. a weight of -0.0,
    /// which the fast pass conservatively flags but which is not negative).
    private static func firstElementProblem(_ m: ModelPayload, field: String) throws(DecodeError) {
        let itemCount = m.itemCount
        var previous: UInt32? = nil
        for (k, item) in m.items.enumerated() {
            if item >= itemCount {
                throw .invalid("\(field).items[\(k)] = \(item) is not below itemCount \(itemCount)")
            }
            if let p = previous, item <= p {
                throw .invalid("\(field).items[\(k)] = \(item) does not increase on items[\(k - 1)] = \(p)")
            }
            previous = item
        }
        if let k = m.weights.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteFloat(field: "\(field).weights[\(k)]") }
        if let k = m.weights.firstIndex(where: { $0 < 0 }) {
            throw .invalid("\(field).weights[\(k)] = \(m.weights[k]) is negative")
        }
        if let k = m.values.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteFloat(field: "\(field).values[\(k)]") }
    }

    // MARK: Decoding

    /// Decodes one whole unsealed frame as an `--insecure` receiver does (a sealed frame is `unknownKey`: it holds
    /// no keys). See `decode(_:limits:expectedSwarmID:security:)`.
    public static func decode(_ bytes: [UInt8], limits: WireLimits = .default,
                              expectedSwarmID: UInt32? = nil) throws(DecodeError) -> Envelope {
        var insecure = FrameSecurity.insecure()
        return try decode(bytes, limits: limits, expectedSwarmID: expectedSwarmID, security: &insecure)
    }

    /// Decodes one whole frame (a UDP datagram, or a frame from `FrameAccumulator`). The frame must be exactly
    /// `bytes`: shorter is `.truncated`, longer is `.trailingBytes`. Checks, in order: header (magic, version,
    /// type, flags, length limit), frame length, swarm (if `expectedSwarmID` is given), sealed or not as
    /// `security` requires (`unsealed`, or `unknownKey` for an insecure receiver), then for a sealed frame: the key
    /// id (`unknownKey`), the tag (`badTag`), the sender's replay filter (`replayed`, `staleEpoch`; recorded only
    /// now that the frame is authentic); for an unsealed one the checksum; then the payload.
    ///
    /// A sealed frame is opened in place: `bytes` is taken (`consuming`), so when the caller hands over its last
    /// reference (a frame fresh from `FrameAccumulator` or a socket read) the payload is decrypted in that very
    /// buffer and the payload reader shares it, with no copy of the frame; a caller that keeps its array gets it
    /// back untouched (copy on write copies it once, as before). Sealed frames carry no XXH32: the 16-byte tag
    /// already detects any change to header or payload, with a forgery bound of 2^-84 even for an 8 MB frame
    /// against 2^-32 for the checksum, so a checksum would only cost a second pass over the frame.
    public static func decode(_ bytes: consuming [UInt8], limits: WireLimits = .default, expectedSwarmID: UInt32? = nil,
                              security: inout FrameSecurity) throws(DecodeError) -> Envelope {
        let header = try FrameHeader.parse(bytes, limits: limits)
        let total = header.frameByteCount
        guard bytes.count >= total else { throw .truncated(needed: total, available: bytes.count) }
        guard bytes.count == total else { throw .trailingBytes(count: bytes.count - total) }
        if let expectedSwarmID, header.swarmID != expectedSwarmID {
            throw .wrongSwarm(expected: expectedSwarmID, found: header.swarmID)
        }
        let sealed = header.flags.contains(.sealed)
        if security.isKeyed && !sealed { throw .unsealed }
        if !security.isKeyed && sealed { throw .unknownKey(header.keyID) }
        if sealed {
            guard let key = security.senderKey(keyID: header.keyID, sender: header.sender) else {
                throw .unknownKey(header.keyID)
            }
            let nonce = Nonce(epoch: header.epoch, sequence: header.sequence)
            let opened = bytes.withUnsafeMutableBytes { f in
                let tag = AuthenticationTag(UnsafeRawBufferPointer(rebasing: f[header.trailerOffset..<total]))
                do {
                    try ChaCha20Poly1305.open(
                        key: key, nonce: nonce, aad: UnsafeRawBufferPointer(rebasing: f[0..<FrameHeader.byteCount]),
                        inPlace: UnsafeMutableRawBufferPointer(rebasing: f[FrameHeader.byteCount..<header.trailerOffset]),
                        tag: tag)
                    return true
                } catch {
                    return false
                }
            }
            guard opened else { throw .badTag }
            switch security.admit(sender: header.sender, nonce: nonce) {
            case .accepted: break
            case .duplicate, .tooOld: throw .replayed(epoch: header.epoch, sequence: header.sequence)
            case .staleEpoch:
                throw .staleEpoch(epoch: header.epoch, current: security.currentEpoch(of: header.sender) ?? 0)
            }
            return try decodeMessage(header, from: bytes, limits: limits)
        }
        let checksumOffset = header.trailerOffset
        var r = try ByteReader(copy bytes, range: checksumOffset..<total)   // shares the storage (a retain)
        let stored: UInt32 = try r.read()
        guard let computed = XXH32.hash(bytes, range: 0..<checksumOffset) else {
            throw .truncated(needed: checksumOffset, available: bytes.count)
        }
        guard stored == computed else { throw .badChecksum(stored: stored, computed: computed) }
        return try decodeMessage(header, from: bytes, limits: limits)
    }

    /// The payload of `frame` (plaintext) under `header`, as an envelope.
    private static func decodeMessage(_ header: FrameHeader, from frame: [UInt8],
                                      limits: WireLimits) throws(DecodeError) -> Envelope {
        var payload = try ByteReader(frame, range: FrameHeader.byteCount..<header.authenticatedByteCount)
        let message = try decodePayload(header.type, from: &payload, limits: limits)
        guard payload.readableBytes == 0 else { throw .trailingBytes(count: payload.readableBytes) }
        return Envelope(swarmID: header.swarmID, sender: header.sender, sequence: header.sequence,
                        message: message, epoch: header.epoch,
                        keyID: header.flags.contains(.sealed) ? header.keyID : nil)
    }

    /// Decodes a frame held in foreign memory (copies it once).
    public static func decode(_ bytes: UnsafeRawBufferPointer, limits: WireLimits = .default,
                              expectedSwarmID: UInt32? = nil) throws(DecodeError) -> Envelope {
        try decode(Array(bytes), limits: limits, expectedSwarmID: expectedSwarmID)
    }

    /// The whole frame's length for `header` (parsed at `offset` of `bytes`): known from the header alone in v3.
    /// Throws if the frame would exceed its limit.
    static func frameByteCountIfKnown(_ header: FrameHeader, in bytes: [UInt8], at offset: Int,
                                      limits: WireLimits) throws(DecodeError) -> Int? {
        let total = header.frameByteCount
        let limit = limits.maxFrameBytes(for: header.type.channel)
        guard total <= limit else { throw .lengthExceedsLimit(field: "frame_length", length: total, limit: limit) }
        return total
    }

    static func decodePayload(_ type: MessageType, from r: inout ByteReader,
                              limits: WireLimits) throws(DecodeError) -> Message {
        switch type {
        case .join:
            let address = try readAddress(&r, field: "join.address")
            return .join(address: address, incarnation: try r.read())
        case .joinReply:
            return .joinReply(members: try readUpdates(&r, field: "joinReply.members", limits: limits))
        case .ping:
            let seq: UInt64 = try r.read()
            return .ping(seq: seq, updates: try readUpdates(&r, field: "ping.updates", limits: limits))
        case .pingReq:
            let seq: UInt64 = try r.read()
            let target = PeerID(try r.read(UInt64.self))
            let address = try readAddress(&r, field: "pingReq.targetAddress")
            let updates = try readUpdates(&r, field: "pingReq.updates", limits: limits)
            return .pingReq(seq: seq, target: target, targetAddress: address, updates: updates)
        case .ack:
            let seq: UInt64 = try r.read()
            let target = PeerID(try r.read(UInt64.self))
            return .ack(seq: seq, target: target, updates: try readUpdates(&r, field: "ack.updates", limits: limits))
        case .nack:
            let seq: UInt64 = try r.read()
            return .nack(seq: seq, target: PeerID(try r.read(UInt64.self)))
        case .shuffleRequest:
            let seq: UInt64 = try r.read()
            return .shuffleRequest(seq: seq, entries: try readEntries(&r, field: "shuffleRequest.entries", limits: limits))
        case .shuffleReply:
            let seq: UInt64 = try r.read()
            return .shuffleReply(seq: seq, entries: try readEntries(&r, field: "shuffleReply.entries", limits: limits))
        case .interests:
            let epoch: UInt32 = try r.read()
            let catalogueSize: UInt32 = try r.read()
            let flag: UInt8 = try r.read()
            guard flag <= 1 else { throw .invalid("interests.wantsReply = \(flag) (must be 0 or 1)") }
            let count = try readCount(&r, field: "interests.items", limit: Message.maxDisclosedItems, minElementBytes: 4)
            // `readCount` checked the bytes are there; the guard keeps that a checked fact, not a force-unwrap.
            guard let items = r.readIntegers(count: count, as: UInt32.self) else {
                throw .truncated(needed: 4 * count, available: r.readableBytes)
            }
            try checkInterests(items, catalogueSize: catalogueSize)
            return .interests(epoch: epoch, catalogueSize: catalogueSize, items: items, wantsReply: flag == 1)
        case .modelPush, .modelPushCompact:
            let seq: UInt64 = try r.read()
            let flag: UInt8 = try r.read()
            guard flag <= 1 else { throw .invalid("modelPush.wantsReply = \(flag) (must be 0 or 1)") }
            let model = try readModel(&r, field: "modelPush.model", compact: type == .modelPushCompact, limits: limits)
            return .modelPush(seq: seq, model: model, wantsReply: flag == 1)
        case .modelReply, .modelReplyCompact:
            let seq: UInt64 = try r.read()
            return .modelReply(seq: seq, model: try readModel(&r, field: "modelReply.model", compact: type == .modelReplyCompact,
                                                              limits: limits))
        case .modelDecline:
            let seq: UInt64 = try r.read()
            return .modelDecline(seq: seq, reason: try r.read())
        }
    }

    private static func readAddress(_ r: inout ByteReader, field: String) throws(DecodeError) -> PeerAddress {
        let length: UInt8 = try r.read()
        guard length == 4 || length == 16 else {
            throw .invalid("\(field) has address length \(length) (must be 4 or 16)")
        }
        if length == 4 {
            let v4: UInt32 = try r.read()   // read little-endian; the bytes are in network order
            return PeerAddress(ipv4: v4.byteSwapped, port: try r.read())
        }
        let ip = try r.read(byteCount: Int(length))
        return PeerAddress(ip: ip, port: try r.read())
    }

    /// Reads a u16 list count, checks it against `limit` and (at `minElementBytes` each) against the bytes
    /// left, before the caller reserves room for the elements.
    private static func readCount(_ r: inout ByteReader, field: String, limit: Int,
                                  minElementBytes: Int) throws(DecodeError) -> Int {
        let count = Int(try r.read(UInt16.self))
        guard count <= limit else { throw .lengthExceedsLimit(field: field, length: count, limit: limit) }
        try r.require(count * minElementBytes)
        return count
    }

    /// Smallest encoded `MemberUpdate`: peer 8 + address (1 + 4 + 2) + status 1 + incarnation 8.
    private static let minUpdateBytes = 24
    /// Smallest encoded `ViewEntry`: peer 8 + address (1 + 4 + 2) + age 2.
    private static let minEntryBytes = 17

    private static func readUpdates(_ r: inout ByteReader, field: String,
                                    limits: WireLimits) throws(DecodeError) -> [MemberUpdate] {
        let count = try readCount(&r, field: field, limit: limits.maxUpdatesPerMessage, minElementBytes: minUpdateBytes)
        var out: [MemberUpdate] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let peer = PeerID(try r.read(UInt64.self))
            let address = try readAddress(&r, field: "\(field)[\(k)].address")
            let kind: UInt8 = try r.read()
            let n: UInt64 = try r.read()
            let status: MemberStatus
            switch kind {
            case 0: status = .alive(incarnation: n)
            case 1: status = .suspect(incarnation: n)
            case 2: status = .dead(incarnation: n)
            default: throw .invalid("\(field)[\(k)].status = \(kind) (must be 0 alive, 1 suspect or 2 dead)")
            }
            out.append(MemberUpdate(peer: peer, address: address, status: status))
        }
        return out
    }

    private static func readEntries(_ r: inout ByteReader, field: String,
                                    limits: WireLimits) throws(DecodeError) -> [ViewEntry] {
        let count = try readCount(&r, field: field, limit: limits.maxViewEntries, minElementBytes: minEntryBytes)
        var out: [ViewEntry] = []
        out.reserveCapacity(count)
        for k in 0..<count {
            let peer = PeerID(try r.read(UInt64.self))
            let address = try readAddress(&r, field: "\(field)[\(k)].address")
            out.append(ViewEntry(peer: peer, address: address, age: try r.read()))
        }
        return out
    }

    private static func readModel(_ r: inout ByteReader, field: String, compact: Bool,
                                  limits: WireLimits) throws(DecodeError) -> ModelPayload {
        let itemCount: UInt32 = try r.read()
        let dimension: UInt16 = try r.read()
        let round: UInt64 = try r.read()
        let rows = Int(try r.read(UInt32.self))
        let dim = Int(dimension)
        guard dim >= 1 else { throw .invalid("\(field).dimension is 0") }
        guard dim <= limits.maxDimension else {
            throw .lengthExceedsLimit(field: field + ".dimension", length: dim, limit: limits.maxDimension)
        }
        guard rows <= limits.maxModelRows else {
            throw .lengthExceedsLimit(field: field + ".rows", length: rows, limit: limits.maxModelRows)
        }
        if compact { return try readCompactModel(&r, field: field, itemCount: itemCount, dimension: dimension, round: round,
                                                 rows: rows, limits: limits) }
        // rows < 2^32 and dim < 2^16, so this cannot overflow on 64-bit platforms.
        try r.require(rows * 4 * (2 + dim))
        // `require` above means these bulk reads succeed; each still checks its own length (no force-unwrap).
        guard let items = r.readIntegers(count: rows, as: UInt32.self), let weights = r.readFloats(count: rows),
              let values = r.readFloats(count: rows * dim) else {
            throw .truncated(needed: rows * 4 * (2 + dim), available: r.readableBytes)
        }
        var model = ModelPayload(itemCount: itemCount, dimension: dimension, round: round,
                                 items: items, weights: weights, values: values)
        try validate(&model, field: field, limits: limits)   // marks it verified: the receiver's merge skips the pass
        return model
    }

    /// The compact model layout after its `rows` field (see `encodePayload`): every check of the plain layout, plus
    /// a known precision, canonical varint gaps, finite non-negative scales, integers in -127...127 and zero rows under
    /// a zero scale (so `encode(decode(b)) == b`), and finite f16 values.
    private static func readCompactModel(_ r: inout ByteReader, field: String, itemCount: UInt32, dimension: UInt16,
                                         round: UInt64, rows: Int, limits: WireLimits) throws(DecodeError) -> ModelPayload {
        let dim = Int(dimension)
        let code: UInt8 = try r.read()
        guard let precision = RowPrecision(rawValue: code), precision != .f32 else {
            throw .invalid("\(field).precision = \(code) (must be 1 for f16 or 2 for i8)")
        }
        let valueBytes = precision == .f16 ? 2 : 1
        // The least these rows can take (1-byte gaps), checked before allocating anything for them.
        try r.require(rows * (1 + 4 + (precision == .i8 ? 4 : 0) + valueBytes * dim))
        var items = [UInt32](repeating: 0, count: rows)
        var previous: UInt64 = 0
        for k in 0..<rows {
            let gap = UInt64(try r.readVarUInt32(field: "\(field).items[\(k)]"))
            if k > 0 && gap == 0 { throw .invalid("\(field).items[\(k)] does not increase on items[\(k - 1)] (gap 0)") }
            let item = (k == 0 ? 0 : previous) + gap
            guard item < UInt64(itemCount) else {
                throw .invalid("\(field).items[\(k)] = \(item) is not below itemCount \(itemCount)")
            }
            items[k] = UInt32(item)
            previous = item
        }
        guard let weights = r.readFloats(count: rows) else { throw .truncated(needed: 4 * rows, available: r.readableBytes) }
        var scales: [Float] = []
        if precision == .i8 {
            guard let s = r.readFloats(count: rows) else { throw .truncated(needed: 4 * rows, available: r.readableBytes) }
            if let k = s.firstIndex(where: { !$0.isFinite }) { throw .nonFiniteFloat(field: "\(field).scales[\(k)]") }
            if let k = s.firstIndex(where: { $0.sign == .minus }) {
                throw .invalid("\(field).scales[\(k)] = \(s[k]) is negative")
            }
            scales = s
        }
        let count = rows * dim
        let values: [Float] = try r.readRaw(count: valueBytes * count) { (raw) throws(DecodeError) -> [Float] in
            var out = [Float](repeating: 0, count: count)
            switch precision {
            case .f16:
                for k in 0..<count {
                    let h = Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * k, as: UInt16.self)))
                    guard h.isFinite else { throw .nonFiniteFloat(field: "\(field).values[\(k)]") }
                    out[k] = Float(h)
                }
            case .i8:
                for row in 0..<rows {
                    let scale = scales[row]
                    for j in 0..<dim {
                        let k = row * dim + j
                        let q = Int8(bitPattern: raw[k])
                        guard q != -128 else { throw .invalid("\(field).values[\(k)] = -128 (must be in -127...127)") }
                        guard scale != 0 || q == 0 else {
                            throw .invalid("\(field).values[\(k)] = \(q) under scale 0 (a zero row has only zeros)")
                        }
                        out[k] = scale * Float(q)
                    }
                }
            case .f32:
                break
            }
            return out
        }
        var model = ModelPayload(itemCount: itemCount, dimension: dimension, round: round, items: items, weights: weights,
                                 values: values, precision: precision, scales: scales)
        try validate(&model, field: field, limits: limits)
        return model
    }
}
