import Testing
@testable import GossipSimulator
