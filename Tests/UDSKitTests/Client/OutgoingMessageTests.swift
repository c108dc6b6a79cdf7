import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// Files and chunk sequences are streamed to the server and acknowledged whole.
    @Suite struct OutgoingMessageTests {
        @Test func fileOf10MiBIsAcknowledgedWithItsSize() async throws {
            let size = 10 * 1024 * 1024
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let file = directory + "/payload"
                try writeFile(file, payload(size, seed: 5))
                let received = Shared<[UInt8]>([])
                let handler = MessageHandler.buffered { message, _ in
                    received.update { $0 = message.bytes }
                    return Acknowledgement.reply(forByteCount: message.count)
                }
                try await withRunningServer(at: path, handler: handler) { _ in
                    let delivered = try await makeClient(path).deliver(.file(FilePath(file)))
                    #expect(delivered == size)
                }
                #expect(received.value == payload(size, seed: 5))
            }
        }

        @Test func emptyFileIsAcknowledgedAsZeroBytes() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let file = directory + "/empty"
                try writeFile(file, [])
                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let delivered = try await makeClient(path).deliver(.file(FilePath(file)))
                    #expect(delivered == 0)
                }
            }
        }

        @Test func missingFileFailsBeforeAnythingIsAcknowledged() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let client = try makeClient(path)
                    await #expect(throws: (any Error).self) {
                        try await client.deliver(.file(FilePath(directory + "/missing")))
                    }
                    #expect(try await client.deliver("afterwards") == 10)
                }
            }
        }

        /// A chunk produced after the server has refused the message and closed (here past its 1,000-byte limit)
        /// ends the delivery with the server's error reply; it once waited forever for room that never came.
        @Test func aChunkAfterTheServerRefusedAndClosedEndsWithItsErrorReply() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                var configuration = MessageServer.Configuration()
                configuration.maximumStreamedMessageSize = 1000
                try await withRunningServer(at: path, configuration: configuration, handler: .acknowledge) { server in
                    let client = try makeClient(path)
                    let (chunks, producer) = AsyncStream<[UInt8]>.makeStream()
                    let outcome = Shared<String?>(nil)
                    let delivery = Task {
                        do {
                            let delivered = try await client.deliver(.chunks(chunks))
                            outcome.update { $0 = "delivered \(delivered)" }
                        } catch let error as UnixSocketError {
                            outcome.update { $0 = "\(error.code)" }
                        } catch {
                            outcome.update { $0 = "\(error)" }
                        }
                    }
                    producer.yield([UInt8](repeating: 1, count: 2000))
                    try await waitUntil("the server closed the refused connection") {
                        server.statistics.totalConnections == 1 && server.statistics.openConnections == 0
                    }
                    producer.yield([UInt8](repeating: 2, count: 100))
                    producer.finish()
                    try await waitUntil("the delivery ended", timeout: 30) { outcome.value != nil }
                    _ = await delivery.result
                    #expect(outcome.value == "\(UnixSocketError.Code.serverError)")
                }
            }
        }

        @Test func chunksOfAnAsyncStreamAreAcknowledgedWithTheirTotal() async throws {
            let chunks = (0..<50).map { payload($0 * 997, seed: $0) }
            let total = chunks.reduce(0) { $0 + $1.count }
            let stream = AsyncStream<[UInt8]> { continuation in
                for chunk in chunks { continuation.yield(chunk) }
                continuation.finish()
            }
            let received = Shared<[UInt8]>([])
            let handler = MessageHandler.buffered { message, _ in
                received.update { $0 = message.bytes }
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let delivered = try await makeClient(path).deliver(.chunks(stream))
                    #expect(delivered == total)
                }
            }
            #expect(received.value == chunks.flatMap { $0 })
        }

        @Test func chunksProducedWhileSendingArriveInOrder() async throws {
            let (stream, continuation) = AsyncStream<[UInt8]>.makeStream()
            let producer = Task {
                for index in 0..<20 {
                    continuation.yield(Array("<\(index)>".utf8))
                    await Task.yield()
                }
                continuation.finish()
            }
            let expected = (0..<20).map { "<\($0)>" }.joined()
            let received = Shared("")
            let handler = MessageHandler.buffered { message, _ in
                received.update { $0 = message.string }
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let delivered = try await makeClient(path).deliver(.chunks(stream))
                    #expect(delivered == expected.utf8.count)
                }
            }
            await producer.value
            #expect(received.value == expected)
        }

        @Test func postReturnsOnceTheMessageIsWritten() async throws {
            let received = Shared<[String]>([])
            let handler = MessageHandler.buffered { message, _ in
                received.update { $0.append(message.string) }
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    try await makeClient(path).post("fire and forget")
                    try await waitUntil("the server got the posted message") { received.value == ["fire and forget"] }
                }
            }
        }
    }
}
