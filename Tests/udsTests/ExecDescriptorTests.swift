import Foundation
import Testing
import UDSKitTestSupport

/// `uds serve --exec` hands the descriptors passed with a message to the command as fds 3, 4, …, with `UDS_FDS`; the
/// command inherits nothing else, starts with no signal blocked or ignored, and the server keeps no descriptor.
@Suite("uds serve --exec with passed descriptors")
struct ExecDescriptorTests {
    /// Prints `fds=$UDS_FDS`, then each passed file from fd 3 on, then the message.
    static let catPassedFiles =
        #"echo "fds=$UDS_FDS"; i=3; while [ $i -lt $((3 + UDS_FDS)) ]; do cat <&$i; i=$((i + 1)); done; cat"#

    /// The targets of the server's descriptors (from /proc/PID/fd).
    static func openFiles(of pid: Int32) -> [String] {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
        return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
    }

    @Test func passedFilesAreTheCommandsFdsFromThreeAndUDSFDSCountsThem() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            let first = dir + "/first.txt"
            let second = dir + "/second.txt"
            try "alpha\n".write(toFile: first, atomically: true, encoding: .utf8)
            try "beta\n".write(toFile: second, atomically: true, encoding: .utf8)
            try await withServe(path, ["--quiet", "--exec", Self.catPassedFiles]) { server in
                // The pipes it has before any command ran, by inode: pipes inherited from the test runner may still
                // be open here and closed a moment later, so a count taken now is not the count it settles at.
                let pipesBefore = Set(Self.openFiles(of: server.pid).filter { $0.hasPrefix("pipe:") })

                let one = try await uds("send", path, "--fd", first, "--expect", "any", "hello")
                #expect(one.status == 0, "\(one.stderr); server: \(server.stderr)")
                #expect(one.stdout == "fds=1\nalpha\nhello")
                let two = try await uds("send", path, "--fd", first, "--fd", second, "--expect", "any", "hi")
                #expect(two.status == 0, "\(two.stderr); server: \(server.stderr)")
                #expect(two.stdout == "fds=2\nalpha\nbeta\nhi")
                let none = try await uds("send", path, "--expect", "any", "bare")
                #expect(none.status == 0, "\(none.stderr); server: \(server.stderr)")
                #expect(none.stdout == "fds=0\nbare")

                // The server closes the passed files once the command has them, and every pipe end it made.
                try await waitUntil(
                    "the server still has a passed file or a command's pipe open: \(Self.openFiles(of: server.pid))"
                ) {
                    let open = Self.openFiles(of: server.pid)
                    return !open.contains(first) && !open.contains(second)
                        && open.allSatisfy { !$0.hasPrefix("pipe:") || pipesBefore.contains($0) }
                }
            }
        }
    }

    /// The command (here `sleep`, exec'd by the shell, so it keeps the shell's descriptors, signal mask and ignored
    /// signals) is inspected from outside while it runs, then stopped with SIGTERM: a command started from a server's
    /// thread must still die of it. (The shell itself is not inspected: dash blocks every signal while it forks.)
    @Test func theCommandInheritsOnlyItsDescriptorsAndNoBlockedOrIgnoredSignal() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            let file = dir + "/passed.txt"
            try "x".write(toFile: file, atomically: true, encoding: .utf8)
            let command = """
                [ "$UDS_FDS" = 1 ] || exit 0; echo $$ >\(dir)/pid.tmp; mv \(dir)/pid.tmp \(dir)/pid; exec sleep 30
                """
            try await withServe(path, ["--quiet", "--exec", command]) { server in
                let send = try ChildProcess(udsExecutable, ["send", path, "--fd", file, "--expect", "any", "m"])
                defer { send.signal(SIGKILL) }
                var pid: Int32 = 0
                try await waitUntil("the command never ran sleep, or it never slept; server: \(server.stderr)") {
                    guard let written = try? String(contentsOfFile: dir + "/pid", encoding: .utf8) else { return false }
                    pid = Int32(written.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
                    return isAsleep(pid)
                }
                let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").compactMap(Int.init)
                    .sorted()
                #expect(fds == [0, 1, 2, 3], "the command's descriptors: \(Self.openFiles(of: pid))")
                #expect(
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/3")) == file)
                // Bit n - 1 stands for signal n. glibc's posix_spawn leaves its internal signals 32 and 33 ignored;
                // signals 1 to 31 must all have their default action (the server ignores SIGTERM, SIGINT, SIGUSR1).
                let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
                func mask(_ name: String) -> UInt64? {
                    let line = status.split(separator: "\n").first { $0.hasPrefix(name + ":") }
                    let digits = line?.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces)
                    return digits.flatMap { UInt64($0, radix: 16) }
                }
                #expect(mask("SigBlk") == 0, "\(status)")
                #expect(mask("SigIgn").map { $0 & 0x7fff_ffff } == 0, "\(status)")

                kill(pid, SIGTERM)
                #expect(try await send.waitForExit() == 2)
                #expect(send.stderr.contains("the command was killed by signal 15"), "\(send.stderr)")
            }
        }
    }

    /// A message larger than a pipe holds goes in while the reply comes out (neither pipe may deadlock), and a command
    /// that reads none of it leaves the server running (no SIGPIPE in the server).
    @Test(arguments: [("cat", true), ("true", false)])
    func largeMessagesNeitherDeadlockNorEndTheServer(command: String, echoes: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            let file = dir + "/big.txt"
            let text = String(repeating: "0123456789abcdef", count: 4 * 1024 * 1024 / 16)
            try text.write(toFile: file, atomically: true, encoding: .utf8)
            try await withServe(path, ["--quiet", "--exec", command]) { server in
                for _ in 0..<2 {
                    let sent = try await uds("send", path, "--file", file, "--expect", "any", timeout: 60)
                    #expect(sent.status == 0, "\(sent.stderr); server: \(server.stderr)")
                    #expect(sent.stdout == (echoes ? text : ""))
                }
                #expect(server.isRunning)
            }
        }
    }
}
