import Testing
@testable import GossipProtocol
