import Foundation
import Testing
import UDSKitTestSupport

/// The tests' ChildProcess, on UDSKit's posix_spawn wrapper `SpawnedProgram`: what the child gets (descriptors,
/// signals, input, working directory, environment), how its end is seen, and that nothing is left behind.
@Suite struct SpawnedProgramTests {
    /// The targets of `pid`'s descriptors by number (from /proc/PID/fd).
    static func descriptors(of pid: Int32) throws -> [Int: String] {
        let names = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")
        var targets: [Int: String] = [:]
        for name in names {
            targets[Int(name)!] = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\(name)")
        }
        return targets
    }

    /// Starts `sleep 30` through a shell that execs it, and waits until it is `sleep`, asleep.
    static func sleeper() async throws -> ChildProcess {
        let child = try ChildProcess("/bin/sh", ["-c", "exec sleep 30"])
        try await waitUntil("sleep never started or never slept: \(child.stderr)") { isAsleep(child.pid) }
        return child
    }

    /// The child has /dev/null and the two output files as 0, 1, 2 and nothing else, not even a descriptor this
    /// process holds without close-on-exec; it starts with no signal blocked or ignored (1 to 31: glibc's
    /// posix_spawn leaves its internal 32 and 33 ignored).
    @Test func theChildGetsOnlyItsThreeDescriptorsAndNoBlockedOrIgnoredSignal() async throws {
        let inherited = open("/dev/zero", O_RDONLY)  // no O_CLOEXEC
        #expect(inherited >= 3)
        defer { close(inherited) }
        let child = try await Self.sleeper()
        let fds = try Self.descriptors(of: child.pid)
        #expect(fds.keys.sorted() == [0, 1, 2], "\(fds)")
        #expect(fds[0] == "/dev/null")
        #expect(fds[1] == child.stdoutPath)
        let status = try String(contentsOfFile: "/proc/\(child.pid)/status", encoding: .utf8)
        func mask(_ name: String) -> UInt64? {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
            return line.flatMap { UInt64($0.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces), radix: 16) }
        }
        #expect(mask("SigBlk") == 0, "\(status)")
        #expect(mask("SigIgn").map { $0 & 0x7fff_ffff } == 0, "\(status)")
    }

    @Test func aSignalEndsTheChildAndIsItsTermination() async throws {
        let child = try await Self.sleeper()
        #expect(child.isRunning)
        #expect(child.termination == nil)
        child.signal(SIGTERM)
        #expect(try await child.waitForExit() == SIGTERM)
        #expect(child.termination == .killed(signal: SIGTERM))
        #expect(!child.isRunning)
        child.signal(SIGKILL)  // reaped: not sent, the pid may be another process's
        #expect(child.termination == .killed(signal: SIGTERM))
    }

    /// Input larger than a pipe holds arrives whole; a child that exits without reading any leaves this process
    /// running (no SIGPIPE here) and its exit status is seen.
    @Test func inputIsWrittenWholeAndAChildThatReadsNoneIsNoSignalHere() async throws {
        let text = String(repeating: "0123456789abcdef", count: 1024 * 1024 / 16)
        let cat = try await ChildProcess.run("/bin/cat", [], stdin: Data(text.utf8))
        #expect(cat.status == 0)
        #expect(cat.stdout == text)
        for _ in 0..<3 {
            let ignoring = try await ChildProcess.run("/bin/sh", ["-c", "exit 3"], stdin: Data(text.utf8))
            #expect(ignoring.status == 3)
        }
        let empty = try await ChildProcess.run("/bin/cat", [])
        #expect(empty.status == 0 && empty.stdout.isEmpty)
    }

    @Test func workingDirectoryEnvironmentAndABareNameOnPath() async throws {
        try await withTemporaryDirectory { dir in
            let child = try ChildProcess(
                "sh", ["-c", "pwd -P; echo \"$UDS_SPAWN_TEST\"; echo oops >&2; exit 4"],
                environment: ["UDS_SPAWN_TEST": "given"], currentDirectory: dir)
            #expect(try await child.waitForExit() == 4)
            #expect(child.termination == .exited(4))
            let physical = URL(fileURLWithPath: dir).resolvingSymlinksInPath().path
            #expect(child.stdout == "\(physical)\ngiven\n")
            #expect(child.stderr == "oops\n")
        }
        // The rest of this process's environment goes along.
        let path = try await ChildProcess.run("/bin/sh", ["-c", "echo \"$PATH\""], environment: ["X": "y"])
        #expect(path.stdout == (ProcessInfo.processInfo.environment["PATH"] ?? "") + "\n")
    }

    @Test func aMissingExecutableThrows() async throws {
        #expect(throws: TestFailure.self) { try ChildProcess("/nonexistent/program", []) }
    }

    /// Tasks that poll one child at once see one end: it is reaped once and remembered.
    @Test func concurrentPollsSeeOneTermination() async throws {
        let child = try ChildProcess("/bin/sh", ["-c", "sleep 0.2; exit 7"])
        let seen = try await withThrowingTaskGroup(of: ChildProcess.Termination?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    _ = try await eventually(timeout: 30) { !child.isRunning }
                    return child.termination
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(seen == Array(repeating: .exited(7), count: 8))
    }

    /// Dropping a ChildProcess kills a child still running and reaps it (no zombie), and removes its output files.
    @Test func droppingAChildKillsAndReapsItAndRemovesItsFiles() async throws {
        var child: ChildProcess? = try await Self.sleeper()
        let pid = child!.pid
        let files = [child!.stdoutPath]
        child = nil
        #expect(!FileManager.default.fileExists(atPath: "/proc/\(pid)"), "left running or a zombie")
        #expect(!FileManager.default.fileExists(atPath: files[0]))
    }
}
