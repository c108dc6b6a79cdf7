import NIOCore
import SystemPackage
import UDSKit

extension Send {
    /// The messages to send one by one: each MESSAGE, or else each line of standard input.
    var messageStream: AsyncStream<String> {
        messages.isEmpty
            ? StandardInput.lines()
            : AsyncStream { continuation in
                for message in messages { continuation.yield(message) }
                continuation.finish()
            }
    }

    /// `uds send --seqpacket`: each message one packet on one connection, each reply printed on its own line.
    func runSeqPacket() async throws {
        do {
            let connection = try SeqPacketConnection.connect(
                to: UnixSocketAddress(path), timeout: timeout.map { .milliseconds(Int64($0 * 1000)) })
            if let timeout {
                try connection.setReadTimeout(.milliseconds(Int64(timeout * 1000)))
                try connection.setWriteTimeout(.milliseconds(Int64(timeout * 1000)))
            }
            for await text in messageStream {
                try await connection.send(Message(text))
                if noReply { continue }
                guard let reply = try await connection.receive(maximumSize: maxReply.value) else {
                    throw UnixSocketError(
                        .connectionClosed, operation: .receive, socket: path,
                        detail: "the server closed the connection instead of replying")
                }
                try check(reply, sentCount: text.utf8.count)
            }
            try connection.closeWrite()
        } catch {
            throw failure(error)
        }
    }

    /// `uds send --datagram`: each message one datagram from a socket the server can reply to, each reply printed
    /// on its own line.
    func runDatagram() async throws {
        do {
            let destination = try UnixSocketAddress(path)
            // Connected to the server, the socket takes datagrams from the server's address only (the kernel drops any
            // other), so replies are admitted whoever runs the server, as with a stream client.
            let socket = noReply ? try DatagramSocket.unbound() : try DatagramSocket.autobound(authorization: .anyone)
            try socket.connect(to: destination)
            if let timeout {
                try socket.setReadTimeout(.milliseconds(Int64(timeout * 1000)))
                try socket.setWriteTimeout(.milliseconds(Int64(timeout * 1000)))
            }
            for await text in messageStream {
                try await socket.send(Message(text))
                if noReply { continue }
                let reply = try await socket.receive(maximumSize: maxReply.value)
                try check(reply.message, sentCount: text.utf8.count)
            }
            socket.close()
        } catch {
            throw failure(error)
        }
    }

    /// Prints `reply` on its own line and checks it as `--expect` says.
    private func check(_ reply: Message, sentCount: Int) throws {
        if let error = Acknowledgement.error(in: reply, socket: path) { throw error }
        var line = reply.buffer
        if line.readableBytesView.last != UInt8(ascii: "\n") { line.writeInteger(UInt8(ascii: "\n")) }
        _ = try? line.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
        if expect == .ack { try Acknowledgement.verify(reply, sentCount: sentCount, socket: path) }
    }
}
