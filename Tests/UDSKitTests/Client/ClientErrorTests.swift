import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// What a client is told when there is no server, or the server does not acknowledge.
    @Suite struct ClientErrorTests {
        @Test func deliveringWhereNoFileIsThrowsNoSocketFile() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/nothing.sock"
                let error = try await #require(throws: UnixSocketError.self) { try await makeClient(path).deliver("x") }
                #expect(error.code == .noSocketFile)
                #expect(error.description.contains(path))
                #expect(!fileExists(path))
            }
        }

        @Test func deliveringToAStaleSocketFileThrowsStaleSocketFile() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/stale.sock"
                try makeStaleSocketFile(at: path)
                let error = try await #require(throws: UnixSocketError.self) { try await makeClient(path).deliver("x") }
                #expect(error.code == .staleSocketFile)
                #expect(error.description.contains(path))
                #expect(FileInfo(at: path)?.kind == .socket)
            }
        }

        @Test func deliveringToARegularFileThrowsNotASocket() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/file"
                try writeFile(path, Array("data".utf8))
                let error = try await #require(throws: UnixSocketError.self) { try await makeClient(path).deliver("x") }
                #expect(error.code == .notASocket)
                #expect(try readFile(path) == Array("data".utf8))
            }
        }

        @Test func deliveringToADirectoryThrowsNotASocket() async throws {
            try await withTemporaryDirectory { directory in
                let error = try await #require(throws: UnixSocketError.self) {
                    try await makeClient(directory).deliver("x")
                }
                #expect(error.code == .notASocket)
            }
        }

        @Test func deliveringToAnAbstractNameNobodyHoldsThrowsStaleSocketFile() async throws {
            #if os(Linux)
                let name = "@udskit-nobody-\(UInt64.random(in: 0...UInt64.max))"
                let error = try await #require(throws: UnixSocketError.self) { try await makeClient(name).deliver("x") }
                #expect(error.code == .staleSocketFile || error.code == .noSocketFile)
            #endif
        }

        /// Root passes every permission check, so this runs only as another user.
        @Test(.enabled(if: geteuid() != 0, "root is never denied"))
        func deliveringToASocketWithoutWritePermissionThrowsPermissionDenied() async throws {
            var configuration = MessageServer.Configuration()
            configuration.socketPermissions = []
            try await withTemporaryDirectory { directory in
                let path = directory + "/locked.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: .acknowledge) { _ in
                    let error = try await #require(throws: UnixSocketError.self) {
                        try await makeClient(path).deliver("x")
                    }
                    #expect(error.code == .permissionDenied)
                }
            }
        }

        @Test func replyStatingAnotherCountThrowsNotAcknowledged() async throws {
            let shortChanging = MessageHandler.buffered { _, _ in Acknowledgement.reply(forByteCount: 3) }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: shortChanging) { _ in
                    let client = try makeClient(path)
                    let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("hello") }
                    #expect(error.code == .notAcknowledged)
                    #expect(error.detail?.contains("3") == true && error.detail?.contains("5") == true, "\(error)")
                    // The exchange itself went through: the reply is there for a caller that looks.
                    let (sent, reply) = try await client.exchange(.bytes("hello"))
                    #expect(sent == 5)
                    #expect(reply.string == "3\n")
                }
            }
        }

        @Test func replyThatIsNoAcknowledgementThrowsNotAcknowledged() async throws {
            let chatty = MessageHandler.buffered { _, _ in "thanks!\n" }
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: chatty) { _ in
                    let client = try makeClient(path)
                    let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("hi") }
                    #expect(error.code == .notAcknowledged)
                    #expect(error.detail?.contains("thanks!") == true, "\(error)")
                }
            }
        }

        @Test func replyOverTheClientsLimitThrowsReplyTooLarge() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .echo) { _ in
                    let client = try makeClient(path) { $0.maximumReplySize = 100 }
                    let error = try await #require(throws: UnixSocketError.self) {
                        try await client.send(Message(bytes: payload(1000)))
                    }
                    #expect(error.code == .replyTooLarge)
                    #expect(error.description.contains("100"))
                    // A reply of exactly the limit is fine.
                    #expect(try await client.send(Message(bytes: payload(100))).count == 100)
                }
            }
        }
    }
}
