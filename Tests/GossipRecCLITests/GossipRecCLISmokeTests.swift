import Testing
@testable import GossipRecCLI
