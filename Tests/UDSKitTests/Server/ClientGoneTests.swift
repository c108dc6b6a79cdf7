import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// A client that sends frames and closes without reading the replies: the kernel reports `ECONNRESET` to the
/// server's next read, after (stream) or before (seqpacket) the frames still unread. Every frame the client sent
/// must still reach the handler.
@Suite("Framed server: a client that closes without reading its replies")
struct ClientGoneTests {
    @Test(arguments: ["requests", "connection"], [false, true])
    func everyFrameSentBeforeTheCloseIsHandled(handlerKind: String, seqPacket: Bool) async throws {
        let clients = 50
        let seen = Shared<[String]>([])
        let handler: FramedHandler =
            handlerKind == "requests"
            ? .requests { message, _ in
                seen.update { $0.append(message.string) }
                return message
            }
            : .connection { connection in
                for try await message in connection.inbound {
                    seen.update { $0.append(message.string) }
                    try await connection.send(message)
                }
            }
        try await withTemporaryDirectory { dir in
            let path = dir + "/g.sock"
            try await withRunningServer(
                at: path, configuration: seqPacket ? .seqPacket : .init(), framedHandler: handler
            ) { _ in
                // Blocking calls, on threads of their own: the handlers' tasks need the cooperative pool.
                let failures = await runOnThreads(clients) { client -> String? in
                    do {
                        let socket = try RawClient(path, seqPacket: seqPacket)
                        defer { socket.close() }
                        try socket.send("\(client) one")
                        // The reply stays unread, so that the close resets the connection.
                        try socket.waitUntilReadable()
                        try socket.send("\(client) two")
                        try socket.send("\(client) three")
                        return nil
                    } catch {
                        return "client \(client): \(error)"
                    }
                }
                #expect(failures.compactMap { $0 } == [])
                try await waitUntil(
                    "the handler has seen \(3 * clients) frames (it saw \(seen.value.count))", timeout: 60
                ) {
                    seen.value.count == 3 * clients
                }
            }
        }
        let expected = (0..<clients).flatMap { ["\($0) one", "\($0) two", "\($0) three"] }
        #expect(Set(seen.value) == Set(expected))
    }
}

/// A client made of plain system calls: a length-prefixed frame per write on a stream socket, a packet per
/// message on a seqpacket one.
private struct RawClient {
    let descriptor: CInt
    let seqPacket: Bool

    init(_ path: String, seqPacket: Bool) throws {
        self.seqPacket = seqPacket
        #if canImport(Glibc)
            let type = CInt(seqPacket ? SOCK_SEQPACKET.rawValue : SOCK_STREAM.rawValue)
        #else
            let type = seqPacket ? SOCK_SEQPACKET : SOCK_STREAM
        #endif
        descriptor = socket(AF_UNIX, type, 0)
        guard descriptor >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        let connected = withSocketAddress(path) { connect(descriptor, $0, $1) }
        guard connected == 0 else {
            let code = errno
            Glibc.close(descriptor)
            throw TestFailure("connect(\(path)) failed: errno \(code)")
        }
    }

    func send(_ text: String) throws {
        let payload = Array(text.utf8)
        let count = UInt32(payload.count)
        let bytes =
            seqPacket
            ? payload
            : [UInt8(count >> 24), UInt8(count >> 16 & 0xff), UInt8(count >> 8 & 0xff), UInt8(count & 0xff)] + payload
        let written = bytes.withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL)) }
        guard written == bytes.count else {
            throw TestFailure("send() wrote \(written) of \(bytes.count): errno \(errno)")
        }
    }

    /// Waits, without reading, until a reply has come.
    func waitUntilReadable() throws {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 60_000) == 1 else { throw TestFailure("no reply within 60 s") }
    }

    func close() { _ = Glibc.close(descriptor) }
}
