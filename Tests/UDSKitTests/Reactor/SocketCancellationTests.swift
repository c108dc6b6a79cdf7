import Foundation
import Testing
import UDSKitTestSupport

@testable import UDSKit

extension LibraryTests {
    /// The async calls of seqpacket and datagram sockets, waiting on the client reactor: a cancelled task's wait
    /// ends with `CancellationError` and leaves the socket working; closing the socket ends a waiting call.
    @Suite struct SocketCancellationTests {
        @Test func aSeqPacketReceiveWaitingInACancelledTaskThrowsCancellationError() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/packets.sock"
                try await withRunningServer(at: path, configuration: .seqPacket, framedHandler: .echo) { _ in
                    let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                    defer { connection.close() }
                    let receive = Task { try await connection.receive() }
                    let descriptor = connection.socket.descriptor
                    try await waitUntil("the receive waits on the client reactor") {
                        descriptorsWatchedByAReactor().contains(descriptor)
                    }
                    receive.cancel()
                    _ = try await withWatchdog(seconds: 10, onTimeout: { connection.close() }) {
                        await #expect(throws: CancellationError.self) { _ = try await receive.value }
                    }
                    // The connection is as good as before.
                    #expect(try await connection.request("still here").string == "still here")
                    // And a receive in a task cancelled before it waits throws at once.
                    let early = Task {
                        withUnsafeCurrentTask { $0?.cancel() }
                        return try await connection.receive()
                    }
                    await #expect(throws: CancellationError.self) { _ = try await early.value }
                }
            }
        }

        /// Closing a seqpacket connection while an async receive waits ends that receive: with the end of the
        /// connection (`nil`) or ``UnixSocketError/Code/connectionClosed``, never another error.
        ///
        /// (Failed at 3d7d6ca, in about one run of three: the receive woken by the shutdown retried `recvmsg` while
        /// the reactor closed the descriptor, and got EBADF or ENOTSOCK from a reused number; fixed in fd26636.)
        @Test func closingASeqPacketConnectionEndsItsWaitingReceive() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/packets.sock"
                try await withRunningServer(at: path, configuration: .seqPacket, framedHandler: .echo) { _ in
                    let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                    let receive = Task { try await connection.receive() }
                    let descriptor = connection.socket.descriptor
                    try await waitUntil("the receive waits on the client reactor") {
                        descriptorsWatchedByAReactor().contains(descriptor)
                    }
                    connection.close()
                    _ = try await withWatchdog(seconds: 10, onTimeout: { receive.cancel() }) {
                        do {
                            let message = try await receive.value
                            #expect(message == nil, "a message after the close: \(String(describing: message))")
                        } catch let error as UnixSocketError {
                            #expect(error.code == .connectionClosed, "\(error)")
                        }
                    }
                }
            }
        }

        @Test func aDatagramReceiveWaitingInACancelledTaskThrowsCancellationError() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/d.sock"
                let socket = try DatagramSocket.bind(to: UnixSocketAddress(path))
                defer { socket.close() }
                let receive = Task { try await socket.receive() }
                let descriptor = socket.socket.descriptor
                try await waitUntil("the receive waits on the client reactor") {
                    descriptorsWatchedByAReactor().contains(descriptor)
                }
                receive.cancel()
                _ = try await withWatchdog(seconds: 10, onTimeout: { socket.close() }) {
                    await #expect(throws: CancellationError.self) { _ = try await receive.value }
                }
                // The socket still receives.
                let sender = try DatagramSocket.unbound()
                defer { sender.close() }
                try await sender.send("after the cancellation", to: UnixSocketAddress(path))
                #expect(try await socket.receive().message.string == "after the cancellation")
            }
        }

        /// Closing a datagram socket while an async receive waits ends that receive with
        /// ``UnixSocketError/Code/connectionClosed``.
        ///
        /// (Failed at 3d7d6ca, in about one run of three: the receive woken by the shutdown retried `recvmsg` while
        /// the reactor closed the descriptor, and got EBADF or ENOTSOCK from a reused number; fixed in fd26636.)
        @Test func closingADatagramSocketEndsItsWaitingReceiveWithConnectionClosed() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/d.sock"
                let socket = try DatagramSocket.bind(to: UnixSocketAddress(path))
                let receive = Task { try await socket.receive() }
                let descriptor = socket.socket.descriptor
                try await waitUntil("the receive waits on the client reactor") {
                    descriptorsWatchedByAReactor().contains(descriptor)
                }
                socket.close()
                _ = try await withWatchdog(seconds: 10, onTimeout: { receive.cancel() }) {
                    let error = try await #require(throws: UnixSocketError.self) { _ = try await receive.value }
                    #expect(error.code == .connectionClosed, "\(error)")
                }
                #expect(!FileManager.default.fileExists(atPath: path), "close removes the socket file")
            }
        }

        /// An async receive on a datagram socket closed before it fails with
        /// ``UnixSocketError/Code/connectionClosed`` and touches no descriptor.
        ///
        /// (Failed at 3d7d6ca: the receive called `recvmsg` on the closed number, EBADF; fixed in fd26636.)
        @Test func anAsyncReceiveOnAClosedDatagramSocketThrowsConnectionClosed() async throws {
            try await withTemporaryDirectory { directory in
                let socket = try DatagramSocket.bind(to: UnixSocketAddress(directory + "/d.sock"))
                // Watched by the reactor first, so that the reactor is the one that closes the descriptor.
                let sender = try DatagramSocket.unbound()
                defer { sender.close() }
                let first = Task { try await socket.receive() }
                try await sender.send("one", to: UnixSocketAddress(directory + "/d.sock"))
                #expect(try await first.value.message.string == "one")
                socket.close()
                let error = try await #require(throws: UnixSocketError.self) { _ = try await socket.receive() }
                #expect(error.code == .connectionClosed, "\(error)")
            }
        }
    }
}
