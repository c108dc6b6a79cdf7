import Logging
import SystemPackage
import UDSKit

/// A command run with `/bin/sh -c` once per message: the message on its standard input, its standard output the
/// reply, its standard error passed through to ours.
///
/// Descriptors the client passed with the message (`SCM_RIGHTS`) are the command's fds 3, 4, 5, … (the systemd
/// `LISTEN_FDS` convention), and `UDS_FDS` in its environment says how many (0 when none).
struct ShellCommand: Sendable {
    let command: String

    init(_ command: String) { self.command = command }

    /// Runs the command with `input` and `descriptors`; returns its output. The descriptors stay the caller's.
    ///
    /// - Throws: ``MessageRejection`` when it cannot start or exits non-zero (the client gets that as an error reply).
    func run(input: Message, descriptors: [ReceivedDescriptor] = [], logger: Logger) async throws -> Message {
        let environment =
            Syscall.environmentEntries().filter { !$0.hasPrefix("UDS_FDS=") } + [
                "UDS_FDS=\(descriptors.count)"
            ]
        let child: SpawnedProcess
        do {
            // The raw descriptors are valid while `descriptors` lives: keep it alive until the child has its copies.
            child = try withExtendedLifetime(descriptors) {
                try SpawnedProcess.spawn(
                    "/bin/sh", arguments: ["sh", "-c", command], environment: environment,
                    passing: descriptors.map(\.descriptor))
            }
        } catch {
            logger.warning("command failed to start", metadata: ["uds.command": "\(command)", "uds.error": "\(error)"])
            throw MessageRejection("the command could not be started")
        }
        let bytes = input.bytes
        // Feed stdin and drain stdout on threads of their own: either pipe filling up must not block the other.
        async let written: Void = DetachedThread.run { child.feed(bytes) }
        async let output = DetachedThread.run { child.drainOutput() }
        let reply = await output
        await written
        let how: String
        switch await DetachedThread.run({ child.wait() }) {
        case .exited(0): return Message(bytes: reply)
        case .exited(let status): how = "exited with status \(status)"
        case .killed(let signal): how = "was killed by signal \(signal)"
        }
        logger.warning("command \(how)", metadata: ["uds.command": "\(command)"])
        throw MessageRejection("the command \(how)")
    }
}
