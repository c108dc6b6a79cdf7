import Foundation
import Logging
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

/// The code of the DocC articles (Sources/UDSKit/UDSKit.docc), run for real so that it keeps compiling and working.
@Suite("Documentation examples")
struct DocumentationExamplesTests {
    @Test func gettingStartedServerAndClient() async throws {
        try await withTemporaryDirectory { dir in
            // GettingStarted.md: the server
            let address = try UnixSocketAddress(dir + "/getting-started.sock")
            let server = MessageServer(address: address) { message, context in
                context.logger.info("received \(message.count) bytes from pid \(context.peer?.processID ?? -1)")
                return Acknowledgement.reply(forByteCount: message.count)
            }
            let running = Task { try await server.run() }
            try await waitForServer(at: dir + "/getting-started.sock")

            // GettingStarted.md: the client
            let client = try MessageClient(path: dir + "/getting-started.sock")
            let delivered = try await client.deliver("hello")
            #expect(delivered == 5)

            await server.shutdown()
            try await running.value
            do {
                try await client.deliver("hello")
                Issue.record("the server is gone")
            } catch let error as UnixSocketError where error.code == .staleSocketFile || error.code == .noSocketFile {
                #expect("\(error)".contains("no server is listening on \(dir)/getting-started.sock"))
            }
        }
    }

    struct Ping: Codable, Sendable { var sequence: Int }
    struct Pong: Codable, Sendable { var sequence: Int }

    @Test func framedConnectionsArticle() async throws {
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/app.sock")
            let server = MessageServer(
                address: address,
                framedHandler: .requests { request, _ in
                    Message("pong: \(request.string)")
                })
            try await server.start()
            let client = try await FramedClient.connect(to: address)
            #expect(try await client.request("ping").string == "pong: ping")
            client.close()
            await server.shutdown()

            let typed = MessageServer(
                address: address,
                framedHandler: .requests(decoding: Ping.self) { ping, _ in
                    Pong(sequence: ping.sequence)
                })
            try await typed.start()
            let typedClient = try await FramedClient.connect(to: address)
            let pong = try await typedClient.request(Ping(sequence: 1), as: Pong.self)
            #expect(pong.sequence == 1)
            typedClient.close()
            await typed.shutdown()
        }
    }

    @Test func packetsAndDatagramsArticle() async throws {
        try await withTemporaryDirectory { dir in
            // PacketsAndDatagrams.md: seqpacket
            let address = try UnixSocketAddress(dir + "/packets.sock")
            var configuration = MessageServer.Configuration()
            configuration.socketType = .seqPacket
            let server = MessageServer(
                address: address, configuration: configuration,
                framedHandler: .requests { request, _ in
                    Message("pong: \(request.string)")
                })
            try await server.start()
            let connection = try SeqPacketConnection.connect(to: address)
            let reply = try await connection.request("ping")
            #expect(reply.string == "pong: ping")
            connection.close()
            await server.shutdown()

            // PacketsAndDatagrams.md: DatagramServer
            let datagramServer = DatagramServer(address: try UnixSocketAddress(dir + "/noted.sock")) { datagram in
                Message("noted \(datagram.message.count) bytes")
            }
            let serving = Task { try await datagramServer.run() }
            let sender = try DatagramSocket.autobound()
            try await waitUntil("the datagram server did not bind") {
                FileManager.default.fileExists(atPath: dir + "/noted.sock")
            }
            try await sender.send("started", to: UnixSocketAddress(dir + "/noted.sock"))
            #expect(try await sender.receive().message.string == "noted 7 bytes")
            serving.cancel()
            try await serving.value
            sender.close()

            // PacketsAndDatagrams.md: datagrams
            let events = try DatagramSocket.bind(to: UnixSocketAddress(dir + "/events.sock"))
            let client = try DatagramSocket.autobound()
            try await client.send("started", to: UnixSocketAddress(dir + "/events.sock"))
            let datagram = try await events.receive()
            #expect(datagram.message.string == "started")
            if let sender = datagram.sender { try await events.send("noted", to: sender) }
            #expect(try await client.receive().message.string == "noted")
        }
    }

    @Test func asyncClientsArticle() async throws {
        try await withTemporaryDirectory { dir in
            // AsyncClients.md: running on the client's executor
            let framedAddress = try UnixSocketAddress(dir + "/app.sock")
            let framed = MessageServer(address: framedAddress, framedHandler: .echo)
            try await framed.start()
            let eofAddress = try UnixSocketAddress(dir + "/eof.sock")
            let eof = MessageServer(address: eofAddress, handler: .acknowledge)
            try await eof.start()

            let client = try await FramedClient.connect(to: framedAddress)
            let replies = try await withTaskExecutorPreference(client.executor) {
                var replies = 0
                for _ in 0..<1_000 {
                    if try await client.request("ping") == "ping" { replies += 1 }
                }
                return replies
            }
            #expect(replies == 1_000)

            let messages = MessageClient(address: eofAddress)
            let delivered = try await withTaskExecutorPreference(try messages.executor) {
                try await messages.deliver("hello")
            }
            #expect(delivered == 5)
            client.close()
            await framed.shutdown()
            await eof.shutdown()
        }
    }

    @Test func securityModelConfigurationCompiles() {
        var configuration = MessageServer.Configuration()
        configuration.socketPermissions = [.ownerReadWrite, .groupReadWrite]
        configuration.socketGroupID = 998
        configuration.authorization = AuthorizationPolicy.sameUser.allowing(groupIDs: [998])
        #expect(
            configuration.authorization.admits(
                PeerCredentials(processID: 1, userID: 4242, groupID: 998), serverUserID: 0))
        #expect(
            !configuration.authorization.admits(
                PeerCredentials(processID: 1, userID: 4242, groupID: 7), serverUserID: 0))
    }
}
