/// Entry point for the `gossiprec` executable: returns the process exit status.
public enum GossipRecCLI {
    public static func main(_ arguments: [String]) -> Int32 {
        print("gossiprec: subcommands coming")
        return 0
    }
}
