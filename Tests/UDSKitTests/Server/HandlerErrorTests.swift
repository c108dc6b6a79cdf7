import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// A handler that fails costs its own connection an error reply, nothing more.
    @Suite struct HandlerErrorTests {
        private struct Boom: Error {}

        /// Fails on "boom", refuses "reject …" with the rest as the reason, acknowledges anything else.
        private static let picky = MessageHandler.buffered { message, _ in
            let text = message.string
            if text == "boom" { throw Boom() }
            if text.hasPrefix("reject ") { throw MessageRejection(String(text.dropFirst(7))) }
            return Acknowledgement.reply(forByteCount: message.count)
        }

        @Test func throwingBufferedHandlerGetsTheClientAGenericErrorReply() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: Self.picky) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("boom").string == "error: the handler failed\n")
                    let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("boom") }
                    #expect(error.code == .serverError)
                    #expect(error.detail == "the handler failed")
                    // The server goes on.
                    #expect(try await client.deliver("next") == 4)
                }
            }
        }

        @Test func messageRejectionSendsItsReason() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: Self.picky) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("reject x").string == "error: x\n")
                    let error = try await #require(throws: UnixSocketError.self) {
                        try await client.deliver("reject not today")
                    }
                    #expect(error.code == .serverError)
                    #expect(error.detail == "not today")
                    #expect(try await client.deliver("fine") == 4)
                }
            }
        }

        @Test func throwingStreamingHandlerGetsTheClientAnErrorReply() async throws {
            let handler = MessageHandler.streaming { body, _ in
                var count = 0
                for try await chunk in body { count += chunk.readableBytes }
                if count == 4 { throw Boom() }
                if count == 6 { throw MessageRejection("six") }
                return Acknowledgement.reply(forByteCount: count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.send("four").string == "error: the handler failed\n")
                    #expect(try await client.send("sixsix").string == "error: six\n")
                    #expect(try await client.deliver("twelve bytes") == 12)
                }
            }
        }

        @Test func failuresOnSomeConnectionsLeaveConcurrentOnesAlone() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: Self.picky) { _ in
                    let client = try makeClient(path)
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<200 {
                            group.addTask {
                                switch index % 3 {
                                case 0:
                                    let reply = try await client.send("boom")
                                    #expect(reply.string == "error: the handler failed\n")
                                case 1:
                                    let reply = try await client.send(Message("reject \(index)"))
                                    #expect(reply.string == "error: \(index)\n")
                                default:
                                    let delivered = try await client.deliver(Message(bytes: payload(index * 10)))
                                    #expect(delivered == index * 10)
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                }
            }
        }
    }
}
