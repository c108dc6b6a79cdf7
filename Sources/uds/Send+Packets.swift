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
        let connection = try SeqPacketConnection.connect(to: socket.address(), timeout: limits.timeout)
        if let timeout = limits.timeout {
            try connection.setReadTimeout(timeout)
            try connection.setWriteTimeout(timeout)
        }
        for await text in messageStream {
            try await connection.send(Message(text))
            if noReply { continue }
            guard let reply = try await connection.receive(maximumSize: limits.maxReply.value) else {
                throw UnixSocketError(
                    .connectionClosed, operation: .receive, socket: path,
                    detail: "the server closed the connection instead of replying")
            }
            try check(reply, sentCount: text.utf8.count)
        }
        try connection.closeWrite()
    }

    /// `uds send --datagram`: each message one datagram from a socket the server can reply to, each reply printed
    /// on its own line.
    func runDatagram() async throws {
        let destination = try socket.address()
        // Connected to the server, the socket takes datagrams from the server's address only (the kernel drops any
        // other), so replies are admitted whoever runs the server, as with a stream client.
        let datagrams = noReply ? try DatagramSocket.unbound() : try DatagramSocket.autobound(authorization: .anyone)
        try datagrams.connect(to: destination)
        if let timeout = limits.timeout {
            try datagrams.setReadTimeout(timeout)
            try datagrams.setWriteTimeout(timeout)
        }
        for await text in messageStream {
            try await datagrams.send(Message(text))
            if noReply { continue }
            let reply = try await datagrams.receive(maximumSize: limits.maxReply.value)
            try check(reply.message, sentCount: text.utf8.count)
        }
        datagrams.close()
    }

    /// Prints `reply` on its own line and checks it as `--expect` says.
    func check(_ reply: Message, sentCount: Int) throws {
        if let error = Acknowledgement.error(in: reply, socket: path) { throw error }
        var line = reply.buffer
        if line.readableBytesView.last != UInt8(ascii: "\n") { line.writeInteger(UInt8(ascii: "\n")) }
        _ = try? line.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
        if expect == .ack { try Acknowledgement.verify(reply, sentCount: sentCount, socket: path) }
    }
}
