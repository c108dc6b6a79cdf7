import Foundation

/// A program run by a test: its output captured to files, waited for with a time limit, killed if left running.
public final class ChildProcess: @unchecked Sendable {
    public let process = Process()
    private let stdoutURL: URL
    private let stderrURL: URL

    /// Starts `executable` with `arguments`. `stdin` is written to its standard input (then closed) when given.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: Data? = nil,
        currentDirectory: String? = nil
    ) throws {
        let id = UUID().uuidString
        stdoutURL = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("uds-test-\(id).out")
        stderrURL = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("uds-test-\(id).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let currentDirectory { process.currentDirectoryURL = URL(fileURLWithPath: currentDirectory) }
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        let input = Pipe()
        process.standardInput = stdin == nil ? FileHandle.nullDevice : input
        try runWithNoSignalsBlocked(process)
        if let stdin {
            try input.fileHandleForWriting.write(contentsOf: stdin)
            try input.fileHandleForWriting.close()
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The file that holds the program's standard output, for output too large to read as a string.
    public var stdoutPath: String { stdoutURL.path }

    /// Everything the program wrote to standard output so far.
    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// Everything the program wrote to standard error so far.
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the program.
    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the program to exit and returns its exit status; kills it and throws after `timeout` seconds
    /// (times ``sanitizerOverhead``: under AddressSanitizer, with the whole suite in parallel on two CPUs, a `uds`
    /// that had printed its usage error was once not seen to exit within 30 s).
    @discardableResult
    public func waitForExit(timeout: Double = 30) async throws -> Int32 {
        let limit = timeout * Double(sanitizerOverhead)
        guard try await eventually(timeout: limit, { !process.isRunning }) else {
            // "Z" says it exited and nobody has reaped it yet; "R" or "S" that it still runs.
            let state =
                (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                .split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "gone"
            kill(process.processIdentifier, SIGKILL)
            throw TestFailure(
                "\(process.executableURL!.lastPathComponent) did not exit within \(limit) s (process state \(state));"
                    + " stderr: \(stderr)")
        }
        return process.terminationStatus
    }

    /// Runs a program to its end and returns (status, stdout, stderr).
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: Data? = nil,
        timeout: Double = 30
    ) async throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, stdin: stdin)
        let status = try await child.waitForExit(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }
}

/// Starts `process` from a thread of its own that blocks no signals, so that the child can be stopped with SIGTERM
/// like one started from a shell.
///
/// Foundation's `Process` on Linux passes the spawning thread's signal mask on to the child, and the threads that run
/// Swift concurrency block nearly every signal: a child started from them ignores SIGTERM unless it unblocks it
/// itself (swift-corelibs-foundation issue 4772).
func runWithNoSignalsBlocked(_ process: Process) throws {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var failure: (any Error)?
    Thread.detachNewThread {
        var none = sigset_t()
        sigemptyset(&none)
        pthread_sigmask(SIG_SETMASK, &none, nil)
        do { try process.run() } catch { failure = error }
        done.signal()
    }
    done.wait()
    if let failure { throw failure }
}

/// A test's own failure with a message.
public struct TestFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Finds an executable on PATH (or in the usual system directories).
public func findExecutable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? ""
    for directory in path.split(separator: ":").map(String.init) + [
        "/usr/bin", "/usr/local/bin", "/usr/lib/go/bin", "/usr/local/go/bin",
    ] {
        let candidate = directory + "/" + name
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
}

/// Finds an executable a test needs, or throws: a test whose peer is missing must fail, not skip.
public func requireExecutable(_ name: String) throws -> String {
    guard let path = findExecutable(name) else {
        throw TestFailure("\(name) is not installed; run Scripts/test.sh, which installs the test peers")
    }
    return path
}
