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

    @OptionGroup var socket: SocketPath

    @Argument(
        help: """
            The message. Without it, --file or standard input is sent. With --framed, --seqpacket or --datagram, \
            each MESSAGE, or else each line of standard input, is one message, and each reply is printed on its \
            own line.
            """)
    var messages: [String] = []

    @Flag(help: "The kind of socket; without one, a stream with one message per connection.")
    var transport: Transport?

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

    @OptionGroup var limits: ClientLimits

    var path: String { socket.path }

    func validate() throws {
        if !messages.isEmpty && file != nil { throw ValidationError("give MESSAGE or --file, not both") }
        guard let transport else {
            if messages.count > 1 {
                throw ValidationError(
                    "give one MESSAGE (quote it), or use --framed, --seqpacket or --datagram for several")
            }
            return
        }
        if transport == .seqpacket && messages.contains("") {
            throw ValidationError(
                "an empty MESSAGE cannot go as a packet: the server would read it as the end of the connection")
        }
        if !fd.isEmpty { throw ValidationError("--fd passes files with one message; not with \(transport.flag)") }
        if file != nil {
            throw ValidationError(
                "--file sends one message; with \(transport.flag), give MESSAGEs or lines on standard input")
        }
    }

    func run() async throws {
        do {
            switch transport {
            case .framed: try await runFramed()
            case .seqpacket: try await runSeqPacket()
            case .datagram: try await runDatagram()
            case nil: try await runOneMessage()
            }
        } catch {
            throw failure(error)
        }
    }

    private func runOneMessage() async throws {
        var configuration = MessageClient.Configuration()
        if let timeout = limits.timeout {
            configuration.connectTimeout = timeout
            configuration.replyTimeout = timeout
        }
        configuration.maximumReplySize = limits.maxReply.value
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
                let opened = try? SystemPackage.FileDescriptor.open(FilePath(name), .readOnly, options: [.closeOnExec])
            else { throw CommandLineFailure("cannot open \(name) to pass it with --fd") }
            passed.append(opened)
        }
        if !passed.isEmpty { outgoing = outgoing.passing(passed) }
        if noReply {
            try await client.post(outgoing)
            progress?.finish()
            return
        }
        switch expect {
        case .ack:
            let (sent, reply) = try await client.exchange(outgoing)
            progress?.finish()
            Self.printReply(reply)
            try Acknowledgement.verify(reply, sentCount: sent, socket: client.address.description)
        case .any:
            let reply = try await client.send(outgoing)
            progress?.finish()
            Self.printReply(reply)
            if let error = Acknowledgement.error(in: reply, socket: path) { throw error }
        }
    }

    private func runFramed() async throws {
        var configuration = FramedClient.Configuration()
        if let timeout = limits.timeout {
            configuration.connectTimeout = timeout
            configuration.requestTimeout = timeout
        }
        configuration.maximumFrameSize = limits.maxReply.value
        let client = try await FramedClient.connect(to: socket.address(), configuration: configuration)
        for await text in messageStream {
            let frame = Message(text)
            if noReply {
                try await client.send(frame)
                continue
            }
            try check(try await client.request(frame), sentCount: frame.count)
        }
        await client.closeGracefully()  // frames sent with --no-reply are only queued until now
    }

    static func printReply(_ reply: Message) {
        guard Acknowledgement.errorReason(in: reply) == nil else { return }  // said on stderr instead
        reply.buffer.withUnsafeReadableBytes { writeStandardOutput($0) }
    }
}
