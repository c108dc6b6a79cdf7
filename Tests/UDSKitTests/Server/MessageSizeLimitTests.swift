import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// Messages over the server's limit get an error reply that names the limit; the server goes on.
    @Suite struct MessageSizeLimitTests {
        private static let echoCount = MessageHandler.buffered { message, _ in
            Acknowledgement.reply(forByteCount: message.count)
        }

        @Test(arguments: [5000, 4 * 1024 * 1024])
        func bufferedServerRefusesAMessageOverItsLimit(size: Int) async throws {
            var configuration = MessageServer.Configuration()
            configuration.maximumMessageSize = 1000
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: Self.echoCount) { _ in
                    let client = try makeClient(path)
                    let error = try await #require(throws: UnixSocketError.self) {
                        try await client.deliver(Message(bytes: payload(size)))
                    }
                    #expect(error.code == .serverError, "\(error)")
                    #expect(error.detail?.contains("1000") == true, "\(error)")
                    #expect(try await client.deliver(Message(bytes: payload(1000))) == 1000)
                    #expect(try await client.deliver("small") == 5)
                }
            }
        }

        @Test func messageOfExactlyTheLimitIsAccepted() async throws {
            var configuration = MessageServer.Configuration()
            configuration.maximumMessageSize = 1000
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: Self.echoCount) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.deliver(Message(bytes: payload(1000))) == 1000)
                    #expect(
                        try await client.send(Message(bytes: payload(1001))).string
                            == "error: message exceeds the limit of 1000 bytes\n")
                }
            }
        }

        @Test(arguments: [MessageHandlerKind.acknowledge, .streaming])
        func streamedMessageOverTheStreamingLimitIsRefused(kind: MessageHandlerKind) async throws {
            var configuration = MessageServer.Configuration()
            configuration.maximumStreamedMessageSize = 2000
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: kind.handler) { _ in
                    let client = try makeClient(path)
                    let error = try await #require(throws: UnixSocketError.self) {
                        try await client.deliver(Message(bytes: payload(3000)))
                    }
                    #expect(error.code == .serverError, "\(error)")
                    #expect(error.detail?.contains("2000") == true, "\(error)")
                    #expect(try await client.deliver("ok") == 2)
                }
            }
        }

        enum MessageHandlerKind: String, CustomStringConvertible, Sendable {
            case acknowledge, streaming
            var handler: MessageHandler {
                switch self {
                case .acknowledge: .acknowledge
                case .streaming: AcknowledgingHandler.streaming.handler
                }
            }
            var description: String { rawValue }
        }
    }
}
