import Foundation
import GossipProtocol
import PeerCore
import RecommenderModel
import SwarmSpec

/// The peer options `node` and `simulate` share, parsed in one place: the merge rule and the partner mode.
enum PeerOptions {
    static let mergeSpecs = [
        OptionSpec("merge-rule", "R", "pushsum (per-row push-sum votes), weighted (per-row weighted average), none or frozen (diagnostics)", default: "pushsum"),
        OptionSpec("decay", "G", "pushsum: weight decay per local round, in (0, 1]", default: "0.9"),
        OptionSpec("stale-decay", "S", "pushsum: discount per model-clock version of the staler copy in a merge, in (0, 1]", default: "0.98"),
        OptionSpec("positive-vote", "C", "pushsum: vote weight of a positive row", default: "1"),
        OptionSpec("negative-vote", "C", "pushsum: vote weight of a row sampled only as a negative, or local", default: "1"),
        OptionSpec("merge", "M", "weighted: weight of a merged row: max, mean or sum", default: "max"),
        OptionSpec("half-life", "R", "weighted: staleness half-life in rounds (inf: none)", default: "inf"),
    ]

    static let modeSpecs = [
        OptionSpec("mode", "M", "random (partners from peer sampling), static (only along --topology's edges) or client-graph (mostly the most similar peers, DFedRec-style); default: static with --topology, else random"),
        OptionSpec("topology", "FILE", "static mode: gossip only along this topology's edges (peer i = user i)"),
        OptionSpec("cg-neighbours", "K", "client-graph: neighbours kept (top-k by similarity)", default: "10"),
        OptionSpec("cg-exploration", "E", "client-graph: share of rounds that pick a random known peer instead", default: "0.1"),
        OptionSpec("cg-decoys", "R", "client-graph privacy knob: decoy items disclosed per real item (0: none; 1: half of what is sent is fake)", default: "1"),
        OptionSpec("cg-drop", "Q", "client-graph privacy knob: probability of leaving each real item out of the disclosure", default: "0"),
        OptionSpec("cg-min-trust", "W", "client-graph: weight given to models of unknown or dissimilar peers (the most similar neighbour gets 1)", default: "0.1"),
        OptionSpec("cg-refresh-s", "S", "client-graph: seconds between refreshes (re-disclosure to peers not yet scored)", default: "30"),
    ]

    static let defenceSpecs = [
        OptionSpec("defences", "SPEC", "defences against lying partners: on, off, or the ones to keep on, comma-separated from \((MergeDefences.names + ["reputation"]).joined(separator: ","))", default: "on"),
        OptionSpec("clip-factor", "K", "defences: clipping radius in median distances of a row", default: "\(MergeDefences().clipFactor)"),
        OptionSpec("clip-weight-power", "Q", "defences: a clipped row's weight is scaled by (radius / distance)^Q", default: "\(MergeDefences().clipWeightPower)"),
        OptionSpec("copy-factor", "F", "defences: a copy whose median row sits beyond F radii (and --copy-relative row norms) is not merged", default: "\(MergeDefences().copyFactor)"),
        OptionSpec("copy-relative", "F", "defences: ... and beyond F times the receiver's row norm", default: "\(MergeDefences().copyRelative)"),
        OptionSpec("clip-prior", "F", "defences: a row's radius before any copy, as a share of its norm", default: "\(MergeDefences().clipPrior)"),
        OptionSpec("tail-votes", "V", "defences: a claimed row weight may exceed the receiver's by at most V votes", default: "\(MergeDefences().tailVotes)"),
        OptionSpec("tail-prior", "W", "defences: the receiver's row weight counts at least W in a merge", default: "\(MergeDefences().tailPrior)"),
        OptionSpec("step-cap", "M", "defences: one copy may move a row by at most M median distances per merge", default: "\(MergeDefences().stepCap)"),
        OptionSpec("step-copy-cap", "M", "defences: a copy most of whose rows would move by more than M median distances is not merged", default: "\(MergeDefences().stepCopyCap)"),
        OptionSpec("max-clock-lead", "L", "defences: versions a copy's clock may lead the receiver's", default: "\(MergeDefences().maxClockLead)"),
    ]

    /// What an exchange carries on the wire (issue 20), shared by `node` and `simulate`.
    static let exchangeSpecs = [
        OptionSpec("row-bits", "B", "bits per value of the rows a peer sends: 32 (as computed), 16 (half floats) or 8 (integers with one scale per row); 16 and 8 keep each row's rounding error for its next send", default: "\(GossipSettings().rowPrecision.bits)"),
    ]

    /// `--row-bits`.
    static func parseRowBits(_ o: ParsedOptions) throws -> RowPrecision {
        let bits = try o.string("row-bits")
        guard let b = Int(bits), let p = RowPrecision(bits: b) else {
            throw CLIError.badValue(option: "--row-bits", value: bits, expected: "32, 16 or 8")
        }
        return p
    }

    /// The sending-side privacy knobs (`PrivacySettings`, issue 18), shared by `node`, `simulate` and `privacy-audit`.
    static let privacySpecs = [
        OptionSpec("spread-votes", "P", "privacy: share of the rows a round did not train that cast the same vote (1: every row's weight gets the same update)", default: "\(PrivacySettings.off.spreadVotes)"),
        OptionSpec("pseudo-items", "R", "privacy: persistent decoy rows per real training item, voted every round (FedGNN-style)", default: "\(PrivacySettings.off.pseudoItems)"),
        OptionSpec("decoy-move", "X", "privacy: a decoy row's random move, in RMS moves of the trained rows", default: "\(PrivacySettings.off.decoyMove)"),
        OptionSpec("ldp-clip", "C", "privacy: clip each voted row's change per round to this L2 norm (0: off)", default: "\(PrivacySettings.off.clipNorm)"),
        OptionSpec("ldp-noise", "S", "privacy: Gaussian noise per coordinate, in units of --ldp-clip", default: "\(PrivacySettings.off.noiseMultiplier)"),
        OptionSpec("share-fraction", "F", "privacy: share of the rows one exchange carries (the responder answers the same rows)", default: "\(PrivacySettings.off.shareFraction)"),
    ]

    /// `--spread-votes`, `--pseudo-items`, `--decoy-move`, `--ldp-clip`, `--ldp-noise`, `--share-fraction`.
    static func parsePrivacy(_ o: ParsedOptions) throws -> PrivacySettings {
        var p = PrivacySettings.off
        p.spreadVotes = try o.double("spread-votes", in: 0...1)
        p.pseudoItems = try o.double("pseudo-items", in: 0...100)
        p.decoyMove = Float(try o.double("decoy-move", in: 0...100))
        p.clipNorm = Float(try o.double("ldp-clip", in: 0...1e6))
        p.noiseMultiplier = Float(try o.double("ldp-noise", in: 0...1e6))
        p.shareFraction = try o.double("share-fraction", in: 0.001...1)
        if let problem = p.validate() { throw CLIError.badValue(option: "--ldp-noise", value: "\(p.noiseMultiplier)", expected: problem) }
        return p
    }

    /// The privacy knobs for reports: off, or the ones on.
    static func privacyName(_ p: PrivacySettings) -> String {
        var on: [String] = []
        if p.spreadVotes > 0 { on.append("spread=\(p.spreadVotes)") }
        if p.pseudoItems > 0 { on.append("pseudo=\(p.pseudoItems)") }
        if (p.spreadVotes > 0 || p.pseudoItems > 0) && p.decoyMove != 1 { on.append("move=\(p.decoyMove)") }
        if p.clipNorm > 0 { on.append("clip=\(p.clipNorm)") }
        if p.noiseMultiplier > 0 { on.append("noise=\(p.noiseMultiplier)") }
        if p.shareFraction < 1 { on.append("share=\(p.shareFraction)") }
        return on.isEmpty ? "off" : on.joined(separator: ",")
    }

    /// `--defences`: the merge defences (`MergeDefences`) and the per-partner reputation.
    static func parseDefences(_ o: ParsedOptions) throws -> (MergeDefences, ReputationSettings) {
        let spec = try o.string("defences")
        var tuned = MergeDefences.on
        tuned.clipFactor = Float(try o.double("clip-factor", in: 1.01...1e6))
        tuned.clipWeightPower = Float(try o.double("clip-weight-power", in: 0...16))
        tuned.copyFactor = Float(try o.double("copy-factor", in: 1...1e6))
        tuned.clipPrior = Float(try o.double("clip-prior", in: 0.0001...1e6))
        tuned.copyRelative = Float(try o.double("copy-relative", in: 0...1e6))
        tuned.tailVotes = Float(try o.double("tail-votes", in: 1...1e6))
        tuned.tailPrior = Float(try o.double("tail-prior", in: 0...1e6))
        tuned.stepCap = Float(try o.double("step-cap", in: 0.001...1e6))
        tuned.stepCopyCap = Float(try o.double("step-copy-cap", in: 0.001...1e6))
        tuned.maxClockLead = UInt64(try o.int("max-clock-lead", in: 1...1_000_000))
        switch spec {
        case "on": return (tuned, .init())
        case "off": return (.off, .off)
        default:
            var d = tuned, r = ReputationSettings.off
            for name in MergeDefences.names { _ = d.set(name, false) }
            for name in spec.split(separator: ",").map(String.init) {
                if name == "reputation" { r.enabled = true; continue }
                guard d.set(name, true) else {
                    throw CLIError.badValue(option: "--defences", value: spec,
                                            expected: "on, off or a comma-separated list of \((MergeDefences.names + ["reputation"]).joined(separator: ", "))")
                }
            }
            return (d, r)
        }
    }

    /// The spelling of defences for reports: on, off, or the list of those on.
    static func defencesName(_ d: MergeDefences, _ r: ReputationSettings) -> String {
        let on = d.enabled + (r.enabled ? ["reputation"] : [])
        return on.count == MergeDefences.names.count + 1 ? "on" : on.isEmpty ? "off" : on.joined(separator: ",")
    }

    static func parseMerge(_ o: ParsedOptions) throws -> any MergeRule {
        switch try o.string("merge-rule") {
        case "weighted":
            let combine = try o.string("merge")
            guard let c = WeightedAverageMerge.Combine(rawValue: combine) else {
                throw CLIError.badValue(option: "--merge", value: combine, expected: "one of max, mean, sum")
            }
            let hl = try o.string("half-life")
            guard let h = hl == "inf" ? Double.infinity : Double(hl), h > 0 else {
                throw CLIError.badValue(option: "--half-life", value: hl, expected: "a positive number or inf")
            }
            return WeightedAverageMerge(halfLife: h, combine: c)
        case "pushsum":
            let g = try o.double("decay", in: 1e-6...1)
            let pos = try o.double("positive-vote", in: 1e-6...1e6)
            let nv = try o.string("negative-vote")
            let neg: PushSumVoteMerge.NegativeMode
            if nv == "local" { neg = .local } else if let x = Float(nv), x >= 0, x.isFinite { neg = .vote(x) } else {
                throw CLIError.badValue(option: "--negative-vote", value: nv, expected: "a number >= 0 or local")
            }
            let stale = try o.double("stale-decay", in: 1e-6...1)
            return PushSumVoteMerge(decay: Float(g), positiveVote: Float(pos), negatives: neg, stalenessDecay: Float(stale))
        case "none": return NoMerge()
        case "frozen": return FrozenItemsMerge()
        case let other:
            throw CLIError.badValue(option: "--merge-rule", value: other, expected: "one of pushsum, weighted, none, frozen")
        }
    }

    /// The partner mode as parsed: static mode carries its topology (each command maps it to addresses).
    enum Mode {
        case random
        case fixed(Topology)
        case clientGraph(ClientGraphSettings)
    }

    /// `--mode` with `--topology` and the `--cg-*` options; `command` names the caller in warnings.
    static func parseMode(_ o: ParsedOptions, command: String) throws -> Mode {
        var topology: Topology?
        if let path = o.optionalString("topology") {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw DataError.unreadable(file: path, reason: "no such file or not readable")
            }
            do {
                let parsed = try Topology.parse(text: String(decoding: data, as: UTF8.self), file: path)
                for w in parsed.warnings { Console.err("\(command): warning: \(w)") }
                topology = parsed.topology
            } catch {
                throw DataError.unreadable(file: path, reason: "invalid topology: \(error)")
            }
        }
        let mode = o.optionalString("mode") ?? (topology == nil ? "random" : "static")
        switch mode {
        case "random":
            if topology != nil { throw CLIError.badValue(option: "--mode", value: mode, expected: "static when --topology is given") }
            return .random
        case "static":
            guard let topology else {
                throw CLIError.badValue(option: "--mode", value: mode, expected: "random or client-graph without --topology (static needs --topology FILE)")
            }
            return .fixed(topology)
        case "client-graph":
            if topology != nil { throw CLIError.badValue(option: "--mode", value: mode, expected: "static when --topology is given") }
            var cg = ClientGraphSettings()
            cg.neighbours = try o.int("cg-neighbours", in: 1...1000)
            cg.exploration = try o.double("cg-exploration", in: 0...1)
            cg.disclosure.decoyRatio = try o.double("cg-decoys", in: 0...100)
            cg.disclosure.dropProbability = try o.double("cg-drop", in: 0...0.99)
            cg.minTrust = Float(try o.double("cg-min-trust", in: 0.001...1))
            cg.refreshPeriod = .milliseconds(Int(try o.double("cg-refresh-s", in: 0.1...86_400) * 1000))
            if let problem = cg.validate(catalogueSize: nil) { throw CLIError.badValue(option: "--cg-*", value: mode, expected: problem) }
            return .clientGraph(cg)
        default:
            throw CLIError.badValue(option: "--mode", value: mode, expected: "random, static or client-graph")
        }
    }
}
