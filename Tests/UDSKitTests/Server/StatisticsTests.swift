import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("Server statistics: connections, messages, bytes, handler errors")
struct StatisticsTests {
    @Test func countersFollowTheTraffic() async throws {
        try await withTemporaryDirectory { dir in
            let handler = MessageHandler.buffered { message, _ in
                if message.string == "fail" { throw MessageRejection("no") }
                return "ok\n"
            }
            try await withRunningServer(at: dir + "/s.sock", handler: handler) { server in
                let client = try MessageClient(path: dir + "/s.sock")
                _ = try await client.send("hello")
                _ = try await client.send("fail")
                _ = try await client.send(Message(bytes: [UInt8](repeating: 1, count: 1000)))
                let statistics = server.statistics
                #expect(statistics.totalConnections >= 3)  // waitForServer's probe may count too
                #expect(statistics.messages >= 3)
                #expect(statistics.bytesIn >= 5 + 4 + 1000)
                #expect(statistics.bytesOut == 3 + "error: no\n".utf8.count + 3)
                #expect(statistics.handlerErrors == 1)
                #expect(statistics.refusedConnections == 0)
                #expect(server.statistics.openConnections == 0)
            }
        }
    }
}

@Suite("Peer credentials in the handler's context")
struct PeerContextTests {
    @Test func contextHasThePeersIDsAndAPidfd() async throws {
        try await withTemporaryDirectory { dir in
            let handler = MessageHandler.buffered { _, context in
                let peer = try #require(context.peer)
                // The client is this very process.
                #expect(peer.processID == getpid())
                #expect(peer.userID == geteuid())
                #expect(peer.groupID == getegid())
                let pidfd = try #require(context.peerProcess, "Linux 6.5+ offers SO_PEERPIDFD")
                let link = try FileManager.default.destinationOfSymbolicLink(
                    atPath: "/proc/self/fd/\(pidfd.descriptor.rawValue)")
                #expect(link == "anon_inode:[pidfd]")
                return "ok"
            }
            try await withRunningServer(at: dir + "/c.sock", handler: handler) { _ in
                let reply = try await MessageClient(path: dir + "/c.sock").send("who am I")
                #expect(reply.string == "ok")
            }
        }
    }
}
