import Foundation
import Testing
import UDSKitTestSupport

@testable import UDSKit

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension LibraryTests {
    /// Connecting to a server whose backlog is full: a non-blocking connect gets `EAGAIN`, and the client waits (on
    /// the reactor, not a thread) until its connect timeout.
    @Suite struct FullBacklogTests {
        /// A listener with backlog 1 that does not accept, its backlog filled: a client with a 300 ms connect timeout
        /// gives up with `.timedOut`; one with a long timeout, which started waiting before it, gets through once the
        /// listener accepts, and its message is acknowledged.
        @Test func aConnectToAFullBacklogTimesOutAsConfiguredOrSucceedsOnceThePeerAccepts() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/full.sock"
                let listener = try RawListener(path: path, backlog: 1)
                setReceiveTimeout(listener.descriptor, seconds: 60)  // accept gives up instead of hanging the run
                // Non-blocking connects until EAGAIN: the backlog is full exactly when the kernel says so (blocking
                // ones would block at that point).
                var fillers = try listener.fillBacklog()
                defer { fillers.forEach { _ = close($0) } }
                #expect(!fillers.isEmpty)

                let patient = try makeClient(path) { $0.connectTimeout = .seconds(60) }
                let patientStarted = Flag()
                let patientDelivery = Task {
                    patientStarted.set()
                    return try await patient.deliver("the patient one")
                }
                try await waitUntil("the patient client's task runs") { patientStarted.isSet }

                // Meanwhile (it started first) the patient client has been trying for 300 ms as well.
                let impatient = try makeClient(path) { $0.connectTimeout = .milliseconds(300) }
                let error = try await #require(throws: UnixSocketError.self) { try await impatient.deliver("x") }
                #expect(error.code == .timedOut, "\(error)")
                #expect(error.description.contains(path))

                // Let the backlog drain: the fillers go away (their connections read as empty), then the listener
                // accepts everything queued, the patient client among them, and acknowledges what it gets.
                fillers.forEach { _ = close($0) }
                fillers = []
                let received = try await onThread { () throws -> String in
                    for _ in 0..<100 {
                        let fd = try listener.accept()
                        defer { _ = close(fd) }
                        setReceiveTimeout(fd, seconds: 60)
                        let bytes = readToEnd(fd)
                        guard !bytes.isEmpty else { continue }  // a filler
                        try writeAll(fd, "\(bytes.count)\n")
                        return String(decoding: bytes, as: UTF8.self)
                    }
                    throw TestFailure("the patient client never connected")
                }
                #expect(received == "the patient one")
                #expect(try await patientDelivery.value == 15)
            }
        }

        @Test func aFramedClientConnectToAFullBacklogTimesOutAsConfigured() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/full.sock"
                let listener = try RawListener(path: path, backlog: 0)
                let fillers = try listener.fillBacklog()
                defer { fillers.forEach { _ = close($0) } }
                var configuration = FramedClient.Configuration()
                configuration.connectTimeout = .milliseconds(300)
                let error = try await #require(throws: UnixSocketError.self) {
                    _ = try await FramedClient.connect(to: UnixSocketAddress(path), configuration: configuration)
                }
                #expect(error.code == .timedOut, "\(error)")
            }
        }

        /// While a connect waits for room in the backlog, cancelling its task ends it with `CancellationError`.
        @Test func aDeliveryWaitingForRoomInTheBacklogEndsWhenItsTaskIsCancelled() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/full.sock"
                let listener = try RawListener(path: path, backlog: 1)
                let fillers = try listener.fillBacklog()
                defer { fillers.forEach { _ = close($0) } }
                let client = try makeClient(path) { $0.connectTimeout = .seconds(120) }
                let started = Flag()
                let delivery = Task {
                    started.set()
                    return try await client.deliver("never connected")
                }
                try await waitUntil("the delivery's task runs") { started.isSet }
                delivery.cancel()
                _ = try await withWatchdog(seconds: 30, onTimeout: {}) {
                    await #expect(throws: CancellationError.self) { try await delivery.value }
                }
            }
        }
    }
}
