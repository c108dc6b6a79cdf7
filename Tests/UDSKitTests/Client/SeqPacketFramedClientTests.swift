import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("FramedClient over seqpacket: pipelined requests, push, timeouts, one packet per message")
struct SeqPacketFramedClientTests {
    private func configuration() -> FramedClient.Configuration {
        var configuration = FramedClient.Configuration()
        configuration.socketType = .seqPacket
        return configuration
    }

    @Test func aThousandRequestsFromAsManyTasksEachGetTheirOwnReply() async throws {
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/p.sock")
            try await withRunningServer(
                at: dir + "/p.sock",
                configuration: .seqPacket,
                framedHandler: .requests { request, _ in
                    Message("re: " + request.string)
                }
            ) { _ in
                let client = try await FramedClient.connect(to: address, configuration: configuration())
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for index in 0..<1000 {
                        group.addTask {
                            let reply = try await client.request(Message("request \(index)"))
                            #expect(reply.string == "re: request \(index)")
                        }
                    }
                    try await group.waitForAll()
                }
                // a large one, whole: no frame header on the wire, the kernel keeps the boundary
                let large = Message(String(repeating: "0123456789", count: 15_000))
                #expect(try await client.request(large).count == large.count + 4)
                await client.closeGracefully()
            }
        }
    }

    @Test func theServerPushesAndOneWayMessagesArrive() async throws {
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/push.sock")
            let handler = FramedHandler.connection { connection in
                for try await message in connection.inbound {
                    try await connection.send(Message("seen " + message.string))
                }
            }
            try await withRunningServer(at: dir + "/push.sock", configuration: .seqPacket, framedHandler: handler) {
                _ in
                let client = try await FramedClient.connect(to: address, configuration: configuration())
                for note in ["a", "b", "c"] { try await client.send(Message(note)) }
                var pushed: [String] = []
                for try await message in client.incoming {
                    pushed.append(message.string)
                    if pushed.count == 3 { break }
                }
                #expect(pushed == ["seen a", "seen b", "seen c"])
                client.close()
            }
        }
    }

    @Test func aTimedOutRequestFailsAndItsLateReplyIsDropped() async throws {
        let timedOut = Flag()
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/slow.sock")
            // "slow" is answered only once the client has given up on it: its reply is late by construction.
            try await withRunningServer(
                at: dir + "/slow.sock",
                configuration: .seqPacket,
                framedHandler: .requests { request, _ in
                    if request.string == "slow" {
                        try await waitUntil("the client gives up on slow") { timedOut.isSet }
                    }
                    return request
                }
            ) { _ in
                let client = try await FramedClient.connect(to: address, configuration: configuration())
                let error = await #expect(throws: UnixSocketError.self) {
                    try await client.request("slow", timeout: .milliseconds(50))
                }
                #expect(error?.code == .timedOut)
                timedOut.set()
                #expect(
                    try await client.request("fast").string == "fast", "the late reply to slow is not taken for fast")
                client.close()
            }
        }
    }

    @Test func anEmptyMessageIsRefusedAndTheConnectionGoesOn() async throws {
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/e.sock")
            try await withRunningServer(at: dir + "/e.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let client = try await FramedClient.connect(to: address, configuration: configuration())
                let error = await #expect(throws: UnixSocketError.self) { try await client.request(Message.empty) }
                #expect(error?.code == .invalidMessage)
                #expect(try await client.request("after").string == "after")
                client.close()
            }
        }
    }

    @Test func aMessageTooLargeForOnePacketFailsNamingTheSendBuffer() async throws {
        try await withTemporaryDirectory { dir in
            let address = try UnixSocketAddress(dir + "/big.sock")
            try await withRunningServer(at: dir + "/big.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let client = try await FramedClient.connect(to: address, configuration: configuration())
                let error = await #expect(throws: UnixSocketError.self) {
                    try await client.request(Message(bytes: [UInt8](repeating: 7, count: 8 << 20)))
                }
                #expect(error?.code == .messageTooLarge)
                #expect(error.map { "\($0)".contains("SO_SNDBUF") } == true, "\(String(describing: error))")
                client.close()
            }
        }
    }

    @Test func aStreamClientOnASeqPacketServerSaysWhatIsWrong() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/w.sock", configuration: .seqPacket, framedHandler: .echo) { _ in
                let error = await #expect(throws: UnixSocketError.self) {
                    _ = try await FramedClient.connect(to: UnixSocketAddress(dir + "/w.sock"))
                }
                #expect(error?.code == .wrongSocketType)
            }
            var datagrams = FramedClient.Configuration()
            datagrams.socketType = .datagram
            let error = await #expect(throws: UnixSocketError.self) {
                _ = try await FramedClient.connect(to: UnixSocketAddress(dir + "/w.sock"), configuration: datagrams)
            }
            #expect(error?.code == .unsupported)
        }
    }
}
