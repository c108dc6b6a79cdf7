import CUDSKit
import SystemPackage

// A thin wrapper over posix_spawn(3), for `uds serve --exec` (and, through SpawnedProgram, the tests' ChildProcess), in
// the syscall layer because it is all C library calls. Hand-written because Foundation's `Process` cannot map extra
// descriptors into the child: `--exec` gives the command the descriptors a client passed as its fds 3, 4, 5, … (as
// systemd's LISTEN_FDS does), which takes a dup2 file action per descriptor.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

#if canImport(Darwin)
    private typealias FileActions = posix_spawn_file_actions_t?
    private typealias Attributes = posix_spawnattr_t?
#else
    private typealias FileActions = posix_spawn_file_actions_t
    private typealias Attributes = posix_spawnattr_t
#endif

/// A child process with a pipe on its standard input and one on its standard output; its standard error is ours.
///
/// The child starts with an empty signal mask and every signal's default disposition, whatever the spawning thread
/// blocks or the server ignores: a command started from a Swift concurrency thread (which blocks nearly every signal)
/// still stops on SIGTERM, and one that writes to a closed pipe gets SIGPIPE, as from a shell. (glibc's posix_spawn
/// leaves its two internal signals, 32 and 33, ignored.) It inherits no descriptor other than 0, 1, 2 and those
/// passed: every descriptor this wrapper opens is close-on-exec, and the child closes the rest from 3 + passed up.
package struct SpawnedProcess: Sendable {
    /// How the child ended.
    package enum Termination: Equatable, Sendable {
        case exited(CInt)
        case killed(signal: CInt)
    }

    package let pid: Int32
    /// The write end of the child's standard input; ``feed(_:)`` writes to it and closes it.
    private let input: FileDescriptor
    /// The read end of the child's standard output; ``drainOutput()`` reads it to the end and closes it.
    private let output: FileDescriptor

    /// Starts `executable` with `arguments` (the first is the child's `argv[0]`) and exactly `environment`.
    ///
    /// `passing[i]` becomes the child's descriptor `3 + i`; the caller keeps its own and closes them when it likes.
    ///
    /// - Throws: `Errno` when a pipe cannot be made or posix_spawn fails; no descriptor is left open then.
    package static func spawn(
        _ executable: String,
        arguments: [String],
        environment: [String],
        passing: [FileDescriptor] = []
    ) throws(Errno) -> SpawnedProcess {
        // The child's ends of the two pipes are closed here once it has them.
        let (stdinRead, stdinWrite) = try makePipe()
        defer { _ = close(stdinRead) }
        let stdoutRead: CInt
        let stdoutWrite: CInt
        do throws(Errno) {
            (stdoutRead, stdoutWrite) = try makePipe()
        } catch {
            _ = close(stdinWrite)
            throw error
        }
        defer { _ = close(stdoutWrite) }
        do throws(Errno) {
            let pid = try spawn(
                executable, arguments, environment,
                giving: [stdinRead, stdoutWrite] + passing.map(\.rawValue),
                as: [0, 1] + passing.indices.map { 3 + CInt($0) }, inheriting: [2])
            return SpawnedProcess(
                pid: pid, input: FileDescriptor(rawValue: stdinWrite), output: FileDescriptor(rawValue: stdoutRead))
        } catch {
            _ = close(stdinWrite)
            _ = close(stdoutRead)
            throw error
        }
    }

    /// Writes `bytes` to the child's standard input, then closes it. A child that exits or closes its input early
    /// is not an error: the rest is dropped. Blocks; call it once, on a thread of its own, while another drains the
    /// output, or a child that answers before reading all its input deadlocks with us.
    package func feed(_ bytes: [UInt8]) {
        Self.writeAll(bytes, to: input)
        try? input.close()
    }

    /// Reads the child's standard output until it closes it, then closes our end. Blocks; call it once.
    package func drainOutput() -> [UInt8] {
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = (try? chunk.withUnsafeMutableBytes { try self.output.read(into: $0) }) ?? 0
            if count == 0 { break }
            output += chunk[..<count]
        }
        try? self.output.close()
        return output
    }

    /// Waits for the child to end and reaps it. Blocks; call it once.
    package func wait() -> Termination {
        Self.wait(for: pid)
    }

    // MARK: System calls, shared with SpawnedProgram

    /// A pipe, both ends close-on-exec: (read end, write end).
    static func makePipe() throws(Errno) -> (CInt, CInt) {
        var ends: [CInt] = [-1, -1]
        guard cudskit_pipe_cloexec(&ends) == 0 else { throw Errno(rawValue: errno) }
        return (ends[0], ends[1])
    }

    /// A close-on-exec duplicate of `fd` numbered `minimum` or more (`F_DUPFD_CLOEXEC`).
    private static func duplicate(_ fd: CInt, atLeast minimum: CInt) throws(Errno) -> CInt {
        let copy = fcntl(fd, F_DUPFD_CLOEXEC, minimum)
        guard copy >= 0 else { throw Errno(rawValue: errno) }
        return copy
    }

    /// Writes all of `bytes` to `fd` (a pipe), retrying partial writes and EINTR; stops at the first error, EPIPE from
    /// a reader that is gone among them, without the SIGPIPE whose default action would end this process.
    static func writeAll(_ bytes: [UInt8], to fd: FileDescriptor) {
        #if canImport(Darwin)
            _ = fcntl(fd.rawValue, F_SETNOSIGPIPE, 1)
            _ = try? bytes.withUnsafeBytes { try fd.writeAll($0) }
        #else
            // Blocked on this thread, a SIGPIPE from these writes stays pending (the write returns EPIPE); it is taken
            // off before the thread's mask is restored, unless the thread already blocked it.
            var pipeSignal = sigset_t()
            sigemptyset(&pipeSignal)
            sigaddset(&pipeSignal, SIGPIPE)
            var previous = sigset_t()
            pthread_sigmask(SIG_BLOCK, &pipeSignal, &previous)
            _ = try? bytes.withUnsafeBytes { try fd.writeAll($0) }
            var pending = sigset_t()
            sigpending(&pending)
            if sigismember(&previous, SIGPIPE) == 0 && sigismember(&pending, SIGPIPE) == 1 {
                var noWait = timespec()
                while sigtimedwait(&pipeSignal, nil, &noWait) == -1 && errno == EINTR {}
            }
            pthread_sigmask(SIG_SETMASK, &previous, nil)
        #endif
    }

    /// Waits for child `pid` to end and reaps it. Blocks.
    static func wait(for pid: pid_t) -> Termination {
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return Termination(waitStatus: status)
    }

    /// Reaps child `pid` if it has ended, without waiting (`WNOHANG`): how it ended, or `nil` while it runs.
    ///
    /// - Throws: `Errno` from waitpid: `ECHILD` when it is no child of ours or was reaped already.
    static func reapIfEnded(_ pid: pid_t) throws(Errno) -> Termination? {
        var status: CInt = 0
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { return Termination(waitStatus: status) }
            if reaped == 0 { return nil }
            if errno != EINTR { throw Errno(rawValue: errno) }
        }
    }

    /// posix_spawn with `sources[i]` as the child's descriptor `targets[i]` and `inheriting` as they are here (standard
    /// error, for `--exec`), started in `directory` when given, with an empty signal mask and default signal
    /// dispositions. The child closes every other descriptor.
    static func spawn(
        _ executable: String,
        _ arguments: [String],
        _ environment: [String],
        giving sources: [CInt],
        as targets: [CInt],
        inheriting: [CInt] = [],
        directory: String? = nil
    ) throws(Errno) -> pid_t {
        // Every source is first duplicated at or above `firstFree`, past all the targets: then no dup2 target is also
        // a source that a dup2 before it overwrote, and no dup2 has equal numbers (which would leave close-on-exec set
        // on the target). The duplicates are closed once the child has them.
        let firstFree = ((targets + inheriting).max() ?? -1) + 1
        var raised: [CInt] = []
        defer { for fd in raised { _ = close(fd) } }
        for source in sources { raised.append(try duplicate(source, atLeast: firstFree)) }

        var actions = FileActions()
        var result = posix_spawn_file_actions_init(&actions)  // these return the error number; errno is unset
        guard result == 0 else { throw Errno(rawValue: result) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (source, target) in zip(raised, targets) {
            // dup2 clears close-on-exec on the target (source and target always differ: see above).
            result = posix_spawn_file_actions_adddup2(&actions, source, target)
            guard result == 0 else { throw Errno(rawValue: result) }
        }
        #if canImport(Darwin)
            // POSIX_SPAWN_CLOEXEC_DEFAULT (below) closes every descriptor no action names, standard error too.
            for fd in inheriting {
                result = posix_spawn_file_actions_addinherit_np(&actions, fd)
                guard result == 0 else { throw Errno(rawValue: result) }
            }
        #else
            // Close-on-exec covers every descriptor we open; this also closes the ones this process inherited without
            // it (from its own parent). Not on glibc before 2.34 (ENOSYS): there close-on-exec is all there is.
            result = cudskit_spawn_close_from(&actions, firstFree)
            guard result == 0 || result == ENOSYS else { throw Errno(rawValue: result) }
        #endif
        if let directory {
            result = cudskit_spawn_chdir(&actions, directory)
            guard result == 0 else { throw Errno(rawValue: result) }
        }

        var attributes = Attributes()
        result = posix_spawnattr_init(&attributes)
        guard result == 0 else { throw Errno(rawValue: result) }
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var allSignals = sigset_t()
        sigfillset(&allSignals)
        posix_spawnattr_setsigdefault(&attributes, &allSignals)
        var flags = CInt(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)
        #if canImport(Darwin)
            flags |= CInt(POSIX_SPAWN_CLOEXEC_DEFAULT)
        #endif
        posix_spawnattr_setflags(&attributes, Int16(flags))

        let argv = arguments.map { strdup($0) } + [nil]
        let envp = environment.map { strdup($0) } + [nil]
        defer { for string in argv + envp { free(string) } }
        var pid: pid_t = 0
        result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw Errno(rawValue: result) }
        return pid
    }
}

extension SpawnedProcess.Termination {
    /// How a child ended, from the status waitpid gave. (WIFEXITED, WEXITSTATUS and WTERMSIG are macros Swift does not
    /// import: the low 7 bits are the signal that ended the child, 0 if it exited; its exit status is the next 8.)
    init(waitStatus status: CInt) {
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .killed(signal: signal)
    }
}
