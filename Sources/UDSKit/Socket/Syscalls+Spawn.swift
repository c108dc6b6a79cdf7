import CUDSKit
import SystemPackage

// A thin wrapper over posix_spawn(3), for `uds serve --exec`, in the syscall layer because it is all C library calls.
// Hand-written because Foundation's `Process` cannot map extra descriptors into the child: `--exec` gives the command
// the descriptors a client passed as its fds 3, 4, 5, … (as systemd's LISTEN_FDS does), which takes a dup2 file
// action per descriptor.
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
        // Every descriptor that goes to the child is first duplicated at or above `firstFree`, past all the numbers
        // the child gets (0 to 2 + passing.count): then no dup2 target is also a source that a dup2 before it
        // overwrote, and no dup2 has equal numbers (which would leave close-on-exec set on the target).
        let firstFree = 3 + CInt(passing.count)
        var childSide: [CInt] = []  // our copies of what the child gets, closed once it has them
        defer { for fd in childSide { _ = close(fd) } }

        let (stdinRead, stdinWrite) = try makePipe()
        childSide.append(stdinRead)
        let stdoutRead: CInt
        let stdoutWrite: CInt
        do throws(Errno) {
            (stdoutRead, stdoutWrite) = try makePipe()
        } catch {
            _ = close(stdinWrite)
            throw error
        }
        childSide.append(stdoutWrite)
        do throws(Errno) {
            var sources = [stdinRead, stdoutWrite]
            for descriptor in passing { sources.append(descriptor.rawValue) }
            var raised: [CInt] = []
            for source in sources {
                raised.append(try duplicate(source, atLeast: firstFree))
                childSide.append(raised[raised.count - 1])
            }
            let pid = try spawn(executable, arguments, environment, mapping: raised)
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
        // A write to a pipe nobody reads raises SIGPIPE on the writing thread, and its default action would end the
        // server. Blocked here, it stays pending on this thread (write returns EPIPE) and is discarded with it.
        var pipeSignal = sigset_t()
        sigemptyset(&pipeSignal)
        sigaddset(&pipeSignal, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipeSignal, nil)
        _ = try? bytes.withUnsafeBytes { try input.writeAll($0) }
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
        var status: CInt = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        // WIFEXITED, WEXITSTATUS and WTERMSIG are macros Swift does not import: the low 7 bits are the signal that
        // ended the child, 0 if it exited; then its exit status is the next 8 bits.
        let signal = status & 0x7f
        return signal == 0 ? .exited((status >> 8) & 0xff) : .killed(signal: signal)
    }

    // MARK: System calls

    /// A pipe, both ends close-on-exec: (read end, write end).
    private static func makePipe() throws(Errno) -> (CInt, CInt) {
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

    /// posix_spawn with `mapping[i]` as the child's descriptor `i` (0 and 1, then 3, 4, … for the rest; 2 is
    /// inherited), an empty signal mask and default signal dispositions.
    private static func spawn(
        _ executable: String,
        _ arguments: [String],
        _ environment: [String],
        mapping: [CInt]
    ) throws(Errno) -> pid_t {
        var actions = FileActions()
        var result = posix_spawn_file_actions_init(&actions)  // these return the error number; errno is unset
        guard result == 0 else { throw Errno(rawValue: result) }
        defer { posix_spawn_file_actions_destroy(&actions) }
        for (index, source) in mapping.enumerated() {
            let target = index < 2 ? CInt(index) : CInt(index + 1)
            // dup2 clears close-on-exec on the target (source and target always differ: see spawn's comment).
            result = posix_spawn_file_actions_adddup2(&actions, source, target)
            guard result == 0 else { throw Errno(rawValue: result) }
        }
        #if canImport(Darwin)
            // POSIX_SPAWN_CLOEXEC_DEFAULT (below) closes every descriptor no action names, standard error too.
            result = posix_spawn_file_actions_addinherit_np(&actions, 2)
            guard result == 0 else { throw Errno(rawValue: result) }
        #else
            // Close-on-exec covers every descriptor we open; this also closes the ones the server inherited without it
            // (from its own parent). Not on glibc before 2.34 (ENOSYS): there close-on-exec is all there is.
            result = cudskit_spawn_close_from(&actions, CInt(mapping.count + 1))
            guard result == 0 || result == ENOSYS else { throw Errno(rawValue: result) }
        #endif

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
