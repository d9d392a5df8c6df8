#!/usr/bin/env bash
# Throughput of the frame checksum and of encode + decode of a full model frame (1,682 items x 32 floats + weight,
# ~229 KB), in a release build (SwiftPM's plain -O, as shipped). Builds a throwaway package (in a temp dir) that depends on this one by path, so
# the numbers are those of the real WireFormat target. The old CRC-32C (slicing-by-8, the wire v1 checksum) is
# embedded below so both checksums are measured in the same run.
# Usage: Scripts/bench-wire.sh [iterations [name-prefix]]   (e.g. `Scripts/bench-wire.sh 1000 checksum`)
# The machine is shared: compare figures of one run, not across runs. Large arrays are malloc'ed and freed per
# frame, so glibc's heap trimming can add page faults; MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_MMAP_THRESHOLD_=8388608
# in the environment shows the codec without them.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="$(mktemp -d /tmp/bench-wire.XXXXXX)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$dir/Sources/bench"
cat > "$dir/Package.swift" <<PKG
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "bench", dependencies: [.package(path: "$repo")],
    targets: [.executableTarget(name: "bench", dependencies: [.product(name: "WireFormat", package: "$(basename "$repo")"),
        .product(name: "RecommenderModel", package: "$(basename "$repo")"),
        .product(name: "GossipProtocol", package: "$(basename "$repo")")])])
PKG
cat > "$dir/Sources/bench/main.swift" <<'SWIFT'
import Dispatch
import GossipProtocol
import RecommenderModel
import WireFormat

/// Wire v1's CRC-32C, slicing-by-8 (verbatim algorithm of the removed CRC32C.swift), for comparison.
let crcTables: [UInt32] = {
    var t = [UInt32](repeating: 0, count: 8 * 256)
    for b in 0..<256 {
        var c = UInt32(b)
        for _ in 0..<8 { c = (c & 1) != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        t[b] = c
    }
    for k in 1..<8 { for b in 0..<256 { let p = t[(k - 1) * 256 + b]; t[k * 256 + b] = (p >> 8) ^ t[Int(p & 0xFF)] } }
    return t
}()
func crc32c(_ bytes: UnsafeRawBufferPointer, continuing previous: UInt32 = 0) -> UInt32 {
    var crc: UInt32 = ~previous
    let count = bytes.count, base = bytes.baseAddress!
    crcTables.withUnsafeBufferPointer { tp in
        let t = tp.baseAddress!
        var i = 0
        while count - i >= 8 {
            let v = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: i, as: UInt64.self)) ^ UInt64(crc)
            crc = t[7 * 256 + Int(truncatingIfNeeded: v) & 0xFF] ^ t[6 * 256 + Int(truncatingIfNeeded: v >> 8) & 0xFF]
                ^ t[5 * 256 + Int(truncatingIfNeeded: v >> 16) & 0xFF] ^ t[4 * 256 + Int(truncatingIfNeeded: v >> 24) & 0xFF]
                ^ t[3 * 256 + Int(truncatingIfNeeded: v >> 32) & 0xFF] ^ t[2 * 256 + Int(truncatingIfNeeded: v >> 40) & 0xFF]
                ^ t[1 * 256 + Int(truncatingIfNeeded: v >> 48) & 0xFF] ^ t[Int(truncatingIfNeeded: v >> 56)]
            i &+= 8
        }
        while i < count { crc = t[Int((crc ^ UInt32(base.load(fromByteOffset: i, as: UInt8.self))) & 0xFF)] ^ (crc >> 8); i &+= 1 }
    }
    return ~crc
}

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1])! : 2_000
var rng = SplitMix64(seed: 1_682)
let rows = 1_682, dim = 32
let model = ModelPayload(itemCount: UInt32(rows), dimension: UInt16(dim), round: 12, items: (0..<UInt32(rows)).map { $0 },
                         weights: (0..<rows).map { _ in rng.nextUnitFloat() * 10 },
                         values: (0..<rows * dim).map { _ in rng.nextUnitFloat() * 2 - 1 })
let envelope = Envelope(swarmID: 3, sender: PeerID(4), sequence: 5, message: .modelPush(seq: 6, model: model, wantsReply: true))
let frame = try WireCodec.encode(envelope)
let mb = Double(frame.count) / 1e6

/// Best of 5 rounds (each input varies with the iteration `i` where the result is a pure function of it) (the machine is shared): MB/s of `body` run `iterations` times over a `frame.count` buffer.
let only = CommandLine.arguments.count > 2 ? CommandLine.arguments[2] : ""
func rate(_ name: String, _ body: (Int) throws -> UInt64) rethrows {
    if !only.isEmpty && !name.hasPrefix(only) { return }
    var best = Double.infinity, sink: UInt64 = 0
    for _ in 0..<5 {
        let t0 = DispatchTime.now().uptimeNanoseconds
        for i in 0..<iterations { sink &+= try body(i) }
        best = min(best, Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
    }
    let perFrame = best / Double(iterations) * 1e6
    print("\(name.padding(toLength: 40, withPad: " ", startingAt: 0)) \(String(Int(mb * Double(iterations) / best)).leftPad(7)) MB/s  \(String(Int(perFrame)).leftPad(5)) us/frame  (\(sink & 1))")
}
extension String { func leftPad(_ n: Int) -> String { String(repeating: " ", count: max(0, n - count)) + self } }

print("frame: \(frame.count) bytes (\(rows) items x \(dim) floats + weight), \(iterations) iterations, best of 5")
frame.withUnsafeBytes { raw in
    rate("checksum CRC-32C (v1, slicing-by-8)") { UInt64(crc32c(raw, continuing: UInt32($0))) }
#if WIRE_HAS_XXH32
    rate("checksum XXH32 (v2)") { UInt64(XXH32.hash(raw, seed: UInt32($0))) }
#endif
}
try rate("encode") { _ in UInt64(try WireCodec.encode(envelope).count) }
try rate("decode") { _ in UInt64(try WireCodec.decode(frame).sequence) }
try rate("encode + decode") { _ in UInt64(try WireCodec.decode(try WireCodec.encode(envelope)).sequence) }
try rate("accumulate (64 KiB chunks) + decode") { _ in
    var acc = FrameAccumulator()
    var i = 0, n: UInt64 = 0
    while i < frame.count {
        let j = min(frame.count, i + 65_536)
        acc.append(Array(frame[i..<j]))
        i = j
        while let f = try acc.nextFrame() { n &+= try WireCodec.decode(f).sequence }
    }
    return n
}
SWIFT
defines=()
if [ -f "$repo/Sources/WireFormat/XXH32.swift" ]; then defines=(-Xswiftc -DWIRE_HAS_XXH32); fi
swift build -c release --package-path "$dir" --scratch-path "$dir/.build" "${defines[@]}" 2>&1 | grep -E "error|warning" || true
"$dir/.build/release/bench" "${1:-2000}" ${2:+"$2"}
