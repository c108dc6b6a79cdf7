import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

/// A server that answers a request and closes: the reply is already in the client's socket, so the request it
/// answers must succeed, whatever the kernel reports first (a reset before the queued packets on seqpacket; a broken
/// pipe to a write made after the close), and only the requests it did not answer fail.
@Suite("FramedClient: a server that answers and closes")
struct ServerGoneTests {
    /// The server reads "one", waits until "two" is queued behind it, answers "one" and closes with "two" unread.
    @Test(arguments: [false, true])
    func aReplyBeforeAResetIsDelivered(seqPacket: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let server = try RawServer(dir + "/r.sock", seqPacket: seqPacket)
            let readOne = Flag()
            async let served = runOnThreads(1) { _ in
                server.serveOnce { connection in
                    let request = try connection.receive()
                    readOne.set()
                    try connection.waitUntilReadable()  // "two" is queued, unread
                    try connection.send("re: " + request)
                }
            }
            let client = try await FramedClient.connect(
                to: UnixSocketAddress(server.path), configuration: .init(seqPacket: seqPacket))
            let one = Task { try await client.request(Message("one")) }
            try await waitUntil("the server has read \"one\"") { readOne.isSet }
            let two = Task { try await client.request(Message("two")) }

            #expect(try await one.value.string == "re: one")
            await expectConnectionClosed(two)
            #expect(await served == [nil])
            client.close()
        }
    }

    /// The server answers "one" and closes while a task holds the client's reactor; that task then writes "two"
    /// into the closed connection, before the reactor has read the reply.
    @Test(arguments: [false, true])
    func aReplyBeforeABrokenPipeIsDelivered(seqPacket: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let server = try RawServer(dir + "/p.sock", seqPacket: seqPacket)
            let readOne = Flag()
            let answer = Flag()
            let closed = Flag()
            async let served = runOnThreads(1) { _ in
                defer { closed.set() }
                return server.serveOnce { connection in
                    let request = try connection.receive()
                    readOne.set()
                    try answer.wait()
                    try connection.send("re: " + request)
                }
            }
            let client = try await FramedClient.connect(
                to: UnixSocketAddress(server.path), configuration: .init(seqPacket: seqPacket))
            let one = Task { try await client.request(Message("one")) }
            try await waitUntil("the server has read \"one\"") { readOne.isSet }

            let two = Task(executorPreference: client.executor) {
                // Blocks the reactor's thread, so that it reads nothing until this task suspends.
                answer.set()
                try closed.wait()
                return try await client.request(Message("two"))
            }

            #expect(await served == [nil])
            #expect(try await one.value.string == "re: one")
            await expectConnectionClosed(two)
            client.close()
        }
    }

    private func expectConnectionClosed(_ task: Task<Message, any Error>) async {
        do {
            let reply = try await task.value
            Issue.record("expected the request to fail; it got \"\(reply.string)\"")
        } catch let error as UnixSocketError {
            #expect(error.code == .connectionClosed, "\(error)")
        } catch {
            Issue.record("expected a UnixSocketError, got \(error)")
        }
    }
}

extension FramedClient.Configuration {
    fileprivate init(seqPacket: Bool) {
        self.init()
        if seqPacket { socketType = .seqPacket }
    }
}

extension Flag {
    /// Blocks the calling thread until set, for at most 60 s.
    fileprivate func wait() throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while !isSet {
            guard ContinuousClock.now < deadline else { throw TestFailure("not set within 60 s") }
            usleep(1_000)
        }
    }
}

/// A listening socket made of plain system calls, that serves one connection on the calling thread: a
/// length-prefixed frame per message on a stream socket, a packet per message on a seqpacket one.
private struct RawServer: Sendable {
    let path: String
    let seqPacket: Bool
    private let listener: CInt

    init(_ path: String, seqPacket: Bool) throws {
        self.path = path
        self.seqPacket = seqPacket
        #if canImport(Glibc)
            let type = CInt(seqPacket ? SOCK_SEQPACKET.rawValue : SOCK_STREAM.rawValue)
        #else
            let type = seqPacket ? SOCK_SEQPACKET : SOCK_STREAM
        #endif
        listener = socket(AF_UNIX, type, 0)
        guard listener >= 0 else { throw TestFailure("socket() failed: errno \(errno)") }
        guard withSocketAddress(path, { bind(listener, $0, $1) }) == 0, listen(listener, 8) == 0 else {
            let code = errno
            Glibc.close(listener)
            throw TestFailure("bind or listen (\(path)) failed: errno \(code)")
        }
    }

    /// Accepts one connection, runs `body` on it, closes it and the listener; returns what went wrong, if anything.
    func serveOnce(_ body: (RawConnection) throws -> Void) -> String? {
        defer { Glibc.close(listener) }
        let descriptor = accept(listener, nil, nil)
        guard descriptor >= 0 else { return "accept() failed: errno \(errno)" }
        defer { Glibc.close(descriptor) }
        do {
            try body(RawConnection(descriptor: descriptor, seqPacket: seqPacket))
            return nil
        } catch {
            return "\(error)"
        }
    }
}

private struct RawConnection {
    let descriptor: CInt
    let seqPacket: Bool

    /// Reads exactly one message, leaving what follows it unread.
    func receive() throws -> String {
        if seqPacket { return String(decoding: try read(upTo: 65536, waitingForAll: false), as: UTF8.self) }
        let header = try read(upTo: 4, waitingForAll: true)
        let length = header.reduce(0) { $0 << 8 | Int($1) }
        return String(decoding: try read(upTo: length, waitingForAll: true), as: UTF8.self)
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

    /// Waits, without reading, until more has come.
    func waitUntilReadable() throws {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&entry, 1, 60_000) == 1 else { throw TestFailure("nothing more within 60 s") }
    }

    private func read(upTo count: Int, waitingForAll: Bool) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        let read = bytes.withUnsafeMutableBytes {
            recv(descriptor, $0.baseAddress, count, waitingForAll ? CInt(MSG_WAITALL) : 0)
        }
        guard read > 0, !waitingForAll || read == count else {
            throw TestFailure("recv() read \(read) of \(count): errno \(errno)")
        }
        return Array(bytes[..<read])
    }
}
