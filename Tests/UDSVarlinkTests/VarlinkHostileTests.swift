import Foundation
import Logging
import Testing
import UDSKit
import UDSKitTestSupport
import UDSVarlink

/// Hostile peers: each gets a clear answer or its connection closed, and a well-behaved client on the same server
/// is not affected.
@Suite("Varlink hostile inputs")
struct VarlinkHostileTests {
    /// Connects a raw socket, writes `bytes`, and returns what the server sends until it closes (or `limit`).
    private func exchange(_ address: VarlinkAddress, _ bytes: [UInt8], halfClose: Bool = false) async throws -> [UInt8]
    {
        try await onThread {
            let connection = try UnixSocketConnection.connect(to: address.socket)
            defer { connection.close() }
            // The server may close before it has read every byte (past a limit), so a failed write is fine here.
            try? connection.write(bytes)
            if halfClose { try connection.closeWrite() }
            return (try? connection.readToEnd(maximumSize: 1 << 20)) ?? []
        }
    }

    /// `body` runs while a well-behaved client holds a connection; afterwards that client must still be answered.
    private func withBystander(_ address: VarlinkAddress, _ body: () async throws -> Void) async throws {
        let bystander = try await VarlinkClient.connect(to: address)
        try await body()
        #expect(try await bystander.call("org.example.ping.Ping", Ping(ping: "still"), as: Pong.self).pong == "still")
        await bystander.close()
    }

    @Test func malformedJSONClosesOnlyThatConnection() async throws {
        try await withVarlinkServer(try pingService()) { address in
            try await withBystander(address) {
                // A good call first: it is answered before the bad one closes the connection.
                let good = Array(#"{"method":"org.example.ping.Ping","parameters":{"ping":"a"}}"#.utf8) + [0]
                let received = try await exchange(address, good + Array("{not json".utf8) + [0])
                #expect(String(decoding: received, as: UTF8.self) == #"{"parameters":{"pong":"a"}}"# + "\0")
                let array = try await exchange(address, Array(#"["an array"]"#.utf8) + [0])
                #expect(array.isEmpty)
                let noMethod = try await exchange(address, Array(#"{"parameters":{}}"#.utf8) + [0])
                #expect(noMethod.isEmpty)
            }
        }
    }

    @Test func aMessageWithoutItsNULIsDroppedAtTheEndOfTheConnection() async throws {
        try await withVarlinkServer(try pingService()) { address in
            try await withBystander(address) {
                let partial = Array(#"{"method":"org.example.ping.Ping","parameters":{"ping":"a"}}"#.utf8)
                let received = try await exchange(address, partial, halfClose: true)
                #expect(received.isEmpty)
            }
        }
    }

    @Test func anOversizeMessageClosesTheConnection() async throws {
        var configuration = MessageServer.Configuration()
        configuration.maximumFrameSize = 4096
        try await withVarlinkServer(try pingService(), configuration: configuration) { address in
            try await withBystander(address) {
                // No NUL within the limit: refused once the limit is passed, whatever follows.
                let big =
                    Array(#"{"method":"org.example.ping.Ping","parameters":{"ping":""#.utf8)
                    + Array(repeating: UInt8(ascii: "x"), count: 10_000)
                let received = try await exchange(address, big)
                #expect(received.isEmpty)
            }
        }
    }

    @Test func aClientThatNeverReadsAStreamHoldsUpOnlyItself() async throws {
        var configuration = MessageServer.Configuration()
        configuration.maximumOutboundBytes = 64 * 1024
        try await withVarlinkServer(try pingService(), configuration: configuration) { address in
            try await withBystander(address) {
                // Ten million replies asked for and none read: the handler waits on backpressure rather than
                // queueing them.
                let first = try await onThread {
                    let connection = try UnixSocketConnection.connect(to: address.socket)
                    defer { connection.close() }
                    let call = Array(
                        #"{"method":"org.example.ping.Count","parameters":{"count":10000000},"more":true}"#.utf8)
                    try connection.write(call + [0])
                    var buffer = [UInt8](repeating: 0, count: 64)
                    let count = try buffer.withUnsafeMutableBytes { try connection.read(into: $0) }
                    return String(decoding: buffer[..<count], as: UTF8.self)
                }
                #expect(
                    first.hasPrefix(#"{"parameters":{"number":0}"#) || first.hasPrefix(#"{"continues":true"#),
                    "\(first)")
            }
        }
    }
}
