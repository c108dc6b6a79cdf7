import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// shutdown() lets messages in flight finish, for at most the grace period.
    ///
    /// The handlers here go on working until the shutdown has begun (it removes the socket file first), so the
    /// order of events is fixed, not left to a handler's sleep: the message is in flight when shutdown starts.
    @Suite struct GracefulShutdownTests {
        /// A handler that sets `started`, works until the shutdown has begun (the socket file at `path` is gone),
        /// then sets `finished` and acknowledges.
        static func workingUntilShutdownBegins(at path: String, started: Flag, finished: Flag) -> MessageHandler {
            .buffered { message, _ in
                started.set()
                try await waitUntil("the shutdown has begun") { !fileExists(path) }
                finished.set()
                return Acknowledgement.reply(forByteCount: message.count)
            }
        }

        @Test func messageInFlightIsAcknowledgedBeforeShutdownReturns() async throws {
            let started = Flag()
            let finished = Flag()
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let handler = Self.workingUntilShutdownBegins(at: path, started: started, finished: finished)
                let server = MessageServer(address: try UnixSocketAddress(path), handler: handler)
                try await server.start()
                let client = try makeClient(path)
                let delivery = Task { try await client.deliver("in flight") }
                try await waitUntil("the handler has the message") { started.isSet }

                await server.shutdown()
                #expect(finished.isSet, "shutdown returned while the handler was still working on a message")
                #expect(!fileExists(path))
                #expect(try await delivery.value == 9)
                #expect(server.openConnectionCount == 0)

                let error = try await #require(throws: UnixSocketError.self) { try await client.deliver("too late") }
                #expect(error.code == .noSocketFile)
            }
        }

        /// `post` writes, half-closes and closes at once, without waiting for a reply; so does any client that does not
        /// care for the acknowledgement. Its message is still in flight while the handler works on it.
        @Test func postedMessageIsHandledBeforeShutdownReturns() async throws {
            let started = Flag()
            let finished = Flag()
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let handler = Self.workingUntilShutdownBegins(at: path, started: started, finished: finished)
                let server = MessageServer(address: try UnixSocketAddress(path), handler: handler)
                try await server.start()
                try await makeClient(path).post("fire and forget")
                try await waitUntil("the handler has the message") { started.isSet }

                await server.shutdown()
                #expect(finished.isSet, "shutdown returned while the handler was still working on a message")
                #expect(!fileExists(path))
            }
        }

        @Test func handlerOutlastingTheGracePeriodIsCutOffAndTheClientGetsAnError() async throws {
            let started = Flag()
            let release = Flag()
            let finished = Flag()
            let handler = MessageHandler.buffered { message, _ in
                started.set()
                // Stands for a long job: it ends only when the test lets it go, after shutdown() has returned (or, if
                // shutdown waits for it, after two minutes, so that the test fails instead of hanging).
                _ = try await eventually(timeout: 120) { release.isSet }
                finished.set()
                return Acknowledgement.reply(forByteCount: message.count)
            }
            defer { release.set() }
            var configuration = MessageServer.Configuration()
            configuration.shutdownGracePeriod = .milliseconds(200)
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(
                    address: try UnixSocketAddress(path), configuration: configuration, handler: handler)
                try await server.start()
                // A read timeout far shorter than the job, but long enough that only a server that never closes hits
                // it.
                let client = try makeClient(path) { $0.replyTimeout = .seconds(20) }
                let delivery = Task { try await client.deliver("slow") }
                try await waitUntil("the handler has the message") { started.isSet }

                await server.shutdown()
                // Behaviour, not a duration: shutdown returned while the job was still running (it was cut off).
                #expect(!finished.isSet, "shutdown waited for a handler that outlasted the grace period")
                #expect(!fileExists(path))

                let result = await delivery.result
                let error = try #require(throws: UnixSocketError.self) { try result.get() }
                #expect(error.code != .timedOut, "the client waited for a reply that never came: \(error)")
                #expect(error.code == .notAcknowledged || error.code == .connectionClosed, "\(error)")
            }
        }

        @Test func shutdownOfAnIdleServerRemovesTheFileAndRefusesNewClients() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                try await server.start()
                #expect(try await makeClient(path).deliver("one") == 3)
                await server.shutdown()
                #expect(!fileExists(path))
                let error = try #require(throws: UnixSocketError.self) {
                    try UnixSocketConnection.connect(to: UnixSocketAddress(path))
                }
                #expect(error.code == .noSocketFile)
            }
        }

        @Test func serverCannotBeStartedTwice() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { server in
                    let client = try makeClient(path)
                    await #expect(throws: UnixSocketError.self) { try await server.start() }
                    #expect(try await client.deliver("still up") == 8)
                }
            }
        }
    }
}
