// swift-tools-version:6.0
// GossipRec: a peer-to-peer, gossip-based, decentralized recommender.
// Toolchain only: Foundation, Dispatch, Glibc, Swift Testing. No package dependencies.
// Release builds are SwiftPM's default (-O, whole-module): no unsafeFlags, so bounds, overflow and precondition
// checks stay in the shipped binary and the libraries can be a versioned dependency. Hot loops that need more
// speed get it in their source, safely (see LocalTrainer.contains, SplitMix64.next(below:)).
import PackageDescription

let package = Package(
    name: "GossipRec",
    products: [
        .executable(name: "gossiprec", targets: ["gossiprec"]),
        .library(name: "RecommenderModel", targets: ["RecommenderModel"]),
        .library(name: "GossipProtocol", targets: ["GossipProtocol"]),
        .library(name: "WireFormat", targets: ["WireFormat"]),
        .library(name: "SocketTransport", targets: ["SocketTransport"]),
        .library(name: "NodeRuntime", targets: ["NodeRuntime"]),
        .library(name: "GossipSimulator", targets: ["GossipSimulator"]),
    ],
    targets: [
        // Pure core: data sets, splits, matrix factorization, metrics, merge rules. Foundation at most.
        .target(name: "RecommenderModel"),
        // Pure protocol decisions: peer sampling, failure detection, gossip. Value types returning directives.
        .target(name: "GossipProtocol", dependencies: ["RecommenderModel"]),
        // Bytes <-> messages. Pure.
        .target(name: "WireFormat", dependencies: ["GossipProtocol", "RecommenderModel"]),
        // Linux epoll(7) headers for SocketTransport (Glibc's module map leaves them out). Headers only.
        .target(name: "CEpollShim"),
        // The only code that calls Glibc for I/O.
        .target(name: "SocketTransport", dependencies: ["CEpollShim"]),
        // The shell: one serial DispatchQueue per peer interpreting protocol directives.
        .target(name: "NodeRuntime",
                dependencies: ["RecommenderModel", "GossipProtocol", "WireFormat", "SocketTransport"]),
        // Deterministic twin of NodeRuntime: virtual clock, simulated network, churn.
        .target(name: "GossipSimulator",
                dependencies: ["RecommenderModel", "GossipProtocol", "WireFormat"]),
        // Subcommands: parse -> validate -> run. Kept in a library so parsing is unit-tested.
        .target(name: "GossipRecCLI",
                dependencies: ["RecommenderModel", "GossipProtocol", "WireFormat", "SocketTransport",
                               "NodeRuntime", "GossipSimulator"]),
        .executableTarget(name: "gossiprec", dependencies: ["GossipRecCLI"]),
        // The decoder fuzz (input generators, mutations, properties), shared by WireFormatTests and wire-fuzz.
        .target(name: "WireFuzz", dependencies: ["WireFormat", "GossipProtocol", "RecommenderModel"]),
        // Runs the decoder fuzz as a program, so it can run on the release build (Scripts/fuzz.sh).
        .executableTarget(name: "wire-fuzz", dependencies: ["WireFuzz"]),

        .testTarget(name: "RecommenderModelTests", dependencies: ["RecommenderModel"]),
        .testTarget(name: "GossipProtocolTests", dependencies: ["GossipProtocol"]),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat", "RecommenderModel", "WireFuzz"]),
        .testTarget(name: "SocketTransportTests", dependencies: ["SocketTransport"]),
        .testTarget(name: "NodeRuntimeTests", dependencies: ["NodeRuntime"]),
        .testTarget(name: "GossipSimulatorTests", dependencies: ["GossipSimulator"]),
        .testTarget(name: "GossipRecCLITests", dependencies: ["GossipRecCLI"]),
    ]
)
