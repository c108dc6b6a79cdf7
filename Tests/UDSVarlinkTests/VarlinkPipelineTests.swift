import Foundation
import Testing
import UDSKit
import UDSKitTestSupport
import UDSVarlink

/// Pipelined calls by the thousand, in one write from a raw socket: every call is answered, in order, while the
/// server takes a read's calls at a time and stops reading while its handler is behind.
@Suite("Varlink pipelined calls")
struct VarlinkPipelineTests {
    /// `Ping` answers with its `ping`; the call with ping `"wait"` first waits for `gate`. `Fail` answers an error.
    private func service(_ gate: Gate) throws -> VarlinkService {
        var service = VarlinkService(vendor: "UDSKit tests", product: "pipe", version: "1", url: "https://example.org")
        try service.addInterface(pingIDL) { methods in
            methods.method("Ping") { (request: Ping, _) in
                if request.ping == "wait" { await gate.arrive() }
                return Pong(pong: request.ping)
            }
            methods.method("Fail") { (_: Ping, _) -> VarlinkEmpty in
                throw VarlinkError(name: "org.example.ping.NotReady", parameters: ["retry_after": 1])
            }
        }
        return service
    }

    private func call(_ index: Int) -> String {
        index % 1000 == 999
            ? #"{"method":"org.example.ping.Fail","parameters":{"ping":"\#(index)"}}"#
            : #"{"method":"org.example.ping.Ping","parameters":{"ping":"\#(index)"}}"#
    }

    private func reply(_ index: Int) -> String {
        index % 1000 == 999
            ? #"{"error":"org.example.ping.NotReady","parameters":{"retry_after":1}}"#
            : #"{"parameters":{"pong":"\#(index)"}}"#
    }

    /// Writes `calls` in one write on one thread and reads the replies to the end on another (the server's replies
    /// fill the socket long before the write is done); returns the replies.
    private func exchange(
        _ address: VarlinkAddress, _ calls: [String], whileWriting: @Sendable () async throws -> Void = {}
    ) async throws -> [String] {
        let connection = try UnixSocketConnection.connect(to: address.socket)
        defer { connection.close() }
        var joined: [UInt8] = []
        for call in calls { joined += Array(call.utf8) + [0] }
        let wire = joined
        let written = Task.detached {
            try await onThread {
                try connection.write(wire)
                try connection.closeWrite()
            }
        }
        let read = Task.detached {
            try await onThread { try connection.readToEnd(maximumSize: 64 << 20) }
        }
        try await whileWriting()
        try await written.value
        let bytes = try await read.value
        return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
            String(decoding: $0, as: UTF8.self)
        }
    }

    @Test func twentyThousandCallsInOneWriteAreAnsweredInOrder() async throws {
        let count = 20_000  // about 1.3 MB: many reads, and the server's reading paused and resumed
        try await withVarlinkServer(try service(makeLatch())) { address in
            let replies = try await exchange(address, (0..<count).map(call))
            #expect(replies.count == count)
            let wrong = zip(0..<count, replies).first { index, reply in reply != self.reply(index) }
            #expect(wrong == nil, "reply \(wrong?.0 ?? -1) is \(wrong?.1 ?? "")")
        }
    }

    @Test func aHandlerThatWaitsStopsTheReadsAndLosesNoCall() async throws {
        let gate = makeLatch()
        let count = 10_000
        var calls = (0..<count).map(call)
        calls[0] = #"{"method":"org.example.ping.Ping","parameters":{"ping":"wait"}}"#
        try await withTemporaryDirectory { directory in
            let address = try VarlinkAddress("unix:\(directory)/varlink.sock")
            let server = MessageServer(address: address.socket, varlinkService: try service(gate))
            try await server.start()
            do {
                let replies = try await exchange(address, calls) {
                    // The first call's handler waits: the server reads calls, then stops at FrameBursts' 64 KiB.
                    try await waitUntil("the server reads calls") { server.statistics.messages > 100 }
                    #expect(server.statistics.messages < count)
                    gate.open()
                }
                #expect(server.statistics.messages == count)
                #expect(replies.first == #"{"parameters":{"pong":"wait"}}"#)
                #expect(replies.count == count)
                #expect(zip(1..<count, replies.dropFirst()).allSatisfy { index, reply in reply == self.reply(index) })
            } catch {
                await server.shutdown()
                throw error
            }
            await server.shutdown()
        }
    }
}
