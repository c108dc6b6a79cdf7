import ArgumentParser
import NIOCore
import SystemPackage
import UDSKit

struct Send: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",  // spelled out: deriving it from the type costs ~0.1 ms at start
        abstract: "Send one message to a socket and print the reply.",
        discussion: """
            The message is MESSAGE, or the contents of --file, or else standard input; files and standard \
            input are streamed, whatever their size. uds connects, writes the message, closes its side, and \
            prints the server's reply. It exits 0 once the reply acknowledges every byte sent (the count and \
            a newline); with --expect any, once any reply that is not an error reply has arrived.

              uds send /tmp/app.sock 'hello'
              uds send /tmp/app.sock --file backup.tar
              date | uds send /tmp/app.sock
              uds send /tmp/app.sock --no-reply 'fire and forget'
            """
    )

    enum Expectation: String, ExpressibleByArgument, CaseIterable {
        case ack, any
    }

    @Argument(help: "The server's socket file (or @name for a Linux abstract name).")
    var path: String

    @Argument(
        help: "The message. Without it, --file or standard input is sent. With --framed, each MESSAGE is a frame.")
    var messages: [String] = []

    @Flag(
        help:
            "Send frames on one persistent connection: each MESSAGE, or else each line of standard input, is a frame; each reply is printed on its own line."
    )
    var framed = false

    @Flag(
        help:
            "Send packets on one SOCK_SEQPACKET connection: each MESSAGE, or else each line of standard input, is a packet; each reply is printed on its own line."
    )
    var seqpacket = false

    @Flag(
        help:
            "Send datagrams (SOCK_DGRAM) from a socket the server can answer: each MESSAGE, or else each line of standard input, is one; each reply is printed on its own line."
    )
    var datagram = false

    @Option(name: .shortAndLong, help: ArgumentHelp("Send the contents of this file.", valueName: "file"))
    var file: String?

    @Option(
        help:
            "What counts as success: ack (a reply stating the number of bytes sent) or any reply that is not an error.")
    var expect: Expectation = .ack

    @Option(
        help: ArgumentHelp(
            "Pass this file, opened for reading, to the server with the message (SCM_RIGHTS); repeatable.",
            valueName: "file"))
    var fd: [String] = []

    @Flag(help: "Do not wait for a reply: exit once the message is written (fire and forget).")
    var noReply = false

    @Option(help: ArgumentHelp("Seconds to wait for the connection and for the reply.", valueName: "seconds"))
    var timeout: Double?

    @Option(help: ArgumentHelp("Largest reply accepted.", valueName: "size"))
    var maxReply: ByteCount = ByteCount(Send.defaultMaximumReply)

    func validate() throws {
        if !messages.isEmpty && file != nil { throw ValidationError("give MESSAGE or --file, not both") }
        let messageMode = framed ? "--framed" : seqpacket ? "--seqpacket" : datagram ? "--datagram" : nil
        if [framed, seqpacket, datagram].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --framed, --seqpacket and --datagram")
        }
        if messages.count > 1 && messageMode == nil {
            throw ValidationError("give one MESSAGE (quote it), or use --framed, --seqpacket or --datagram for several")
        }
        if seqpacket && messages.contains("") {
            throw ValidationError(
                "an empty MESSAGE cannot go as a packet: the server would read it as the end of the connection")
        }
        if let messageMode, !fd.isEmpty {
            throw ValidationError("--fd passes files with one message; not with \(messageMode)")
        }
        if let messageMode, file != nil {
            throw ValidationError(
                "--file sends one message; with \(messageMode), give MESSAGEs or lines on standard input")
        }
        if let timeout, timeout <= 0 { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        if framed { return try await runFramed() }
        if seqpacket { return try await runSeqPacket() }
        if datagram { return try await runDatagram() }
        do {
            var configuration = MessageClient.Configuration()
            if let timeout {
                configuration.connectTimeout = .milliseconds(Int64(timeout * 1000))
                configuration.replyTimeout = .milliseconds(Int64(timeout * 1000))
            }
            configuration.maximumReplySize = maxReply.value
            let progress = ProgressLine(total: file.flatMap { (try? Stat(FilePath($0))).map { Int($0.size) } })
            if let progress, messages.isEmpty { configuration.onProgress = { progress.update($0) } }
            let client = try MessageClient(path: path, configuration: configuration)
            var outgoing: OutgoingMessage
            if let message = messages.first {
                outgoing = .bytes(Message(message))
            } else if let file {
                outgoing = .file(FilePath(file))
            } else {
                outgoing = .file("/dev/stdin")
            }
            var passed: [SystemPackage.FileDescriptor] = []
            defer { for descriptor in passed { try? descriptor.close() } }
            for name in fd {
                guard
                    let opened = try? SystemPackage.FileDescriptor.open(
                        FilePath(name), .readOnly, options: [.closeOnExec])
                else {
                    printError("uds: cannot open \(name) to pass it with --fd")
                    throw ExitCode(ExitStatus.failure)
                }
                passed.append(opened)
            }
            if !passed.isEmpty { outgoing = outgoing.passing(passed) }
            if noReply {
                try await client.post(outgoing)
                progress?.finish()
                return
            }
            let reply: Message
            switch expect {
            case .ack:
                let (sent, received) = try await client.exchange(outgoing)
                progress?.finish()
                reply = received
                Self.printReply(reply)
                try Acknowledgement.verify(reply, sentCount: sent, socket: client.address.description)
            case .any:
                reply = try await client.send(outgoing)
                progress?.finish()
                Self.printReply(reply)
                if let error = Acknowledgement.error(in: reply, socket: path) { throw error }
            }
        } catch {
            throw failure(error)
        }
    }

    private func runFramed() async throws {
        do {
            var configuration = FramedClient.Configuration()
            if let timeout {
                configuration.connectTimeout = .milliseconds(Int64(timeout * 1000))
                configuration.requestTimeout = .milliseconds(Int64(timeout * 1000))
            }
            configuration.maximumFrameSize = maxReply.value
            let client = try await FramedClient.connect(to: UnixSocketAddress(path), configuration: configuration)
            let frames: AsyncStream<String> =
                messages.isEmpty
                ? StandardInput.lines()
                : AsyncStream { continuation in
                    for message in messages { continuation.yield(message) }
                    continuation.finish()
                }
            for await text in frames {
                let frame = Message(text)
                if noReply {
                    try await client.send(frame)
                    continue
                }
                let reply = try await client.request(frame)
                if let error = Acknowledgement.error(in: reply, socket: path) { throw error }
                var line = reply.buffer
                if line.readableBytesView.last != UInt8(ascii: "\n") { line.writeInteger(UInt8(ascii: "\n")) }
                _ = try? line.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
                if expect == .ack {
                    try Acknowledgement.verify(reply, sentCount: frame.count, socket: path)
                }
            }
            await client.closeGracefully()  // frames sent with --no-reply are only queued until now
        } catch {
            throw failure(error)
        }
    }

    static func printReply(_ reply: Message) {
        guard Acknowledgement.errorReason(in: reply) == nil else { return }  // said on stderr instead
        reply.buffer.withUnsafeReadableBytes { writeStandardOutput($0) }
    }
}
