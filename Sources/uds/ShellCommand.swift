import Foundation
import Logging
import UDSKit

/// A command run with `/bin/sh -c` once per message: the message on its standard input, its standard output the
/// reply, its standard error passed through to ours.
struct ShellCommand: Sendable {
    let command: String

    init(_ command: String) { self.command = command }

    /// Runs the command with `input`; returns its output.
    ///
    /// - Throws: ``MessageRejection`` when it cannot start or exits non-zero (the client gets that as an error reply).
    func run(input: Message, logger: Logger) async throws -> Message {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        do {
            try await Self.runWithNoSignalsBlocked(process)
        } catch {
            logger.warning("command failed to start", metadata: ["uds.command": "\(command)", "uds.error": "\(error)"])
            throw MessageRejection("the command could not be started")
        }
        let bytes = input.bytes
        // Feed stdin and drain stdout on threads of their own: either pipe filling up must not block the other.
        async let written: Void = Self.onThread {
            try? stdin.fileHandleForWriting.write(contentsOf: bytes)  // EPIPE if the command ignores its input
            try? stdin.fileHandleForWriting.close()
        }
        async let output = Self.onThread { stdout.fileHandleForReading.readDataToEndOfFile() }
        let data = await output
        await written
        await Self.onThread { process.waitUntilExit() }
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            let how = process.terminationReason == .exit
                ? "exited with status \(process.terminationStatus)"
                : "was killed by signal \(process.terminationStatus)"
            logger.warning("command \(how)", metadata: ["uds.command": "\(command)"])
            throw MessageRejection("the command \(how)")
        }
        return Message(bytes: data)
    }

    /// Starts `process` from a thread that blocks no signals. Foundation's `Process` passes the spawning thread's
    /// signal mask to the child, and Swift concurrency threads block nearly all signals: a command started from one
    /// would ignore SIGTERM and SIGINT (swift-corelibs-foundation issue 4772).
    private static func runWithNoSignalsBlocked(_ process: Process) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread.detachNewThread {
                var none = sigset_t()
                sigemptyset(&none)
                pthread_sigmask(SIG_SETMASK, &none, nil)
                continuation.resume(with: Result { try process.run() })
            }
        }
    }

    private static func onThread<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread { continuation.resume(returning: body()) }
        }
    }
}
