#!/usr/bin/env bash
# Throughput of SwarmCrypto in a release build: ChaCha20, Poly1305 and ChaCha20-Poly1305 seal/open on a 230 KB
# model frame (in place, as a frame is sealed: 32-byte header as AAD, payload encrypted where it lies, detached tag;
# and the array form, which copies), a membership datagram, the per-sender key derivation and the replay window;
# then whole frames through WireCodec: an ML-100K model push (1,682 x 32, ~230 KB) encoded and decoded unsealed
# (XXH32, what --insecure peers do) and sealed, decoding from an array the caller keeps (the frame is copied
# before it is opened) and from one it hands over (opened in place).
# Each line gives thread CPU time (what the code costs) and wall time (what it took on the shared machine); each is
# the best of 5 rounds. Builds a small package under .build/ (kept, so a rerun recompiles only what changed) that
# depends on this one by path: the numbers are those of the real SwarmCrypto target with its own settings (plain -O,
# bounds checks on; the bench adds no flags).
# Usage: Scripts/bench-crypto.sh [iterations [name-prefix]]   (e.g. `Scripts/bench-crypto.sh 500 seal`)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$repo/.build/bench-crypto"
mkdir -p "$dir/Sources/bench"
cat > "$dir/Package.swift" <<PKG
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "bench", dependencies: [.package(path: "$repo")],
    targets: [.executableTarget(name: "bench", dependencies: [.product(name: "SwarmCrypto", package: "$(basename "$repo")"),
                                                             .product(name: "WireFormat", package: "$(basename "$repo")"),
                                                             .product(name: "GossipProtocol", package: "$(basename "$repo")"),
                                                             .product(name: "RecommenderModel", package: "$(basename "$repo")")])])
PKG
cat > "$dir/Sources/bench/main.swift" <<'SWIFT'
import Dispatch
import Glibc
import SwarmCrypto
import WireFormat
import GossipProtocol
import RecommenderModel

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 400
let only = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : ""
let frameBytes = 230_000, headerBytes = 32
var frame = (0..<frameBytes).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
let payloadBytes = frameBytes - headerBytes
let key = SymmetricKey(bytes: (0..<32).map { UInt8($0) })!

extension String {
    func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self }
    func rightPad(_ n: Int) -> String { self + String(repeating: " ", count: max(0, n - count)) }
}

/// This thread's CPU time in seconds (CLOCK_THREAD_CPUTIME_ID): what the code costs when other processes share the
/// cores, unlike the wall clock, which also counts the time the scheduler gave to them.
func cpuSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

/// Best of 5 rounds of `iterations` calls, by wall clock and by thread CPU time: MB/s over `bytes` per call, and
/// microseconds per call.
func rate(_ name: String, bytes: Int, iterations: Int = iterations, _ body: (Int) -> UInt64) {
    if !only.isEmpty && !name.hasPrefix(only) { return }
    var bestWall = Double.infinity, bestCPU = Double.infinity, sink: UInt64 = 0
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds, c0 = cpuSeconds()
        for i in 0..<iterations { sink &+= body(i) }
        bestCPU = min(bestCPU, cpuSeconds() - c0)
        bestWall = min(bestWall, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    func mbs(_ seconds: Double) -> String {
        bytes > 0 ? String(Int(Double(bytes) * Double(iterations) / seconds / 1e6)).leftPad(6) + " MB/s" : "           "
    }
    func us(_ seconds: Double) -> String { format1(seconds / Double(iterations) * 1e6).leftPad(8) + " us" }
    print("\(name.rightPad(40)) cpu \(mbs(bestCPU)) \(us(bestCPU))   wall \(mbs(bestWall)) \(us(bestWall))  (\(sink & 1))")
}
func format1(_ x: Double) -> String { let t = Int(x * 10 + 0.5); return "\(t / 10).\(t % 10)" }

// Correctness first: a sealed frame opens to what was sealed.
do {
    let nonce = Nonce(epoch: 1, sequence: 0)
    let sealed = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: Array(frame[..<headerBytes]), plaintext: Array(frame[headerBytes...]))
    let opened = try ChaCha20Poly1305.open(key: key, nonce: nonce, aad: Array(frame[..<headerBytes]), sealed: sealed)
    precondition(opened == Array(frame[headerBytes...]), "round trip failed")
} catch { fatalError("round trip failed: \(error)") }

print("frame: \(frameBytes) bytes (\(headerBytes)-byte header as AAD + \(payloadBytes)-byte payload), \(iterations) iterations, best of 5")
frame.withUnsafeMutableBytes { raw in
    let header = UnsafeRawBufferPointer(rebasing: raw[..<headerBytes])
    let payload = UnsafeMutableRawBufferPointer(rebasing: raw[headerBytes...])
    rate("chacha20 (xor keystream, in place)", bytes: payloadBytes) { i in
        ChaCha20(key: key, nonce: Nonce(epoch: 1, sequence: UInt64(i))).xorKeystream(into: payload, counter: 1)
        return UInt64(payload[0])
    }
    rate("poly1305", bytes: payloadBytes) { i in
        var key32 = [UInt8](repeating: 1, count: 32); key32[0] = UInt8(truncatingIfNeeded: i)
        var mac = Poly1305(key: key32)!
        mac.update(UnsafeRawBufferPointer(payload))
        return UInt64(mac.finalize().bytes[0])
    }
    rate("seal (in place, detached tag)", bytes: payloadBytes) { i in
        // Seals whatever the payload holds by then (the previous round's ciphertext): same work as any payload.
        let tag = ChaCha20Poly1305.seal(key: key, nonce: Nonce(epoch: 1, sequence: UInt64(i)), aad: header, inPlace: payload)
        return UInt64(tag.bytes[0])
    }
    // Open needs a genuine sealed payload each time: copy one in (memcpy of 230 KB, ~1-2% of the figure), open it.
    let nonce = Nonce(epoch: 2, sequence: 0)
    let tag = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: header, inPlace: payload)
    let sealedPayload = Array(payload)
    rate("open (in place, detached tag; + memcpy)", bytes: payloadBytes) { i in
        sealedPayload.withUnsafeBytes { payload.copyMemory(from: $0) }
        do { try ChaCha20Poly1305.open(key: key, nonce: nonce, aad: header, inPlace: payload, tag: tag) } catch { fatalError("open failed") }
        return UInt64(payload[i % 100])
    }
}
let header = Array(frame[..<headerBytes]), plaintext = Array(frame[headerBytes...])
let sealed = ChaCha20Poly1305.seal(key: key, nonce: Nonce(epoch: 3, sequence: 0), aad: header, plaintext: plaintext)
rate("seal ([UInt8] -> new [UInt8])", bytes: payloadBytes) { i in
    UInt64(ChaCha20Poly1305.seal(key: key, nonce: Nonce(epoch: 3, sequence: UInt64(i)), aad: header, plaintext: plaintext)[i % 100])
}
rate("open ([UInt8] -> new [UInt8])", bytes: payloadBytes) { i in
    UInt64((try? ChaCha20Poly1305.open(key: key, nonce: Nonce(epoch: 3, sequence: 0), aad: header, sealed: sealed))?[i % 100] ?? 0)
}
var datagram = [UInt8](repeating: 7, count: 1_200)
rate("datagram seal + open (1,200 B, in place)", bytes: 1_200 - headerBytes, iterations: iterations * 100) { i in
    datagram.withUnsafeMutableBytes { raw in
        let header = UnsafeRawBufferPointer(rebasing: raw[..<headerBytes])
        let body = UnsafeMutableRawBufferPointer(rebasing: raw[headerBytes...])
        let nonce = Nonce(epoch: 4, sequence: UInt64(i))
        let tag = ChaCha20Poly1305.seal(key: key, nonce: nonce, aad: header, inPlace: body)
        do { try ChaCha20Poly1305.open(key: key, nonce: nonce, aad: header, inPlace: body, tag: tag) } catch { fatalError("open failed") }
        return UInt64(body[0])
    }
}
let schedule = SwarmKey(bytes: (0..<32).map { UInt8($0 ^ 0x5A) })!.schedule(for: KeyContext(swarmID: 7, purpose: KeyContext.framePurpose))
// Whole model frames through the codec (what a peer pays per frame beyond building and merging the table).
let rows = 1_682, dim = 32
let model = ModelPayload(itemCount: UInt32(rows), dimension: UInt16(dim), round: 12,
                         items: (0..<UInt32(rows)).map { $0 }, weights: (0..<rows).map { Float($0 % 7) + 1 },
                         values: (0..<rows * dim).map { Float($0 % 13) / 13 - 0.5 })
let push = Envelope(swarmID: 9, sender: PeerID(4), sequence: 0, message: .modelPush(seq: 6, model: model, wantsReply: true))
let swarmKey = SwarmKey(bytes: (0..<32).map { UInt8($0 &* 3) })!
nonisolated(unsafe) var sender = FrameSecurity(keyring: try! Keyring(primary: swarmKey), swarmID: 9, epoch: 5)
let clearFrame = try! WireCodec.encode(push)
rate("frame encode, unsealed (XXH32)", bytes: clearFrame.count, iterations: iterations / 4) { i in
    var e = push; e.sequence = UInt64(i)
    return UInt64(try! WireCodec.encode(e)[i % 100])
}
rate("frame decode, unsealed (XXH32)", bytes: clearFrame.count, iterations: iterations / 4) { i in
    UInt64(try! WireCodec.decode(clearFrame).sequence)
}
nonisolated(unsafe) var sealSequence: UInt64 = 0
rate("frame encode, sealed", bytes: clearFrame.count, iterations: iterations / 4) { i in
    var e = push; sealSequence += 1; e.sequence = sealSequence
    return UInt64(try! WireCodec.encode(e, security: &sender)[i % 100])
}
// Decoding needs fresh frames (the replay filter refuses a repeat): each is sealed just before, untimed, so it is
// in the cache as a frame just read from a socket would be; only the decode is timed. The two ways alternate frame
// by frame, so both meet the same heap (which, freeing and reallocating 230 KB buffers, can add page faults).
if only.isEmpty || "frame decode, sealed".hasPrefix(only) || only.hasPrefix("frame decode, sealed") {
    var receiver = FrameSecurity(keyring: try! Keyring(primary: swarmKey), swarmID: 9, epoch: 1)
    var best = [Double.infinity, Double.infinity]
    for _ in 0..<5 {
        var total = [0.0, 0.0]
        for k in 0..<(iterations / 2) {
            let handOver = k % 2 == 1
            var e = push; sealSequence += 1; e.sequence = sealSequence
            var frame = try! WireCodec.encode(e, security: &sender)
            let kept = handOver ? [] : frame
            let env: Envelope
            let c0 = cpuSeconds()
            if handOver {
                env = try! WireCodec.decode(consume frame, security: &receiver)  // the last reference: opened in place
            } else {
                env = try! WireCodec.decode(kept, security: &receiver)  // still referenced by `frame`: copied first
            }
            total[k % 2] += cpuSeconds() - c0
            precondition(env.sender == PeerID(4))
            frame = []
            _ = frame
        }
        best = [min(best[0], total[0]), min(best[1], total[1])]
    }
    for (name, seconds) in [("frame decode, sealed (kept: + copy)", best[0]), ("frame decode, sealed (handed over)", best[1])] {
        let per = seconds / Double(iterations / 4)
        print("\(name.rightPad(40)) cpu \(String(Int(Double(clearFrame.count + 12) / per / 1e6)).leftPad(6)) MB/s \(format1(per * 1e6).leftPad(8)) us")
    }
}
rate("sender key derivation (HKDF-Expand)", bytes: 0, iterations: iterations * 100) { i in
    UInt64(schedule.senderKey(UInt64(i)).bytes[0])
}
rate("replay window (64 accepts, in order)", bytes: 0, iterations: iterations * 100) { i in
    var w = ReplayWindow()
    var n: UInt64 = 0
    for s in 0..<UInt64(64) where w.accept(UInt64(i) &* 64 &+ s) == .accepted { n &+= 1 }
    return n
}
SWIFT
swift build -c release --package-path "$dir" --scratch-path "$dir/.build" 2>&1 | grep -E "error|warning" || true
"$dir/.build/release/bench" "${1:-400}" ${2:+"$2"}
