import Foundation
import RecommenderModel

/// A subcommand: options parsed purely, then run.
protocol Subcommand {
    static var name: String { get }
    static var summary: String { get }
    static var options: [OptionSpec] { get }
    init(_ o: ParsedOptions) throws
    func run() throws -> Int32
    /// Parses the arguments after the command name; the default (below) takes `--option` pairs only.
    /// A requirement so a command with actions and positionals (`topology validate FILE`) can override it.
    static func parse(_ args: [String]) throws -> Self
}

extension Subcommand {
    static func parse(_ args: [String]) throws -> Self {
        try Self(ParsedOptions.parse(command: name, summary: summary, specs: options, args))
    }
}

/// Entry point for the `gossiprec` executable: returns the process exit status.
public enum GossipRecCLI {
    static var commands: [any Subcommand.Type] { [SplitCommand.self, TrainCommand.self, SimulateCommand.self, NodeCommand.self, KeygenCommand.self, GenerateCommand.self, RecommendCommand.self, ReportCommand.self, TopologyCommand.self, GraphRecallCommand.self, PrivacyAuditCommand.self] }

    public static var usage: String {
        var s = "usage: gossiprec COMMAND [options]\n\nGossipRec: a peer-to-peer, gossip-based, decentralized recommender.\n\ncommands:\n"
        for c in commands { s += "  " + c.name.padding(toLength: 12, withPad: " ", startingAt: 0) + c.summary + "\n" }
        return s + "\nRun 'gossiprec COMMAND --help' for a command's options; 'gossiprec --version' for the version.\n"
            + "Exit status: 0 done, 1 a runtime failure (unreadable data, refused input, a failed run), 2 a usage error (an unknown, missing or refused option)."
    }

    /// The release and the wire version it speaks (`gossiprec --version`).
    public static let version = "gossiprec 0.2.0 (wire version 3, checkpoint format 2)"

    public static func main(_ arguments: [String]) -> Int32 {
        if arguments.first == "--version" || arguments.first == "version" {
            Console.out(version)
            return 0
        }
        guard let first = arguments.first, first != "--help", first != "-h", first != "help" else {
            Console.out(usage)
            return arguments.isEmpty ? 2 : 0
        }
        do {
            guard let cmd = commands.first(where: { $0.name == first }) else { throw CLIError.unknownCommand(first) }
            return try cmd.parse(Array(arguments.dropFirst())).run()
        } catch CLIError.helpRequested(let text) {
            Console.out(text)
            return 0
        } catch {
            Console.err("gossiprec \(first): error: \(error)")
            return error is CLIError ? 2 : 1
        }
    }
}
