import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// A streaming handler gets the message in chunks as they arrive, whatever its size.
    @Suite struct StreamingHandlerTests {
        /// Counts bytes and chunks and acknowledges; the last message's chunk count is in `chunks`.
        private static func countingHandler(chunks: Shared<Int>) -> MessageHandler {
            .streaming { body, _ in
                var count = 0
                var seen = 0
                for try await chunk in body {
                    count += chunk.readableBytes
                    seen += 1
                }
                chunks.update { $0 = seen }
                return Acknowledgement.reply(forByteCount: count)
            }
        }

        @Test func message256MiBStreamsThroughAndIsCountedInChunks() async throws {
            let chunks = Shared(0)
            let size = 256 * 1024 * 1024
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: Self.countingHandler(chunks: chunks)) { _ in
                    let outgoing = OutgoingMessage.chunks(GeneratedChunks(chunkCount: 256, chunkSize: 1024 * 1024))
                    let delivered = try await makeClient(path).deliver(outgoing)
                    #expect(delivered == size)
                }
            }
            // Reads are at most 256 KiB (the default maximumReadSize), so a whole message in one buffer is impossible.
            #expect(chunks.value >= 2)
            #expect(chunks.value >= size / MessageServer.Configuration().maximumReadSize)
        }

        @Test func message256MiBWrittenOnABlockingConnectionIsCountedRight() async throws {
            let chunks = Shared(0)
            let size = 256 * 1024 * 1024
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: Self.countingHandler(chunks: chunks)) { _ in
                    let reply = await runOnThreads(1) { _ -> Result<[UInt8], any Error> in
                        Result {
                            let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                            try connection.setReadTimeout(.seconds(120))
                            let block = payload(64 * 1024)
                            for _ in 0..<(size / block.count) { try connection.write(block) }
                            try connection.closeWrite()
                            return try connection.readToEnd(maximumSize: 100)
                        }
                    }[0]
                    let text = String(decoding: try reply.get(), as: UTF8.self)
                    #expect(text == "\(size)\n")
                }
            }
            #expect(chunks.value >= 2)
        }

        @Test func handlerSeesTheFirstChunkBeforeTheMessageEnds() async throws {
            let firstChunk = Shared<String?>(nil)
            let handler = MessageHandler.streaming { body, _ in
                var count = 0
                for try await chunk in body {
                    if count == 0 { firstChunk.update { $0 = String(buffer: chunk) } }
                    count += chunk.readableBytes
                }
                return Acknowledgement.reply(forByteCount: count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let connection = try await onThread {
                        let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                        try connection.setReadTimeout(.seconds(120))
                        try connection.write(Array("first".utf8))
                        return connection
                    }
                    defer { connection.close() }
                    // The message has not ended (no half-close yet), and the handler already has its first bytes.
                    try await waitUntil("the handler got the first chunk") { firstChunk.value != nil }
                    #expect(firstChunk.value == "first")
                    let reply = try await onThread {
                        try connection.write(Array(" and the rest".utf8))
                        try connection.closeWrite()
                        return try connection.readToEnd(maximumSize: 100)
                    }
                    #expect(reply == Array("18\n".utf8))
                }
            }
        }

        @Test func collectGathersTheWholeMessageAndEnforcesItsLimit() async throws {
            let handler = MessageHandler.streaming { body, _ in
                let message = try await body.collect(upTo: 10_000)
                return Acknowledgement.reply(forByteCount: message.count)
            }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: handler) { _ in
                    let client = try makeClient(path)
                    #expect(try await client.deliver(Message(bytes: payload(10_000))) == 10_000)
                    let reply = try await client.send(Message(bytes: payload(10_001)))
                    #expect(Acknowledgement.errorReason(in: reply)?.contains("10000") == true, "\(reply)")
                    #expect(try await client.deliver("") == 0)
                }
            }
        }
    }
}
