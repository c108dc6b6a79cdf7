import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("Seqpacket: a message per packet, no framing")
struct SeqPacketServerTests {
    private func connect(_ path: String) throws -> SeqPacketConnection {
        let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
        try connection.setReadTimeout(.seconds(60))
        try connection.setWriteTimeout(.seconds(60))
        return connection
    }

    private func payload(_ size: Int) -> Message {
        Message(bytes: (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ size) })
    }

    @Test(arguments: ["echo", "requests"])
    func eachPacketComesBackWholeAndInOrder(_ kind: String) async throws {
        let handler: FramedHandler = kind == "echo" ? .echo : .requests { message, _ in message }
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/p.sock", configuration: .seqPacket, framedHandler: handler) { _ in
                let connection = try connect(dir + "/p.sock")
                for size in [1, 2, 100, 4096, 70_000, 150_000] {
                    #expect(try await connection.request(payload(size)) == payload(size))
                }
                // Boundaries are the kernel's: three sends, three receives, none merged.
                for size in [3, 1, 2] { try await connection.send(payload(size)) }
                for size in [3, 1, 2] { #expect(try await connection.receive() == payload(size)) }
            }
        }
    }

    @Test func aThousandMessagesSentWhileAnotherTaskReads() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/p.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let connection = try connect(dir + "/p.sock")
                async let sent: Void = {
                    for index in 0..<1000 { try await connection.send(Message("packet \(index)")) }
                }()
                for index in 0..<1000 {
                    let reply: Message? = try await connection.receive()
                    #expect(reply?.string == "packet \(index)")
                }
                try await sent
            }
        }
    }

    @Test func acknowledgeAnswersEachPacketWithItsByteCount() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/a.sock", configuration: .seqPacket, framedHandler: .acknowledge) {
                server in
                let connection = try connect(dir + "/a.sock")
                for size in [1, 5, 1000] {
                    #expect(try await connection.request(payload(size)).string == "\(size)\n")
                }
                try connection.closeWrite()
                #expect(try await connection.receive() == nil, "the server closes after the client's end")
                #expect(server.statistics.messages == 3)
            }
        }
    }

    @Test func aConnectionHandlerPushesAndSeesThePeer() async throws {
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.connection { connection in
                let peer = connection.context.peer
                try await connection.send(Message("hello uid \(peer?.userID ?? 0) pid \(peer?.processID ?? 0)"))
                for try await message in connection.inbound {
                    try await connection.send(Message("got " + message.string))
                }
            }
            try await withRunningServer(at: dir + "/c.sock", configuration: .seqPacket, framedHandler: handler) { _ in
                let connection = try connect(dir + "/c.sock")
                #expect(try await connection.receive()?.string == "hello uid \(geteuid()) pid \(getpid())")
                #expect(try await connection.request("x").string == "got x")
                let server = try connection.peerCredentials()
                #expect(server.processID == getpid())
            }
        }
    }

    @Test func anOversizePacketClosesOnlyItsConnection() async throws {
        var configuration = MessageServer.Configuration.seqPacket
        configuration.maximumFrameSize = 1000
        try await withTemporaryDirectory { dir in
            let path = dir + "/o.sock"
            try await withRunningServer(at: path, configuration: configuration, framedHandler: .echo) { _ in
                let honest = try connect(path)
                #expect(try await honest.request("before").string == "before")
                let bad = try connect(path)
                try await bad.send(payload(1001))
                #expect(try await bad.receive() == nil, "the server closed the connection that sent too much")
                #expect(try await honest.request("after").string == "after")
                let exact = try connect(path)
                #expect(try await exact.request(payload(1000)) == payload(1000))
            }
        }
    }

    @Test func aMessageTooLargeForTheKernelIsAClearError() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/k.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let connection = try connect(dir + "/k.sock")
                let error = #expect(throws: UnixSocketError.self) { try connection.send(payload(8 << 20)) }
                #expect(error?.code == .messageTooLarge)
                #expect("\(error!)".contains("SO_SNDBUF"), "\(error!)")
                #expect(throws: UnixSocketError.self) { try connection.send(Message.empty) }
                #expect(try await connection.request("still open").string == "still open")
            }
        }
    }

    @Test func aReceiveLimitSmallerThanThePacketThrowsAndTheNextOneIsFine() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/r.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let connection = try connect(dir + "/r.sock")
                try await connection.send(payload(500))
                try await connection.send(payload(10))
                let error = #expect(throws: UnixSocketError.self) { _ = try connection.receive(maximumSize: 100) }
                #expect(error?.code == .messageTooLarge)
                #expect("\(error!)".contains("500 bytes"), "\(error!)")
                #expect(try await connection.receive(maximumSize: 100) == payload(10))
                try await connection.send(payload(100))
                #expect(try await connection.receive(maximumSize: 100) == payload(100), "exactly the limit is fine")
            }
        }
    }

    @Test func anEmptyReplyReadsAsTheEndAsDocumented() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(
                at: dir + "/e.sock", configuration: .seqPacket, framedHandler: .requests { _, _ in .empty }
            ) { _ in
                let connection = try connect(dir + "/e.sock")
                try await connection.send("anything")
                let reply: Message? = try await connection.receive()
                #expect(reply == nil, "an empty packet and the end of the connection both read as 0 bytes")
            }
        }
    }

    @Test func aLargeReceiveLimitTakesEachMessageAtItsOwnSize() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/big.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let connection = try connect(dir + "/big.sock")
                for size in [1, 150_000, 10] {  // past 256 KiB of limit the length is peeked first
                    try await connection.send(payload(size))
                    let reply = try await connection.receive(maximumSize: 64 << 20)
                    #expect(reply == payload(size))
                    #expect(reply.map { $0.buffer.capacity < 2 * size + 1024 } == true, "no 64 MiB buffer per message")
                }
            }
        }
    }

    @Test func theWrongKindOfClientGetsAnErrorThatSaysSo() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/s.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let error = #expect(throws: UnixSocketError.self) {
                    _ = try UnixSocketConnection.connect(to: UnixSocketAddress(dir + "/s.sock"))
                }
                #expect(error?.code == .wrongSocketType)
                #expect("\(error!)".contains("not a stream socket"), "\(error!)")
            }
            try await withRunningServer(at: dir + "/t.sock", framedHandler: .echo) { _ in
                let error = #expect(throws: UnixSocketError.self) {
                    _ = try SeqPacketConnection.connect(to: UnixSocketAddress(dir + "/t.sock"))
                }
                #expect(error?.code == .wrongSocketType)
                #expect("\(error!)".contains("not a seqpacket socket"), "\(error!)")
            }
        }
    }

    @Test func aStaleSeqPacketFileIsReplacedAndALiveServerIsNot() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/live.sock"
            try await withRunningServer(at: path, configuration: .seqPacket, framedHandler: .echo) { _ in
                let second = MessageServer(
                    address: try UnixSocketAddress(path), configuration: .seqPacket, framedHandler: .echo)
                let error = await #expect(throws: UnixSocketError.self) { try await second.start() }
                #expect(error?.code == .serverAlreadyListening)
                #expect(try await connect(path).request("first still serves").string == "first still serves")
            }
            // A socket file left by a seqpacket server that died: bind it and close without removing.
            let stale = dir + "/stale.sock"
            let python = try requireExecutable("python3")
            let made = try await ChildProcess.run(
                python,
                [
                    "-c",
                    "import socket,sys; s=socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.bind(sys.argv[1])",
                    stale,
                ])
            #expect(made.status == 0, "\(made.stderr)")
            try await withRunningServer(at: stale, configuration: .seqPacket, framedHandler: .echo) { _ in
                let reply = try await connect(stale).request("replaced")
                #expect(reply.string == "replaced")
            }
        }
    }

    @Test func theConfigurationsSocketTypeChoosesSeqPacketForAFramedHandler() async throws {
        try await withTemporaryDirectory { dir in
            var configuration = MessageServer.Configuration()
            configuration.socketType = .seqPacket
            let address = try UnixSocketAddress(dir + "/chosen.sock")
            let server = MessageServer(address: address, configuration: configuration, framedHandler: .acknowledge)
            try await server.start()
            #expect(server.configuration.socketType == .seqPacket)
            // no length prefix: the packet "hello" is the message, and its acknowledgement one packet
            #expect(try await connect(dir + "/chosen.sock").request("hello").string == "5\n")
            await server.shutdown()
        }
    }

    @Test(arguments: [UnixSocketType.seqPacket, .datagram])
    func aSocketTypeTheHandlerCannotServeIsRefusedAtStart(_ type: UnixSocketType) async throws {
        try await withTemporaryDirectory { dir in
            var configuration = MessageServer.Configuration()
            configuration.socketType = type
            let path = dir + "/refused.sock"
            let oneMessage = MessageServer(
                address: try UnixSocketAddress(path), configuration: configuration, handler: .acknowledge)
            let error = await #expect(throws: UnixSocketError.self) { try await oneMessage.start() }
            #expect(error?.code == .unsupported)
            #expect(
                "\(error!)".contains(
                    type == .datagram ? "use DatagramServer" : "a seqpacket server takes a FramedHandler"),
                "\(error!)")
            #expect(!FileManager.default.fileExists(atPath: path), "nothing was bound")
            if type == .datagram {
                let framed = MessageServer(
                    address: try UnixSocketAddress(path), configuration: configuration, framedHandler: .echo)
                await #expect(throws: UnixSocketError.self) { try await framed.start() }
            }
        }
    }
}
