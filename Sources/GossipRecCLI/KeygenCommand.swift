import NodeRuntime
import SwarmCrypto

/// `gossiprec keygen --out FILE`: a new random swarm key (getrandom(2) through `SystemRandomNumberGenerator`),
/// written as a key file with mode 0600; an existing FILE is never overwritten.
struct KeygenCommand: Subcommand {
    static let name = "keygen"
    static let summary = "Write a new random swarm key to a file (mode 0600) for --swarm-key"
    static let options = [
        OptionSpec("out", "FILE", "the key file to create (refused if it exists)"),
    ]

    var out: String

    init(_ o: ParsedOptions) throws {
        out = try o.string("out")
    }

    func run() throws -> Int32 {
        var generator = SystemRandomNumberGenerator()
        let ring = try Keyring(primary: SwarmKey.generate(using: &generator))
        do { try SwarmKeyFile.create(out, keyring: ring) } catch {
            throw CLIError.refused(option: "--out", reason: "\(error)")
        }
        Console.err("keygen: wrote \(out) (mode 0600), key id \(ring.primary.id); copy it to every peer of the swarm, privately")
        return 0
    }
}
