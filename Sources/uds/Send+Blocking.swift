import SystemPackage
import UDSKit

/// `uds send PATH MESSAGE` on the calling thread, with blocking calls: the one-shot send a shell loop runs, made
/// without the concurrency runtime, so the process starts no thread (``UDS/main()``). Same protocol, limits, timeouts,
/// output and exit codes as the `async` path through ``MessageClient``.
extension Send {
    /// The largest reply `--max-reply` accepts by default: 64 MiB.
    static let defaultMaximumReply = 64 * 1024 * 1024

    /// Writes `bytes` to standard output; a failure (a closed pipe) is ignored, as for any reply printed. A loop
    /// over the plain `write`: swift-system's generic `writeAll` instantiates its types by mangled name at run time,
    /// which scans the binary's conformance records (6% of a one-shot send).
    static func writeStandardOutput(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes
        while !rest.isEmpty, let written = try? FileDescriptor.standardOutput.write(rest), written > 0 {
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
    }

    /// Whether this send is one MESSAGE from the command line over a stream (no --file, standard input, --fd,
    /// --framed, --seqpacket or --datagram), which ``runBlocking()`` makes.
    var runsBlocking: Bool {
        messages.count == 1 && file == nil && fd.isEmpty && transport == nil
    }

    /// The socket path and message of a command line that is exactly `send PATH MESSAGE` with no option (no
    /// argument starts with `-`), which needs no parsing: ArgumentParser's parse is 40% of such a process's time
    /// (it reflects over every property of the command with `Mirror`). Read from `argv` itself: building
    /// `CommandLine.arguments` looks up `[String]`'s metadata by name (4% of a send). `nil` for any other command line.
    static func plainSend() -> (path: String, message: String)? {
        let argv = CommandLine.unsafeArgv
        guard CommandLine.argc == 4, let verb = argv[1], let path = argv[2], let message = argv[3],
            String(cString: verb) == "send"
        else { return nil }
        let arguments = (path: String(cString: path), message: String(cString: message))
        guard !arguments.path.hasPrefix("-"), !arguments.message.hasPrefix("-") else { return nil }
        return arguments
    }

    /// Runs this send (``runsBlocking`` must hold) as ``run()`` would.
    func runBlocking() throws {
        try Self.sendBlocking(
            path: path, message: messages[0], timeout: limits.timeout, maximumReply: limits.maxReply.value,
            expect: expect,
            noReply: noReply)
    }

    /// Connects, writes `message` (taking what the server answers meanwhile), half-closes, reads the reply, prints
    /// it and checks it.
    ///
    /// - Throws: an `ExitCode`, once the reason is printed on standard error.
    static func sendBlocking(
        path: String, message: String, timeout: Duration? = nil, maximumReply: Int = defaultMaximumReply,
        expect: Expectation = .ack, noReply: Bool = false
    ) throws {
        do {
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
            do {
                try bytes.withUnsafeBytes { try connection.write($0, collectingReplyInto: &reply) }
            } catch let error as UnixSocketError {
                writeFailure = error
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
            var readFailure: UnixSocketError?
            do {
                try connection.readToEnd(into: &reply)
            } catch let error as UnixSocketError {
                readFailure = error
            }
            // A server that refuses a message replies with an error line and closes while bytes of ours are still
            // unread, which reaches us as a reset after that line: the line is the reply then.
            if let readFailure,
                readFailure.code != .connectionClosed || reply.bytes.last != UInt8(ascii: "\n")
                    || Acknowledgement.errorReason(in: Message(bytes: reply.bytes)) == nil
            {
                throw readFailure
            }
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
