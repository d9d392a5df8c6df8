import DataFiles
import Dispatch
import Foundation
import GossipProtocol
import PeerCore
import NodeRuntime
import PeerStore
import RecommenderModel
import SocketTransport
import SwarmSpec
import SwarmCrypto
import WireFormat

/// `gossiprec node`: run one or many peers in this process over real UDP/TCP sockets.
struct NodeCommand: Subcommand, @unchecked Sendable {  // immutable after parsing; captured by the peer factory
    static let name = "node"
    static let summary = "Run one or many peers (one per user shard) over real UDP/TCP sockets"
    static let options = [
        OptionSpec("users-dir", "DIR", "per-user shard directory written by 'gossiprec split'"),
        OptionSpec("peers", "N", "peers hosted by this process", default: "1"),
        OptionSpec("first-user", "U", "dense user index of this process's first peer", default: "0"),
        OptionSpec("listen", "ADDR:PORT", "address and first port; peer i uses PORT+i (port 0: any free port)", default: "127.0.0.1:0"),
        OptionSpec("join", "HOST:PORT", "seed to join through (comma-separated list allowed); default: this process's first peer"),
        OptionSpec("join-window", "S", "seconds after which a node whose peers have met no other peer says so on stderr (wrong --join address, swarm id or key)", default: "15"),
        OptionSpec("require-join", nil, "exit with status 1 when no peer has met another within --join-window"),
        OptionSpec("swarm-id", "N", "swarm identifier; frames of other swarms are rejected", default: "1"),
        OptionSpec("max-members", "N|all", "members each peer remembers (a random, changing sample when the swarm is larger; see README; all: unbounded)", default: "1000"),
        OptionSpec("period-ms", "MS", "mean gossip period (2000: what 943 peers on 2 cores sustain; shorter only queues work)", default: "2000"),
        OptionSpec("eval-period-ms", "MS", "how often each peer evaluates its held-out item", default: "5000"),
        OptionSpec("local-epochs", "E", "local epochs per gossip round", default: "1"),
        OptionSpec("duration", "S", "stop after this many seconds (0: run until SIGINT/SIGTERM)", default: "0"),
        OptionSpec("log", "FILE", "JSON lines: one per peer evaluation (time, peer, round, metrics, bytes, drops)"),
        OptionSpec("progress-seconds", "S", "print a progress line this often (0: never)", default: "5"),
        OptionSpec("checkpoint-dir", "DIR", "crash-safe state: peer U checkpoints to DIR/peer-U every --checkpoint-seconds and at a clean stop, and resumes from it at start (rejoining through the peers it knew, without --join)"),
        OptionSpec("checkpoint-seconds", "S", "seconds between checkpoints", default: "30"),
        OptionSpec("profile", "FILE", "churn/straggler profile (Scripts/profiles/README.md) applied to this process's peers on the wall clock"),
        OptionSpec("swarm-peers", "N", "with --profile: peers in the whole swarm (percentages and peer lists refer to it); default: first-user + peers"),
        OptionSpec("profile-base-delay-ms", "MS", "with --profile: one-way link latency that straggler link-delay factors multiply", default: "20"),
        OptionSpec("log-time-offset", "S", "add S seconds to the times in the log (a process restarted into a running swarm)", default: "0"),
        OptionSpec("seed", "S", "random seed (the item table's initialisation is shared by the swarm)", default: "1"),
        OptionSpec("swarm-key", "FILE", "seal every frame with the swarm key in FILE ('gossiprec keygen'; mode 0600); SIGHUP re-reads it (key rotation)"),
        OptionSpec("insecure", nil, "run unkeyed: frames travel in clear and anyone who can reach the ports can read and forge them"),
        EvaluationOption.spec,
    ] + limitSpecs + PeerOptions.mergeSpecs + PeerOptions.modeSpecs + PeerOptions.defenceSpecs + PeerOptions.exchangeSpecs + PeerOptions.privacySpecs + TrainingOptions.specs(lr: "0.5", optimizer: .sgd)
        + faultSpecs + attackSpecs

    /// Test-only attack harness (`Attack`, issue 17): these peers lie in every copy they send.
    static let attackSpecs = [
        OptionSpec("attack", "KIND", "TEST ONLY: make peers of this process malicious: \(Attack.Kind.allCases.map(\.rawValue).joined(separator: ", ")) (the sparse kinds draw rows uniformly: a node has no popularity list)"),
        OptionSpec("attack-users", "U[,U]", "TEST ONLY: with --attack, only these users of this process are malicious; default: all of them"),
        OptionSpec("attack-target", "ITEM", "TEST ONLY: the item --attack promote promotes (dense index)", default: "0"),
    ]

    /// Per-source admission limits (`SourceLimits`, README "Trust and safety"): token buckets per source IP address.
    static let limitSpecs = [
        OptionSpec("limit-datagrams", "RATE[/BURST]|off", "datagrams per second each source address may send a peer (burst: 4 s' worth if not given)", default: "1000/4000"),
        OptionSpec("limit-connections", "RATE[/BURST]|off", "new model connections per second from each source address", default: "50/200"),
        OptionSpec("limit-inbound-mib", "RATE[/BURST]|off", "MiB per second each source address may send a peer (datagrams and model pushes)", default: "64/256"),
        OptionSpec("limit-sources", "N", "source addresses tracked per peer (the least recently seen is forgotten)", default: "4096"),
    ]

    /// Test-only fault injection on outgoing traffic (`FaultInjection`; README, "Running peers").
    static let faultSpecs = [
        OptionSpec("fault-drop", "P", "TEST ONLY: drop each outgoing datagram with probability P (0...1)", default: "0"),
        OptionSpec("fault-duplicate", "P", "TEST ONLY: send each outgoing datagram twice with probability P (0...1)", default: "0"),
        OptionSpec("fault-delay-ms", "MS[+J]", "TEST ONLY: delay outgoing datagrams, model pushes and replies by MS plus uniform 0..J ms", default: "0"),
        OptionSpec("fault-to", "CIDR[,CIDR]", "TEST ONLY: apply the --fault-* options only to these destinations (e.g. 10.77.2.0/24); default: all"),
    ]

    var usersDir: String, peers: Int, firstUser: Int, listen: SocketAddress, join: [PeerAddress]?, swarmID: UInt32
    var mergeRule: any MergeRule, topology: Topology?, clientGraph: ClientGraphSettings?
    var faults = FaultInjection()
    var sourceLimits = SourceLimits.Settings.default
    var defences = MergeDefences.on, reputation = ReputationSettings()
    /// The sending-side privacy knobs (`--spread-votes` ... `--share-fraction`).
    var privacy = PrivacySettings.off
    /// `--attack`: the attack and the malicious users (nil: all of this process's).
    var attack: Attack?, attackUsers: Set<Int>?
    var membership = MembershipSettings()
    var checkpointDir: String?, checkpointSeconds = 30.0, logTimeOffset = 0.0
    var joinWindow = 15.0, requireJoin = false
    var profile: Scenario?, profilePath: String?, swarmPeers: Int?, profileBaseDelayMs = 20
    var keyPath: String?
    /// The keyring in use (nil: --insecure); replaced by SIGHUP, read by peers started later (profile restarts).
    let keys = KeyringBox()
    var gossip = GossipSettings(), duration: Double, log: String?, progressSeconds: Double, config = TrainingConfig(), seed: UInt64
    /// The held-out item each peer ranks (`--evaluate`).
    var evaluate = HeldOutItem.test

    init(_ o: ParsedOptions) throws {
        usersDir = try o.string("users-dir")
        evaluate = try EvaluationOption.parse(o)
        peers = try o.int("peers", in: 1...10_000)
        firstUser = try o.int("first-user", in: 0...100_000_000)
        let l = try o.string("listen")
        do { listen = try SocketAddress(parsing: l) } catch {
            throw CLIError.badValue(option: "--listen", value: l, expected: "ADDR:PORT such as 127.0.0.1:7000 or [::1]:7000")
        }
        joinWindow = try o.double("join-window", in: 0.1...86_400)
        requireJoin = o.has("require-join")
        if let j = o.optionalString("join") {
            join = try j.split(separator: ",").map { part in
                guard let a = PeerAddress(parsing: String(part)) else {
                    throw CLIError.badValue(option: "--join", value: String(part), expected: "HOST:PORT with a numeric IPv4 or [IPv6] host")
                }
                return a
            }
        }
        let sid = try o.string("swarm-id")
        guard let s = UInt32(sid) else { throw CLIError.badValue(option: "--swarm-id", value: sid, expected: "an integer in 0...4294967295") }
        swarmID = s
        if o.optionalString("max-members") == "all" {
            membership.maxMembers = nil
        } else {
            membership.maxMembers = try o.int("max-members", in: 1...10_000_000)
            if let problem = membership.validate() {
                throw CLIError.badValue(option: "--max-members", value: "\(membership.maxMembers!)", expected: problem)
            }
        }
        gossip.period = .milliseconds(try o.int("period-ms", in: 1...3_600_000))
        gossip.rowPrecision = try PeerOptions.parseRowBits(o)
        gossip.evaluationPeriod = .milliseconds(try o.int("eval-period-ms", in: 0...3_600_000))
        gossip.localEpochs = try o.int("local-epochs", in: 0...1000)
        duration = try o.double("duration", in: 0...1e7)
        log = o.optionalString("log")
        progressSeconds = try o.double("progress-seconds", in: 0...1e6)
        config = try TrainingOptions.parse(o)
        seed = try o.seed()
        faults = try Self.parseFaults(o)
        sourceLimits = try Self.parseSourceLimits(o)
        checkpointDir = o.optionalString("checkpoint-dir")
        if let dir = checkpointDir {
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: dir, isDirectory: &isDir), !isDir.boolValue {
                throw CLIError.badValue(option: "--checkpoint-dir", value: dir, expected: "a directory (this is a file)")
            }
        }
        checkpointSeconds = try o.double("checkpoint-seconds", in: 0.05...86_400)
        logTimeOffset = try o.double("log-time-offset", in: 0...1e9)
        if let path = o.optionalString("profile") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(file: path, reason: "no such file or not readable")
            }
            do { profile = try Scenario.parse(text: String(decoding: data, as: UTF8.self), file: path) } catch {
                throw DataError.unreadable(file: path, reason: "invalid profile: \(error)")
            }
            profilePath = path
        }
        if o.optionalString("swarm-peers") != nil { swarmPeers = try o.int("swarm-peers", in: 1...10_000_000) }
        profileBaseDelayMs = try o.int("profile-base-delay-ms", in: 0...600_000)
        keyPath = o.optionalString("swarm-key")
        switch (keyPath, o.has("insecure")) {
        case (nil, false):
            throw CLIError.refused(option: "--swarm-key", reason:
                "refusing to start without --swarm-key FILE (make one with 'gossiprec keygen --out FILE' and give every peer "
                + "of the swarm a private copy) or --insecure (frames in clear, readable and forgeable by anyone on the network)")
        case (let path?, true):
            throw CLIError.refused(option: "--insecure", reason: "given with --swarm-key \(path): choose one")
        case (let path?, false):
            do { keys.keyring = try SwarmKeyFile.load(path) } catch { throw CLIError.refused(option: "--swarm-key", reason: "\(error)") }
        case (nil, true):
            keys.keyring = nil
        }
        mergeRule = try PeerOptions.parseMerge(o)
        (defences, reputation) = try PeerOptions.parseDefences(o)
        privacy = try PeerOptions.parsePrivacy(o)
        if let name = o.optionalString("attack") {
            guard let kind = Attack.Kind(rawValue: name) else {
                throw CLIError.badValue(option: "--attack", value: name, expected: "one of \(Attack.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            attack = Attack(kind: kind, target: try o.int("attack-target", in: 0...100_000_000), sharedSeed: SeedScheme.attackNoise(seed))
            if let list = o.optionalString("attack-users") {
                let users = list.split(separator: ",").map { Int($0) }
                guard !users.isEmpty, users.allSatisfy({ $0 != nil && $0! >= 0 }) else {
                    throw CLIError.badValue(option: "--attack-users", value: list, expected: "comma-separated user indices such as 3,17")
                }
                attackUsers = Set(users.map { $0! })
            }
        }
        switch try PeerOptions.parseMode(o, command: "node") {
        case .random: topology = nil; clientGraph = nil
        case .fixed(let t): topology = t; clientGraph = nil
        case .clientGraph(let cg): topology = nil; clientGraph = cg
        }
    }

    /// `--limit-datagrams`, `--limit-connections`, `--limit-inbound-mib`, `--limit-sources`.
    static func parseSourceLimits(_ o: ParsedOptions) throws -> SourceLimits.Settings {
        func rate(_ name: String, unit: Double = 1) throws -> SourceLimits.Rate? {
            let text = try o.string(name)
            guard let parsed = SourceLimits.Rate.parse(text, unit: unit) else {
                throw CLIError.badValue(option: "--\(name)", value: text, expected: "RATE, RATE/BURST (positive numbers) or off, such as 1000/4000")
            }
            return parsed
        }
        return SourceLimits.Settings(datagrams: try rate("limit-datagrams"), connections: try rate("limit-connections"),
                                     inboundBytes: try rate("limit-inbound-mib", unit: 1_048_576),
                                     maxSources: try o.int("limit-sources", in: 1...10_000_000))
    }

    /// `--fault-drop`, `--fault-duplicate`, `--fault-delay-ms MS[+JITTER]`, `--fault-to CIDR[,CIDR]`.
    static func parseFaults(_ o: ParsedOptions) throws -> FaultInjection {
        var f = FaultInjection()
        f.dropOutgoingDatagrams = try o.double("fault-drop", in: 0...1)
        f.duplicateOutgoingDatagrams = try o.double("fault-duplicate", in: 0...1)
        let d = try o.string("fault-delay-ms")
        let parts = d.split(separator: "+", omittingEmptySubsequences: false)
        let ms = parts.map { p in p.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } ? Int(p) : nil }
        guard parts.count <= 2, ms.allSatisfy({ $0 != nil && $0! <= 600_000 }) else {
            throw CLIError.badValue(option: "--fault-delay-ms", value: d,
                                    expected: "MS or MS+JITTER in whole milliseconds up to 600000, such as 40 or 40+20")
        }
        f.outgoingDelay = .milliseconds(ms[0]!)
        f.outgoingDelayJitter = .milliseconds(ms.count == 2 ? ms[1]! : 0)
        if let to = o.optionalString("fault-to") {
            f.destinations = try to.split(separator: ",", omittingEmptySubsequences: false).map { part in
                guard let p = IPPrefix(parsing: String(part)) else {
                    throw CLIError.badValue(option: "--fault-to", value: String(part),
                                            expected: "an IPv4 or IPv6 prefix such as 10.77.2.0/24, fd00::/8 or 10.77.2.5")
                }
                return p
            }
            guard f.dropOutgoingDatagrams > 0 || f.duplicateOutgoingDatagrams > 0 || f.delays else {
                throw CLIError.badValue(option: "--fault-to", value: to,
                                        expected: "useful without --fault-drop, --fault-duplicate or --fault-delay-ms (it only restricts them)")
            }
        }
        return f
    }

    /// Builds the peer of slot `i` (user firstUser + i): its data, its learner (resumed from its checkpoint when
    /// checkpoints are on), its config. `seeds`: peers of this process already running (used when neither
    /// --join nor a checkpoint names any).
    /// `origin`: when this process started; a peer started later (a profile's restart or join) logs times on
    /// the process's clock, not from its own start.
    func makePeer(_ i: Int, seeds localSeeds: [PeerAddress], fresh: Bool = false, writer: LineWriter, restores: RestoreTally,
                  origin: Date) throws -> PeerNode {
        let user = firstUser + i
        let shardPath = usersDir + "/" + UserShard.fileName(user: Int32(user))
        var shard = try UserShard.read(path: shardPath)
        if evaluate == .validation {
            if shard.lacksValidation { throw DataError.missingValidation(file: shardPath, user: shard.rawUser) }
            shard = shard.evaluating(on: .validation)
        }
        // A whole table must fit one model frame, or every exchange fails (`encode_length_exceeds_limit`): refuse now.
        // The largest frame is a whole table at f32 (`WireCodec.maxModelFrameBytes`), whatever --row-bits says.
        let limit = WireLimits.default.maxStreamFrameBytes
        let tableBytes = WireCodec.maxModelFrameBytes(rows: shard.itemCount, dimension: config.dimension + 1, sealed: true)
        if tableBytes > limit {
            var most = config.dimension
            while most > 1 && WireCodec.maxModelFrameBytes(rows: shard.itemCount, dimension: most + 1, sealed: true) > limit { most -= 1 }
            throw CLIError.badValue(option: "--dim", value: "\(config.dimension)",
                                    expected: "at most \(most) for \(shard.itemCount) items: a whole table is \(tableBytes) bytes, "
                                    + "above the \(limit)-byte model frame limit")
        }
        if let cg = clientGraph, let problem = cg.validate(catalogueSize: shard.itemCount) {
            throw CLIError.badValue(option: "--cg-*", value: "\(shard.itemCount) items in \(usersDir)", expected: problem)
        }
        if let a = attack, let problem = a.validate(catalogueSize: shard.itemCount) {
            throw CLIError.badValue(option: "--attack-target", value: "\(a.target)", expected: problem)
        }
        var learner = PeerLearner(shard: shard, config: config, tableSeed: SeedScheme.table(seed),
                                  peerSeed: SeedScheme.user(seed, user))
        let port: UInt16 = listen.port == 0 ? 0 : listen.port &+ UInt16(i)
        // Seeds: --join; else, with a topology that gives addresses, this process's first peer's neighbours
        // (so a deployment described by one file needs no seed address); else this process's running peers.
        var seeds = join ?? []
        if seeds.isEmpty, let t = topology, firstUser < t.peerCount {
            seeds = t.neighbourIndices(of: firstUser).compactMap { t.addresses[$0] }
        }
        if seeds.isEmpty { seeds = localSeeds }
        var checkpoint: CheckpointSettings?
        var incarnation: UInt64 = 0
        if let dir = checkpointDir {
            let c = CheckpointSettings(directory: dir + "/peer-\(user)", identity: "gossiprec swarm \(swarmID) user \(user)",
                                       period: .milliseconds(Int(checkpointSeconds * 1000)))
            // A newcomer (a scenario's join) does not resume; it checkpoints into the same directory from now on.
            let restored = fresh ? PeerCheckpointing.Restored.notLoaded : PeerCheckpointing.restore(&learner, settings: c)
            restores.add(restored.source)
            for r in restored.rejected { Console.err("node: peer \(user): checkpoint REJECTED (not loaded): \(r)") }
            var line = JSONLine()
            line.add("event", "restore"); line.add("peer", user)
            line.add("source", "\(restored.source)"); line.add("round", Int(restored.round)); line.add("known_peers", restored.seeds.count)
            line.add("rejected", restored.rejected.count)
            writer.write(line.text)
            // Rejoin through the peers it knew (no seed address needed), plus the others.
            seeds = (join ?? []) + restored.seeds + (join == nil ? seeds : [])
            incarnation = restored.incarnation
            checkpoint = c
        }
        var settings = PeerSettings()
        settings.membership = membership
        settings.gossip = gossip
        settings.gossip.defences = defences
        settings.gossip.privacy = privacy
        settings.reputation = reputation
        if let a = attack, attackUsers?.contains(user) ?? true { settings.attack = a }
        if let cg = clientGraph { settings.partners = .clientGraph(cg) }
        var pc = PeerConfig(id: PeerID(UInt64(user)), listen: listen.withPort(port), seeds: seeds, swarmID: swarmID,
                            peer: settings, seed: SeedScheme.peer(seed, user: user, start: restores.nextStart(of: user)))
        pc.checkpoint = checkpoint
        pc.incarnation = incarnation
        pc.logTimeOffset = logTimeOffset + Date().timeIntervalSince(origin)
        pc.faults = faults
        pc.sourceLimits = sourceLimits
        pc.keyring = keys.keyring
        if let t = topology {
            guard user < t.peerCount else {
                throw CLIError.badValue(option: "--topology", value: "\(t.peerCount) peers", expected: "a topology covering user \(user)")
            }
            // Neighbour j listens where the topology says, else at the swarm's base port + j, where the base
            // is this process's port minus its first user (peer i on port BASE+i, as Scripts/swarm.sh lays out).
            let base = Int(listen.port) - firstUser
            var neighbours: [Neighbour] = []
            for j in t.neighbourIndices(of: user) {
                if let a = t.addresses[j] { neighbours.append(Neighbour(PeerID(UInt64(j)), a)); continue }
                guard listen.port != 0, base + j > 0, base + j <= 65535 else {
                    throw CLIError.badValue(option: "--topology", value: "peer \(j) has no address",
                                            expected: "a topology with '# peer' address lines, or a fixed --listen port")
                }
                neighbours.append(Neighbour(PeerID(UInt64(j)), PeerAddress(ip: listen.ipBytes, port: UInt16(base + j))))
            }
            pc.peer.partners = .fixed(neighbours)
        }
        return try PeerNode(config: pc, learner: learner, merge: mergeRule, target: NodeHost.sharedTarget,
                            sink: { writer.write($0) })
    }

    /// What `kill -USR1` prints: the process's peers in one block (rounds, HR@10, members, exchanges, bytes, drops
    /// by reason, tracked state), so a running node can be asked how it is doing without stopping it.
    static func statusText(_ snaps: [PeerSnapshot], seconds: Double, keyed: Bool) -> String {
        let s = SwarmSummary(snaps)
        var drops: [String: Int] = [:]
        for p in snaps { for (k, v) in p.stats.dropped { drops[k, default: 0] += v } }
        let live = snaps.map(\.livePeers)
        let rounds = snaps.map(\.round)
        var out = "node status after \(String(format: "%.1f", seconds)) s: \(snaps.count) peers, \(keyed ? "keyed" : "INSECURE (unkeyed)")\n"
        out += String(format: "  rounds      mean %.1f, min %d, max %d\n", s.meanRound, rounds.min() ?? 0, rounds.max() ?? 0)
        out += String(format: "  quality     HR@10 %.4f, NDCG@10 %.4f over %d evaluated peers\n", s.hr10, s.ndcg10, s.evaluated)
        out += String(format: "  members     live per peer mean %.1f, min %d, max %d\n", s.livePeersMean, live.min() ?? 0, live.max() ?? 0)
        out += "  exchanges   \(s.exchangesCompleted) completed, \(s.exchangesFailed) failed\n"
        out += String(format: "  traffic     %.2f MB sent per peer\n", s.mbSentPerPeer)
        out += "  dropped     " + (drops.isEmpty ? "nothing" : drops.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        return out
    }

    func run() throws -> Int32 {
        ProcessLimits.raiseOpenFileLimit()
        ProcessLimits.tuneAllocatorForLargeFrames()
        let insecure = keyPath == nil
        let writer = try LineWriter(path: log, insecure: insecure)
        let mark = insecure ? "INSECURE (unkeyed frames) " : ""
        let restores = RestoreTally()
        // A churn profile: the same timeline in every process of the swarm (same profile, size and seed).
        var timeline: [ScenarioEvent] = []
        var online = Array(0..<peers)
        if let scenario = profile {
            let total = swarmPeers ?? (firstUser + peers)
            timeline = scenario.timeline(peers: total, duration: .seconds(max(1, duration > 0 ? duration : 86_400)), seed: scenario.seed ?? seed)
            let absent = Set(scenario.absentPeers(peers: total, seed: scenario.seed ?? seed))
            online = online.filter { !absent.contains(firstUser + $0) }
        }
        let command = self
        let origin = Date()
        let host = try NodeHost(slotCount: peers, online: online, log: writer) { slot, seeds, fresh in
            try command.makePeer(slot, seeds: seeds, fresh: fresh, writer: writer, restores: restores, origin: origin)
        }
        let nodes = host.peers
        if checkpointDir != nil {
            let r = restores.counts
            Console.err("node: checkpoints in \(checkpointDir!): \(r[.current, default: 0]) peers resumed from checkpoint.bin, "
                        + "\(r[.previous, default: 0]) from checkpoint.prev, \(r[.none, default: 0]) fresh")
        }
        var driver: ScenarioDriver?
        if profile != nil {
            // Swarm index u listens at the base port + u (swarm.sh's layout), which partitions need.
            let base: Int = Int(listen.port) - firstUser
            let ip: [UInt8] = listen.ipBytes
            let swarmAddress: @Sendable (Int) -> PeerAddress? = { u in
                let port: Int = base + u
                guard port > 0, port <= 65535 else { return nil }
                return PeerAddress(ip: ip, port: UInt16(port))
            }
            let address = listen.port == 0 ? nil : swarmAddress
            driver = try ScenarioDriver(host: host, timeline: timeline, first: firstUser,
                                        baseLinkDelay: .milliseconds(profileBaseDelayMs),
                                        swarmSize: swarmPeers ?? (firstUser + peers), address: address) { Console.err("node: profile: " + $0) }
            Console.err("node: profile \(profilePath!): \(driver!.eventCount) events for this process's peers; \(online.count) of \(peers) start online")
        }
        if insecure {
            Console.err("node: INSECURE: --insecure: frames are neither encrypted nor authenticated; anyone who can reach these ports can read, forge and replay them")
        } else {
            Console.err("node: frames sealed with the swarm key in \(keyPath!) (primary key id \(keys.keyring!.primary.id), \(keys.keyring!.keys.count) key(s)); SIGHUP re-reads it")
        }
        Console.err("node: \(mark)\(peers) peers on \(listen.withPort(listen.port == 0 ? 0 : listen.port))+, \(nodes.count) online, swarm \(swarmID)"
                    + (join.map { ", joining via " + $0.map(\.description).joined(separator: ",") } ?? ""))
        if faults.dropOutgoingDatagrams > 0 || faults.duplicateOutgoingDatagrams > 0 || faults.delays {
            let to = faults.destinations.isEmpty ? "every destination" : faults.destinations.map(\.description).joined(separator: ",")
            let ms = { (d: Duration) in d.components.seconds * 1000 + d.components.attoseconds / 1_000_000_000_000_000 }
            Console.err("node: TEST fault injection on outgoing traffic to \(to): drop \(faults.dropOutgoingDatagrams), "
                        + "duplicate \(faults.duplicateOutgoingDatagrams), delay \(ms(faults.outgoingDelay))+\(ms(faults.outgoingDelayJitter)) ms")
        }
        host.start()
        driver?.start()
        let stop = DispatchSemaphore(value: 0)
        let control = DispatchQueue(label: "gossiprec.node.control")
        let keyPath = self.keyPath, keys = self.keys
        // SIGHUP is caught (never the default, which kills): it re-reads the key file (rotation); without a key
        // file it is only logged.
        let start = Date()
        // SIGUSR1 prints this process's status to stderr (the default action would kill the node).
        let signals = SignalWatcher(signals: [.interrupt, .terminate, .hangup, .user1], queue: control) { sig in
            if sig == .user1 {
                Console.err(Self.statusText(host.snapshots(), seconds: Date().timeIntervalSince(start), keyed: keyPath != nil))
                return
            }
            guard sig == .hangup else {
                Console.err("node: \(sig), stopping")
                stop.signal()
                return
            }
            guard let keyPath else { Console.err("node: SIGHUP ignored: running --insecure, no key file to re-read"); return }
            do {
                let ring = try SwarmKeyFile.load(keyPath)
                keys.keyring = ring
                let n = host.updateKeyring(ring)
                Console.err("node: SIGHUP: re-read \(keyPath): primary key id \(ring.primary.id), accepted "
                            + (ring.accepted.isEmpty ? "none" : ring.accepted.map(\.id.description).joined(separator: ",")) + "; \(n) peers switched")
            } catch {
                Console.err("node: SIGHUP: keeping the current keys: \(error)")
            }
        }
        if duration > 0 { control.asyncAfter(deadline: .now() + duration) { stop.signal() } }
        // Nobody met: every peer of this process still has no live member after the join window.
        let lonely = LonelyFlag()
        let joinTarget = join.map { $0.map(\.description).joined(separator: ",") }
        let requireJoin = self.requireJoin, joinWindowSeconds = joinWindow
        control.asyncAfter(deadline: .now() + joinWindow) {
            let snaps = host.snapshots()
            guard !snaps.isEmpty, snaps.allSatisfy({ $0.livePeers == 0 }) else { return }
            lonely.set()
            let window = String(format: "%g", joinWindowSeconds)
            var why = "this process's peers did not find each other"
            if let joinTarget {
                why = "nobody answered at --join \(joinTarget) (wrong address or port, or a node of another --swarm-id or key)"
            }
            let then = requireJoin ? "; stopping (--require-join)" : "; still trying"
            Console.err("node: no peer has met any other after \(window) s: " + why + then)
            if requireJoin { stop.signal() }
        }
        // A Dispatch source must be resumed before it is released, so it exists only when used.
        var progress: DispatchSourceTimer? = nil
        if progressSeconds > 0 {
            let timer = DispatchSource.makeTimerSource(queue: control)
            progress = timer
            timer.schedule(deadline: .now() + progressSeconds, repeating: progressSeconds)
            timer.setEventHandler {
                let s = SwarmSummary(host.snapshots())
                Console.err("node: " + mark + String(format: "%6.1f s  round %.1f  HR@10 %.4f  NDCG@10 %.4f  (%d evaluated)  MB sent/peer %.2f  live %.0f  exchanges ok %d failed %d",
                                   Date().timeIntervalSince(start), s.meanRound, s.hr10, s.ndcg10, s.evaluated, s.mbSentPerPeer, s.livePeersMean,
                                   s.exchangesCompleted, s.exchangesFailed))
            }
            timer.resume()
        }
        stop.wait()
        driver?.cancel()
        progress?.cancel()
        signals.cancel()
        host.stop()   // first: stopped peers answer the snapshot at once, however busy they were
        let final = SwarmSummary(host.snapshots())
        writer.close()
        var j = JSONLine()
        j.add("peers", final.peers); j.add("seconds", Date().timeIntervalSince(start), digits: 1)
        j.add("hr10", final.hr10); j.add("ndcg10", final.ndcg10); j.add("evaluated", final.evaluated)
        if evaluate == .validation { j.add("evaluate", evaluate.rawValue) }
        j.add("mean_round", final.meanRound, digits: 1); j.add("mb_per_peer", final.mbSentPerPeer, digits: 2)
        if insecure { j.add("insecure", true) }
        if lonely.isSet { j.add("met_no_peer", true) }
        Console.out(j.text)
        return requireJoin && lonely.isSet ? 1 : 0
    }
}

/// The keyring a node process runs with, replaced when SIGHUP re-reads the key file (thread-safe).
final class KeyringBox: @unchecked Sendable {
    private let lock = NSLock()
    private var ring: Keyring?
    var keyring: Keyring? {
        get { lock.withLock { ring } }
        set { lock.withLock { ring = newValue } }
    }
}

/// Counts where peers' models came from at start (thread-safe: restarts happen on the profile's queue).
final class RestoreTally: @unchecked Sendable {
    private let lock = NSLock()
    private var tally: [CheckpointStore.LoadResult.Source: Int] = [:]
    private var starts: [Int: UInt32] = [:]
    func add(_ s: CheckpointStore.LoadResult.Source) { lock.withLock { tally[s, default: 0] += 1 } }
    var counts: [CheckpointStore.LoadResult.Source: Int] { lock.withLock { tally } }
    /// The start number of user `user`'s next start in this process (1 for its first: `SeedScheme.peer`).
    func nextStart(of user: Int) -> UInt32 { lock.withLock { starts[user, default: 0] += 1; return starts[user]! } }
}

/// Set once by the control queue when no peer met another within the join window; read after the node stopped.
final class LonelyFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
