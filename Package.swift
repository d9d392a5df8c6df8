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
        .library(name: "DataFiles", targets: ["DataFiles"]),
        .library(name: "GossipProtocol", targets: ["GossipProtocol"]),
        .library(name: "SwarmSpec", targets: ["SwarmSpec"]),
        .library(name: "WireFormat", targets: ["WireFormat"]),
        .library(name: "PeerStore", targets: ["PeerStore"]),
        .library(name: "SocketTransport", targets: ["SocketTransport"]),
        .library(name: "PeerCore", targets: ["PeerCore"]),
        .library(name: "NodeRuntime", targets: ["NodeRuntime"]),
        .library(name: "GossipSimulator", targets: ["GossipSimulator"]),
        .library(name: "SwarmCrypto", targets: ["SwarmCrypto"]),
        .library(name: "PrivacyAudit", targets: ["PrivacyAudit"]),
    ],
    targets: [
        // Pure core: data sets, splits, matrix factorization, metrics, merge rules. Foundation at most.
        .target(name: "RecommenderModel"),
        // The data files (ratings, titles, splits, user files): reading and atomic writing. RecommenderModel does no I/O.
        .target(name: "DataFiles", dependencies: ["RecommenderModel"]),
        // Pure protocol decisions: peer sampling, failure detection, gossip. Value types returning directives.
        .target(name: "GossipProtocol", dependencies: ["RecommenderModel"]),
        // Descriptions of a swarm: topology files, generators, summaries and the churn/straggler scenario language.
        .target(name: "SwarmSpec", dependencies: ["GossipProtocol", "RecommenderModel"]),
        // One peer as pure code: the protocol instances composed, partner policy, checkpoint contents, start and
        // stop order, the seed scheme. Events in, effects out; both drivers below run it.
        .target(name: "PeerCore", dependencies: ["GossipProtocol", "RecommenderModel"]),
        // Bytes <-> messages. Pure.
        .target(name: "WireFormat", dependencies: ["GossipProtocol", "RecommenderModel", "SwarmCrypto"]),
        // A peer's checkpoints: their byte format (WireFormat's cursors) and the crash-safe file store (fsync, rename).
        .target(name: "PeerStore", dependencies: ["RecommenderModel", "WireFormat", "SocketTransport"]),
        // Frame cryptography: SHA-256, HMAC, HKDF, ChaCha20-Poly1305, the swarm keyring, nonces, replay windows. Pure,
        // no dependencies. Plain -O in release (bounds checks kept): its hot loops check bounds once per buffer.
        .target(name: "SwarmCrypto"),
        // Linux epoll(7) headers for SocketTransport (Glibc's module map leaves them out). Headers only.
        .target(name: "CEpollShim"),
        // The only code that calls Glibc for I/O.
        .target(name: "SocketTransport", dependencies: ["CEpollShim"]),
        // The shell: one serial DispatchQueue per peer interpreting protocol directives.
        .target(name: "NodeRuntime",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat", "SocketTransport",
                               "PeerStore", "SwarmCrypto"]),
        // Deterministic twin of NodeRuntime: virtual clock, simulated network, churn.
        .target(name: "GossipSimulator",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat", "SwarmCrypto"]),
        // The membership-inference attack on what peers send (issue 18): scorings, metrics, the curious group. Pure.
        .target(name: "PrivacyAudit", dependencies: ["RecommenderModel"]),
        // Subcommands: parse -> validate -> run. Kept in a library so parsing is unit-tested.
        .target(name: "GossipRecCLI",
                dependencies: ["RecommenderModel", "GossipProtocol", "PeerCore", "SwarmSpec", "WireFormat", "SocketTransport",
                               "PeerStore", "NodeRuntime", "GossipSimulator", "SwarmCrypto", "DataFiles", "PrivacyAudit"]),
        .executableTarget(name: "gossiprec", dependencies: ["GossipRecCLI"]),
        // The decoder fuzz (input generators, mutations, properties), shared by WireFormatTests and wire-fuzz.
        .target(name: "WireFuzz", dependencies: ["WireFormat", "GossipProtocol", "RecommenderModel", "SwarmCrypto"]),
        // Runs the decoder fuzz as a program, so it can run on the release build (Scripts/fuzz.sh).
        .executableTarget(name: "wire-fuzz", dependencies: ["WireFuzz"]),

        .testTarget(name: "RecommenderModelTests", dependencies: ["RecommenderModel"]),
        .testTarget(name: "DataFilesTests", dependencies: ["DataFiles", "RecommenderModel"]),
        .testTarget(name: "GossipProtocolTests", dependencies: ["GossipProtocol"]),
        .testTarget(name: "PeerCoreTests", dependencies: ["PeerCore"]),
        .testTarget(name: "SwarmSpecTests", dependencies: ["SwarmSpec", "GossipProtocol", "RecommenderModel"]),
        .testTarget(name: "WireFormatTests", dependencies: ["WireFormat", "RecommenderModel", "WireFuzz", "SwarmCrypto"]),
        .testTarget(name: "PeerStoreTests", dependencies: ["PeerStore", "RecommenderModel"]),
        .testTarget(name: "SocketTransportTests", dependencies: ["SocketTransport"]),
        .testTarget(name: "NodeRuntimeTests", dependencies: ["NodeRuntime", "PeerCore", "SwarmCrypto", "WireFormat"]),
        // Simulator tests, and the membership-only cluster tests, which share its EventQueue (virtual time, seeded).
        .testTarget(name: "GossipSimulatorTests",
                    dependencies: ["GossipSimulator", "GossipProtocol", "RecommenderModel", "SwarmSpec", "WireFormat", "PeerCore"]),
        .testTarget(name: "GossipRecCLITests", dependencies: ["GossipRecCLI", "SwarmCrypto", "DataFiles", "PeerStore"]),
        .testTarget(name: "SwarmCryptoTests", dependencies: ["SwarmCrypto"]),
        .testTarget(name: "PrivacyAuditTests", dependencies: ["PrivacyAudit", "GossipProtocol", "RecommenderModel"]),
        // One scenario through both drivers (real peers on loopback, the simulator): the same kinds of decisions.
        .testTarget(name: "DriverParityTests",
                    dependencies: ["NodeRuntime", "GossipSimulator", "PeerCore", "SwarmSpec", "GossipProtocol", "RecommenderModel"]),
    ]
)
