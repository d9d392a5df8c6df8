import Testing
@testable import SocketTransport
