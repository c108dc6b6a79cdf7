import SystemPackage

// posix_spawn(3) for the tests' ChildProcess, beside the `--exec` one it shares its code with. Foundation's `Process`
// on Linux walks every descriptor number up to the highest open one to close each in the child, and crashed doing so
// (a memcpy in Process.run) while other tests in the same process opened and closed descriptors by the thousand.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A child process whose standard output and standard error go to files and whose standard input is empty or a pipe
/// we write to: a program a test runs.
///
/// Like ``SpawnedProcess``, the child starts with an empty signal mask and every signal's default disposition, and
/// inherits no descriptor other than 0, 1 and 2. Reap it once, with ``reapIfEnded()`` or ``wait()``; after that its
/// pid may name another process, so signal it no more.
package struct SpawnedProgram: Sendable {
    /// Where the child's standard input comes from.
    package enum Input: Sendable {
        /// `/dev/null`: the child reads end of file at once.
        case nullDevice
        /// A pipe whose write end is ``SpawnedProgram/input``.
        case pipe
    }

    package let pid: Int32
    /// The write end of the child's standard input when it was spawned with ``Input/pipe``: ``feed(_:)`` writes to it
    /// and closes it.
    private let input: FileDescriptor?

    /// Starts `executable` (a path; PATH is not searched) with `arguments` (the first is the child's `argv[0]`) and
    /// exactly `environment` (`NAME=value` strings), its standard output and standard error written to the files
    /// `outputFile` and `errorFile` (created or truncated, mode 0644), in `directory` when given.
    ///
    /// - Throws: `Errno` when a file, `/dev/null` or the pipe cannot be opened, or posix_spawn fails (`ENOSYS` for a
    ///   `directory` where the C library cannot set one); no descriptor is left open then.
    package static func spawn(
        _ executable: String,
        arguments: [String],
        environment: [String],
        input: Input,
        outputFile: String,
        errorFile: String,
        directory: String? = nil
    ) throws(Errno) -> SpawnedProgram {
        var childSide: [CInt] = []  // our copies of what the child gets, closed once it has them
        defer { for fd in childSide { _ = close(fd) } }
        var writeEnd: CInt?
        do throws(Errno) {
            switch input {
            case .nullDevice:
                childSide.append(try openForChild("/dev/null", O_RDONLY))
            case .pipe:
                let (read, write) = try SpawnedProcess.makePipe()
                childSide.append(read)
                writeEnd = write
            }
            childSide.append(try openForChild(outputFile, O_WRONLY | O_CREAT | O_TRUNC))
            childSide.append(try openForChild(errorFile, O_WRONLY | O_CREAT | O_TRUNC))
            let pid = try SpawnedProcess.spawn(
                executable, arguments, environment, giving: childSide, as: [0, 1, 2], directory: directory)
            return SpawnedProgram(pid: pid, input: writeEnd.map(FileDescriptor.init(rawValue:)))
        } catch {
            if let writeEnd { _ = close(writeEnd) }
            throw error
        }
    }

    /// Writes `bytes` to the child's standard input (all of them, over partial writes and EINTR), then closes it. A
    /// child that exits or closes its input early is not an error and raises no SIGPIPE here: the rest is dropped.
    /// Blocks until the child has read all but what the pipe holds. Call it once, and only after spawning with
    /// ``Input/pipe``.
    package func feed(_ bytes: [UInt8]) {
        guard let input else { preconditionFailure("feed(_:) needs a child spawned with input: .pipe") }
        SpawnedProcess.writeAll(bytes, to: input)
        try? input.close()
    }

    /// Reaps the child if it has ended, without waiting: how it ended, or `nil` while it runs.
    ///
    /// - Throws: `Errno` from waitpid: `ECHILD` when it was reaped already (by this call, or by the kernel where this
    ///   process ignores SIGCHLD).
    package func reapIfEnded() throws(Errno) -> SpawnedProcess.Termination? {
        try SpawnedProcess.reapIfEnded(pid)
    }

    /// Waits for the child to end and reaps it. Blocks.
    package func wait() -> SpawnedProcess.Termination {
        SpawnedProcess.wait(for: pid)
    }

    /// Sends `signal` to the child (`kill(2)`); an error (the child is gone) is ignored.
    package func signal(_ signal: CInt) {
        _ = kill(pid, signal)
    }

    /// `path` opened with `flags`, close-on-exec.
    private static func openForChild(_ path: String, _ flags: CInt) throws(Errno) -> CInt {
        while true {
            let fd = open(path, flags | O_CLOEXEC, 0o644)
            if fd >= 0 { return fd }
            if errno != EINTR { throw Errno(rawValue: errno) }
        }
    }
}
