import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// At shutdown a server removes its socket file, and only its own.
    @Suite struct SocketFileRemovalTests {
        @Test func socketFileIsRemovedOnShutdown() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                try await server.start()
                #expect(FileInfo(at: path)?.kind == .socket)
                #expect(try await makeClient(path).deliver("hello") == 5)
                await server.shutdown()
                #expect(!fileExists(path))
                #expect(!fileExists(path + ".lock"))
                // Shutting down again is harmless and leaves nothing behind.
                await server.shutdown()
                #expect(!fileExists(path))
            }
        }

        @Test func runReturnsAfterShutdownAndTheFileIsGone() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                let running = Task { try await server.run() }
                try await waitForServer(at: path)
                await server.shutdown()
                try await running.value
                #expect(!fileExists(path))
            }
        }

        @Test func cancellingRunShutsTheServerDown() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                let running = Task { try await server.run() }
                try await waitForServer(at: path)
                running.cancel()
                try await running.value
                #expect(!fileExists(path))
            }
        }

        @Test func replacementSocketFileIsLeftAloneAtShutdown() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                try await server.start()
                let original = try #require(FileInfo(at: path))

                // Someone else takes the path over while the server runs.
                try FileManager.default.removeItem(atPath: path)
                try makeStaleSocketFile(at: path)
                let replacement = try #require(FileInfo(at: path))
                #expect(replacement.inode != original.inode)

                await server.shutdown()
                #expect(FileInfo(at: path) == replacement)
                #expect(!fileExists(path + ".lock"))
            }
        }

        @Test func replacementByASuccessorServerKeepsServing() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let first = MessageServer(address: try UnixSocketAddress(path), handler: .discard)
                try await first.start()
                try FileManager.default.removeItem(atPath: path)
                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let successor = try #require(FileInfo(at: path))
                    await first.shutdown()
                    #expect(FileInfo(at: path) == successor)
                    #expect(try await makeClient(path).deliver("successor") == 9)
                }
                #expect(!fileExists(path))
            }
        }
    }
}
