// swift-tools-version:6.0
// GossipRec: a peer-to-peer, gossip-based, decentralized recommender.
// Toolchain only: Foundation, Dispatch, Glibc, Swift Testing. No package dependencies.
import PackageDescription

/// Hot numeric loops (MF training, merging) are bounds-checked in debug and run unchecked in release builds.
let fast: [SwiftSetting] = [.unsafeFlags(["-Ounchecked", "-wmo"], .when(configuration: .release))]

let package = Package(
    name: "GossipRec",
    products: [
        .executable(name: "gossiprec", targets: ["gossiprec"]),
        .library(name: "RecommenderModel", targets: ["RecommenderModel"]),
        .library(name: "GossipProtocol", targets: ["GossipProtocol"]),
        .library(name: "SwarmSpec", targets: ["SwarmSpec"]),
        .library(name: "WireFormat", targets: ["WireFormat"]),
        .library(name: "PeerStore", targets: ["PeerStore"]),
        .library(name: "SocketTransport", targets: ["SocketTransport"]),
        .library(name: "PeerCore", targets: ["PeerCore"]),
        .library(name: "NodeRuntime", targets: ["NodeRuntime"]),
        .library(name: "GossipSimulator", targets: ["GossipSimulator"]),
    ],
    targets: [
        // Pure core: data sets, splits, matrix factorization, metrics, merge rules. Foundation at most.
        .target(name: "RecommenderModel", swiftSettings: fast),
        // Pure protocol decisions: peer sampling, failure detection, gossip. Value types returning directives.
        .target(name: "GossipProtocol", dependencies: ["RecommenderModel"], swiftSettings: fast),
        // Descriptions of a swarm: topology files, generators, summaries and the churn/straggler scenario language.
        .target(name: "SwarmSpec", dependencies: ["GossipProtocol", "RecommenderModel"], swiftSettings: fast),
        // One peer as pure code: the protocol instances composed, partner policy, checkpoint contents, start and
        // stop order, the seed scheme. Events in, effects out; both drivers below run it.
        .target(name: "PeerCore", dependencies: ["GossipProtocol", "RecommenderModel"], swiftSettings: fast),
        // Bytes <-> messages. Pure.
        .target(name: "WireFormat", dependencies: ["GossipProtocol", "RecommenderModel"], swiftSettings: fast),
        // A peer's checkpoints: their byte format (WireFormat's cursors) and the crash-safe file store (fsync, rename).
        .target(name: "PeerStore", dependencies: ["RecommenderModel", "WireFormat"]),
        // Linux epoll(7) headers for SocketTransport (Glibc's module map leaves them out). Headers only.
        .target(name: "CEpollShim"),
        // The only code that calls Glibc for I/O.
        .target(name: "SocketTransport", dependencies: ["CEpollShim"]),
        // The shell: one serial DispatchQueue per peer interpreting protocol directives.
        .target(name: "NodeRuntime",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat", "SocketTransport",
                               "PeerStore"],
                swiftSettings: fast),
        // Deterministic twin of NodeRuntime: virtual clock, simulated network, churn.
        .target(name: "GossipSimulator",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat"], swiftSettings: fast),
        // Subcommands: parse -> validate -> run. Kept in a library so parsing is unit-tested.
        .target(name: "GossipRecCLI",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat", "SocketTransport",
                               "PeerStore", "NodeRuntime", "GossipSimulator"],
                swiftSettings: fast),
        .executableTarget(name: "gossiprec", dependencies: ["GossipRecCLI"]),

        .testTarget(name: "RecommenderModelTests", dependencies: ["RecommenderModel"]),
        .testTarget(name: "GossipProtocolTests", dependencies: ["GossipProtocol"]),
        .testTarget(name: "PeerCoreTests", dependencies: ["PeerCore"]),
        .testTarget(name: "SwarmSpecTests", dependencies: ["SwarmSpec", "GossipProtocol", "RecommenderModel"]),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat", "RecommenderModel"]),
        .testTarget(name: "PeerStoreTests", dependencies: ["PeerStore", "RecommenderModel"]),
        .testTarget(name: "SocketTransportTests", dependencies: ["SocketTransport"]),
        .testTarget(name: "NodeRuntimeTests", dependencies: ["NodeRuntime", "PeerCore"]),
        .testTarget(name: "GossipSimulatorTests", dependencies: ["GossipSimulator", "PeerCore"]),
        .testTarget(name: "GossipRecCLITests", dependencies: ["GossipRecCLI"]),
    ]
)
