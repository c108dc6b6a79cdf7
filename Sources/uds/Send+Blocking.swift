import SystemPackage
import UDSKit

/// `uds send PATH MESSAGE` on the calling thread, with blocking calls: the one-shot send a shell loop runs, made
/// without the concurrency runtime, so the process starts no thread (``UDS/main()``). Same protocol, limits, timeouts,
/// output and exit codes as the `async` path through ``MessageClient``.
extension Send {
    /// The largest reply `--max-reply` accepts by default: 64 MiB.
    static let defaultMaximumReply = 64 * 1024 * 1024

    /// Whether this send is one MESSAGE from the command line over a stream (no --file, standard input, --fd,
    /// --framed, --seqpacket or --datagram), which ``runBlocking()`` makes.
    var runsBlocking: Bool {
        messages.count == 1 && file == nil && fd.isEmpty && !framed && !seqpacket && !datagram
    }

    /// The socket path and message of a command line that is exactly `send PATH MESSAGE` with no option (no
    /// argument starts with `-`), which needs no parsing: ArgumentParser's parse is 40% of such a process's time
    /// (it reflects over every property of the command with `Mirror`). `nil` for any other command line.
    static func plainSend(_ arguments: ArraySlice<String>) -> (path: String, message: String)? {
        guard arguments.count == 3, arguments.first == "send", !arguments.contains(where: { $0.hasPrefix("-") })
        else { return nil }
        return (arguments[arguments.startIndex + 1], arguments[arguments.startIndex + 2])
    }

    /// Runs this send (``runsBlocking`` must hold) as ``run()`` would.
    func runBlocking() throws {
        try Self.sendBlocking(
            path: path, message: messages[0], timeout: timeout, maximumReply: maxReply.value, expect: expect,
            noReply: noReply)
    }

    /// Connects, writes `message` (taking what the server answers meanwhile), half-closes, reads the reply, prints
    /// it and checks it.
    ///
    /// - Throws: an `ExitCode`, once the reason is printed on standard error.
    static func sendBlocking(
        path: String, message: String, timeout: Double? = nil, maximumReply: Int = defaultMaximumReply,
        expect: Expectation = .ack, noReply: Bool = false
    ) throws {
        do {
            let timeout = timeout.map { Duration.milliseconds(Int64($0 * 1000)) }
            let address = try UnixSocketAddress(path)
            let connection = try UnixSocketConnection.connect(to: address, timeout: timeout ?? .seconds(10))
            defer { connection.close() }
            if let timeout {
                try connection.setReadTimeout(timeout)
                try connection.setWriteTimeout(timeout)
            }
            let bytes = Array(message.utf8)
            var reply = ReplyBuffer(maximumSize: maximumReply)
            var writeFailure: UnixSocketError?
            bytes.withUnsafeBytes { raw in
                do throws(UnixSocketError) {
                    try connection.write(raw, collectingReplyInto: &reply)
                } catch {
                    writeFailure = error
                }
            }
            if var writeFailure {
                guard writeFailure.code == .connectionClosed, !noReply else { throw writeFailure }
                // The server closed before taking everything; its reply, if any, says why.
                try? connection.readToEnd(into: &reply)
                if let refusal = Acknowledgement.error(in: Message(bytes: reply.bytes), socket: path) { throw refusal }
                writeFailure.detail = "the server closed the connection before reading the whole message"
                throw writeFailure
            }
            try connection.closeWrite()
            if noReply { return }
            try connection.readToEnd(into: &reply)
            let received = Message(bytes: reply.bytes)
            printReply(received)
            switch expect {
            case .ack: try Acknowledgement.verify(received, sentCount: bytes.count, socket: address.description)
            case .any: if let error = Acknowledgement.error(in: received, socket: path) { throw error }
            }
        } catch {
            throw failure(error)
        }
    }
}
