import ArgumentParser
import Glibc

@main
struct UDS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uds",
        abstract: "Send and serve messages over Unix domain sockets.",
        discussion: """
            A server listens on a socket file; a client connects, sends one message (every byte until it \
            closes its side), and gets one reply. By default the reply is an acknowledgement: the number of \
            bytes received, then a newline, so the sender knows the whole message arrived.

              uds serve /tmp/app.sock                  # print each message, acknowledge it
              uds send /tmp/app.sock 'hello'           # prints 5, exits 0 once acknowledged
              uds serve /tmp/up.sock --exec 'tr a-z A-Z' --reply echo
              uds send /tmp/up.sock --expect any hi    # prints HI

            --framed keeps a connection open for any number of length-prefixed frames; --seqpacket does the same \
            with SOCK_SEQPACKET packets (no prefix); --datagram sends and receives SOCK_DGRAM datagrams.

            Exit codes:
              0   success (the message was acknowledged, or the server shut down cleanly)
              1   any other failure
              2   the message was not acknowledged: the server replied with an error or another count
              3   no server is listening on the path (no socket file, or a stale one)
              4   permission denied on the socket or its directory
              5   timed out
              6   the path is taken: a live server listens there, it is not a socket, or a socket of another type
              64  the command line is wrong
            """,
        version: "0.1.0",
        subcommands: [Serve.self, Send.self, Connect.self, Probe.self, Bench.self, VarlinkCommand.self]
    )

    /// Parses the command line and runs the command. `uds send` of one MESSAGE runs on the main thread with blocking
    /// calls and starts no thread (a shell loop pays for each process), and `uds send PATH MESSAGE` with no option
    /// skips ArgumentParser too; every other command runs as a task, while the main thread waits for signals (as
    /// `dispatch_main` would, without unwinding it) until the command exits.
    static func main() {
        if let (path, message) = Send.plainSend() {
            do { try Send.sendBlocking(path: path, message: message) } catch { exit(withError: error) }
            exit()
        }
        let command: any ParsableCommand
        do { command = try parseAsRoot() } catch { exit(withError: error) }
        if let send = command as? Send, send.runsBlocking {
            do { try send.runBlocking() } catch { exit(withError: error) }
            exit()
        }
        runAsTask(command)
    }

    /// Runs `command` in a detached task and keeps the main thread waiting until the command exits the process.
    /// Not inlined: its `Task` metadata would be looked up by name at the start of every `uds send` (4% of one).
    @inline(never)
    private static func runAsTask(_ command: any ParsableCommand) -> Never {
        let parsed = ParsedCommand(command: command)
        Task.detached {
            do {
                var command = parsed.command
                if var asyncCommand = command as? any AsyncParsableCommand {
                    try await asyncCommand.run()
                } else {
                    try command.run()
                }
            } catch {
                exit(withError: error)
            }
            exit()
        }
        while true { pause() }
    }
}

/// The parsed command, handed once from the main thread to the task that runs it.
private struct ParsedCommand: @unchecked Sendable {
    var command: any ParsableCommand
}
