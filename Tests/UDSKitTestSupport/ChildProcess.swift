import Foundation
import UDSKit

/// A program run by a test: its output captured to files, waited for with a time limit, killed if left running.
///
/// Started with posix_spawn (UDSKit's `SpawnedProgram`), not Foundation's `Process`, whose `run()` on Linux walks
/// every descriptor number up to the highest open one and once crashed there while other tests opened and closed
/// descriptors by the thousand. The program starts with no signal blocked or ignored, as from a shell, and inherits
/// no descriptor but 0, 1 and 2.
public final class ChildProcess: @unchecked Sendable {
    /// How a program ended.
    public enum Termination: Equatable, Sendable {
        /// It exited with this status.
        case exited(Int32)
        /// A signal ended it.
        case killed(signal: Int32)
    }

    public let pid: Int32
    private let program: SpawnedProgram
    private let name: String
    private let stdoutURL: URL
    private let stderrURL: URL
    private let lock = NSLock()
    /// How the program ended, once reaped (or why it could not be); guarded by `lock`.
    private var outcome: Result<Termination, any Error>?

    /// Starts `executable` (a path, or a name looked up on PATH) with `arguments`. `environment` is merged into this
    /// process's own; `stdin` is written to the program's standard input (then closed) when given, which otherwise
    /// reads `/dev/null`.
    public init(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String]? = nil,
        stdin: Data? = nil,
        currentDirectory: String? = nil
    ) throws {
        let id = UUID().uuidString
        let temporary = URL(fileURLWithPath: NSTemporaryDirectory())
        stdoutURL = temporary.appendingPathComponent("uds-test-\(id).out")
        stderrURL = temporary.appendingPathComponent("uds-test-\(id).err")
        let path = Self.resolve(executable)
        name = URL(fileURLWithPath: path).lastPathComponent
        var variables = ProcessInfo.processInfo.environment
        if let environment { variables.merge(environment) { $1 } }
        do {
            program = try SpawnedProgram.spawn(
                path, arguments: [path] + arguments, environment: variables.map { "\($0.key)=\($0.value)" },
                input: stdin == nil ? .nullDevice : .pipe, outputFile: stdoutURL.path, errorFile: stderrURL.path,
                directory: currentDirectory)
        } catch {
            try? FileManager.default.removeItem(at: stdoutURL)
            try? FileManager.default.removeItem(at: stderrURL)
            throw TestFailure("cannot start \(path): \(error)")
        }
        pid = program.pid
        if let stdin { program.feed([UInt8](stdin)) }
    }

    /// Kills a program still running and reaps it, so that no zombie is left; removes the output files.
    deinit {
        if outcome == nil {
            program.signal(SIGKILL)
            _ = program.wait()
        }
        try? FileManager.default.removeItem(at: stdoutURL)
        try? FileManager.default.removeItem(at: stderrURL)
    }

    /// How the program ended, or `nil` while it runs. The first call to see it ended reaps it.
    public var termination: Termination? {
        try? reaped()?.get()
    }

    /// Whether the program still runs (it is not reaped yet).
    public var isRunning: Bool { reaped() == nil }

    /// The program's outcome once it ended: reaps it the first time, then remembers.
    private func reaped() -> Result<Termination, any Error>? {
        lock.lock()
        defer { lock.unlock() }
        if outcome == nil {
            do {
                switch try program.reapIfEnded() {
                case .exited(let status): outcome = .success(.exited(status))
                case .killed(let signal): outcome = .success(.killed(signal: signal))
                case nil: break
                }
            } catch {
                outcome = .failure(error)
            }
        }
        return outcome
    }

    /// The file that holds the program's standard output, for output too large to read as a string.
    public var stdoutPath: String { stdoutURL.path }

    /// Everything the program wrote to standard output so far.
    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// Everything the program wrote to standard error so far.
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Sends `signal` to the program, unless it has been reaped (its pid may be another process's by then).
    public func signal(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if outcome == nil { program.signal(signal) }
    }

    /// Waits for the program to end and returns its exit status, or the number of the signal that killed it (see
    /// ``termination`` to tell which); kills it and throws after `timeout` seconds (times ``sanitizerOverhead``:
    /// under AddressSanitizer, with the whole suite in parallel on two CPUs, a `uds` that had printed its usage error
    /// was once not seen to exit within 30 s).
    @discardableResult
    public func waitForExit(timeout: Double = 30) async throws -> Int32 {
        let limit = timeout * Double(sanitizerOverhead)
        guard try await eventually(timeout: limit, { !isRunning }) else {
            // "Z" says it exited and nobody has reaped it yet; "R" or "S" that it still runs.
            let state =
                (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8))?
                .split(separator: ")").last?.split(separator: " ").first.map(String.init) ?? "gone"
            signal(SIGKILL)
            throw TestFailure(
                "\(name) did not exit within \(limit) s (process state \(state)); stderr: \(stderr)")
        }
        switch reaped() {
        case .success(.exited(let status)): return status
        case .success(.killed(let signal)): return signal
        case .failure(let error): throw TestFailure("waitpid \(pid) (\(name)): \(error)")
        case nil: preconditionFailure("not running, so reaped")
        }
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

    /// `executable` as an absolute path: a bare name is looked up on PATH, a relative path taken from the current
    /// directory (posix_spawn would take it from the program's working directory).
    private static func resolve(_ executable: String) -> String {
        if executable.hasPrefix("/") { return executable }
        if !executable.contains("/") { return findExecutable(executable) ?? executable }
        return FileManager.default.currentDirectoryPath + "/" + executable
    }
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

/// Whether process `pid` is `sleep` and blocked in its sleep (`/proc/PID/comm` and `/proc/PID/wchan`). A test that
/// inspects a child's descriptors waits for this: `comm` says `sleep` from the exec on, while `sleep` may still be
/// opening files of its own (the locale's, for one) that would look inherited.
public func isAsleep(_ pid: Int32) -> Bool {
    (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) == "sleep\n"
        && (try? String(contentsOfFile: "/proc/\(pid)/wchan", encoding: .utf8))?.contains("nanosleep") == true
}
