import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("Framed server: persistent connections, frames in both directions")
struct FramedServerTests {
    /// A blocking framed connection with generous timeouts, so that a server that never answers fails the test.
    private func connect(_ path: String) throws -> (UnixSocketConnection, FrameReader) {
        let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
        try connection.setReadTimeout(.seconds(60))
        try connection.setWriteTimeout(.seconds(60))
        return (connection, FrameReader(connection: connection, maximumFrameSize: 1 << 24))
    }

    @Test(arguments: ["echo", "requests"])
    func framesAreEchoedInOrderOnOneConnection(_ kind: String) async throws {
        let handler: FramedHandler = kind == "echo" ? .echo : .requests { message, _ in message }
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/f.sock", framedHandler: handler) { _ in
                let (connection, reader) = try connect(dir + "/f.sock")
                for size in [0, 1, 100, 70_000, 300_000] {
                    let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ size) }
                    try connection.writeFrame(payload)
                    #expect(try reader.readFrame() == payload)
                }
                // pipelined: many frames written before any is read
                var batch = ByteBuffer()
                for index in 0..<1000 { FrameEncoder.append(ByteBuffer(string: "frame \(index)"), to: &batch) }
                try connection.write(Array(batch.readableBytesView))
                for index in 0..<1000 { #expect(try reader.readFrame() == Array("frame \(index)".utf8)) }
                connection.close()
            }
        }
    }

    @Test func acknowledgeRepliesWithEachFramesByteCount() async throws {
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/a.sock", framedHandler: .acknowledge) { _ in
                let (connection, reader) = try connect(dir + "/a.sock")
                for size in [0, 5, 1000] {
                    try connection.writeFrame([UInt8](repeating: 1, count: size))
                    #expect(try reader.readFrame() == Array("\(size)\n".utf8))
                }
            }
        }
    }

    @Test(arguments: ["oversize", "truncated", "garbage"])
    func aBadFrameClosesOnlyItsConnection(_ badness: String) async throws {
        var configuration = MessageServer.Configuration()
        configuration.maximumFrameSize = 1000
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/b.sock", configuration: configuration, framedHandler: .echo) { _ in
                let (honest, honestReader) = try connect(dir + "/b.sock")
                try honest.writeFrame(Array("before".utf8))
                #expect(try honestReader.readFrame() == Array("before".utf8))

                let (bad, badReader) = try connect(dir + "/b.sock")
                switch badness {
                case "oversize": try bad.write([0x00, 0x00, 0x10, 0x00] + [UInt8](repeating: 0, count: 100))
                case "truncated":
                    try bad.write([0x00, 0x00, 0x00, 0x50, 1, 2, 3])
                    try bad.closeWrite()
                default: try bad.write([0xFF, 0xFF, 0xFF, 0xFF, 0xDE, 0xAD])
                }
                #expect(try badReader.readFrame() == nil, "the server closes the bad connection")

                try honest.writeFrame(Array("after".utf8))
                #expect(try honestReader.readFrame() == Array("after".utf8))
            }
        }
    }

    @Test func sixtyFourTasksRequestingOnOneConnectionEachGetTheirOwnReply() async throws {
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.requests { message, _ in
                // Some replies take a little longer, so that they finish out of order: the delay is the behaviour
                // under test, not a wait.
                if message.count % 3 == 0 { try await Task.sleep(for: .milliseconds(Int64(message.count % 7))) }
                return Message("reply to " + message.string)
            }
            try await withRunningServer(at: dir + "/r.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/r.sock"))
                defer { client.close() }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for task in 0..<64 {
                        group.addTask {
                            for round in 0..<20 {
                                let request = "task \(task) round \(round)"
                                let reply = try await client.request(Message(request))
                                #expect(reply.string == "reply to " + request)
                            }
                        }
                    }
                    try await group.waitForAll()
                }
            }
        }
    }

    @Test func aThrowingRequestHandlerAnswersThatFrameWithAnErrorAndGoesOn() async throws {
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.requests { message, _ in
                if message.string == "bad" { throw MessageRejection("no bad frames") }
                return message
            }
            try await withRunningServer(at: dir + "/t.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/t.sock"))
                defer { client.close() }
                #expect(try await client.request("good").string == "good")
                #expect(try await client.request("bad").string == "error: no bad frames\n")
                #expect(try await client.request("again").string == "again")
            }
        }
    }

    /// A client that writes and never reads must not make the server buffer without bound: the server stops
    /// reading from it, so the client's writes stop going through.
    @Test func aClientThatNeverReadsIsHeldBackNotBuffered() async throws {
        var configuration = MessageServer.Configuration()
        configuration.maximumOutboundBytes = 256 * 1024
        try await withTemporaryDirectory { dir in
            try await withRunningServer(at: dir + "/n.sock", configuration: configuration, framedHandler: .echo) {
                _ in
                let before = residentBytes()
                let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(dir + "/n.sock"))
                try connection.setWriteTimeout(.seconds(2))
                var frames = ByteBuffer()
                for _ in 0..<64 { FrameEncoder.append(ByteBuffer(repeating: 7, count: 1020), to: &frames) }
                let chunk = Array(frames.readableBytesView)  // 64 KiB of frames
                var written = 0
                do {
                    while written < 512 * 1024 * 1024 {
                        try connection.write(chunk)
                        written += chunk.count
                    }
                    Issue.record("the server kept reading 512 MiB from a client that never reads")
                } catch let error as UnixSocketError {
                    #expect(error.code == .timedOut)
                }
                // What got through: the socket buffers both ways, the server's outbound limit, one read buffer.
                #expect(written < 64 * 1024 * 1024, "\(written) bytes accepted")
                let grown = residentBytes() - before
                // The whole test process is measured, other suites running beside this one; a sanitizer multiplies it.
                #expect(grown < 48 * 1024 * 1024 * sanitizerOverhead, "resident memory grew by \(grown) bytes")
                connection.close()
            }
        }
    }
}

/// This process's resident memory, from /proc/self/statm.
private func residentBytes() -> Int {
    let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? "0 0"
    let pages = Int(statm.split(separator: " ")[1]) ?? 0
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
