import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// The built-in handlers: acknowledge, echo, discard.
    @Suite struct BuiltInHandlerTests {
        @Test func acknowledgeRepliesWithTheByteCount() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("hello").string == "5\n")
                    #expect(try await client.send("").string == "0\n")
                    #expect(try await client.deliver(Message(bytes: payload(3 * 1024 * 1024))) == 3 * 1024 * 1024)
                }
            }
        }

        @Test func echoReturnsTheMessageByteForByte() async throws {
            var generator = SystemRandomNumberGenerator()
            let message = (0..<(1024 * 1024)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            var configuration = MessageServer.Configuration()
            configuration.shutdownGracePeriod = .seconds(1)
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: .echo) { server in
                    // Should the exchange stall, shutting the server down closes its connection and ends it.
                    let reply = try await withWatchdog(seconds: 60, onTimeout: { await server.shutdown() }) {
                        try await makeClient(path).send(Message(bytes: message))
                    }
                    #expect(reply.count == message.count)
                    #expect(reply.bytes == message)
                }
            }
        }

        @Test func echoStreamsBackWhileTheClientIsStillWriting() async throws {
            let message = payload(8 * 1024 * 1024, seed: 3)
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .echo) { _ in
                    let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                    defer { connection.close() }
                    try connection.setReadTimeout(.seconds(120))
                    try connection.setWriteTimeout(.seconds(120))
                    // Read on one thread while writing on another, as an echo client must.
                    let results = await runOnThreads(2) { index -> Result<[UInt8], any Error> in
                        Result {
                            if index == 0 {
                                try connection.write(message)
                                try connection.closeWrite()
                                return []
                            }
                            return try connection.readToEnd(maximumSize: message.count)
                        }
                    }
                    _ = try results[0].get()
                    let echoed = try results[1].get()
                    #expect(echoed.count == message.count)
                    #expect(echoed == message)
                }
            }
        }

        @Test func echoOfAnEmptyMessageIsEmpty() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .echo) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("").count == 0)
                    #expect(try await client.send("x").string == "x")
                }
            }
        }

        @Test func discardClosesWithoutAReply() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .discard) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("nobody answers").count == 0)
                    #expect(try await client.send(Message(bytes: payload(2 * 1024 * 1024))).count == 0)
                    // No reply is no acknowledgement.
                    let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("hello") }
                    #expect(error.code == .notAcknowledged)
                    try await client.post("fire and forget")
                }
            }
        }

        @Test func bufferedHandlerReturningEmptyClosesWithoutAReply() async throws {
            let seen = Shared<[String]>([])
            let handler = MessageHandler.buffered { message, _ in
                seen.update { $0.append(message.string) }
                return .empty
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let reply = try await makeClient(path).send("quiet")
                    #expect(reply.count == 0)
                    #expect(seen.value == ["quiet"])
                }
            }
        }
    }
}
