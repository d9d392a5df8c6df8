import GossipRecCLI
import Foundation

exit(GossipRecCLI.main(Array(CommandLine.arguments.dropFirst())))
