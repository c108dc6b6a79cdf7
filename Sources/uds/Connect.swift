import ArgumentParser
import NIOCore
import SystemPackage
import UDSKit

struct Connect: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "connect",  // spelled out: deriving it from the type costs ~0.1 ms at start
        abstract: "Open an interactive framed session: each line typed is a frame, each frame received is printed.",
        discussion: """
            Like `nc -U`, but framed: every line you type is sent as one frame (4-byte big-endian length, \
            then the bytes), and every frame the server sends, replies and pushed messages alike, is printed \
            on its own line as it arrives. At the end of input uds waits --linger seconds for the last \
            replies, then closes.

              uds serve /tmp/app.sock --framed --reply echo &
              uds connect /tmp/app.sock

            With --seqpacket each line is one packet on a SOCK_SEQPACKET connection instead (empty lines are \
            skipped: an empty packet would read as the end of the connection).
            """
    )

    @OptionGroup var socket: SocketPath

    @Option(help: ArgumentHelp("Seconds to wait for frames after the end of input.", valueName: "seconds"))
    var linger: Duration = .milliseconds(500)

    @Flag(help: "Talk to a SOCK_SEQPACKET server (uds serve --seqpacket): each line one packet.")
    var seqpacket = false

    @OptionGroup var limits: ClientLimits

    func run() async throws {
        do {
            var configuration = FramedClient.Configuration()
            configuration.maximumFrameSize = limits.maxReply.value
            if let timeout = limits.timeout {
                configuration.connectTimeout = timeout
                configuration.requestTimeout = timeout
            }
            if seqpacket { configuration.socketType = .seqPacket }
            let client = try await FramedClient.connect(to: socket.address(), configuration: configuration)
            let printer = Task {
                for try await frame in client.incoming {
                    var line = frame.buffer
                    if line.readableBytesView.last != UInt8(ascii: "\n") { line.writeInteger(UInt8(ascii: "\n")) }
                    _ = try? line.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
                }
            }
            for await line in StandardInput.lines() {
                if seqpacket && line.isEmpty { continue }  // said in --help
                try await client.send(Message(line))
            }
            try await Task.sleep(for: linger)
            await client.closeGracefully()
            do {
                try await printer.value
            } catch let error as UnixSocketError where error.code == .connectionClosed {
                // the server closed first; nothing was lost on our side
            }
        } catch {
            throw failure(error)
        }
    }
}
