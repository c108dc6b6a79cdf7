import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds serve and uds send, through the built executable")
struct ServeSendTests {
    @Test func sendPrintsTheAcknowledgementAndServePrintsTheMessage() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            let serverOutput = try await withServe(path) { server in
                let sent = try await uds("send", path, "hello")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "5\n")
                let piped = try await uds("send", path, stdin: "from stdin\n")
                #expect(piped.status == 0)
                #expect(piped.stdout == "11\n")
                return server.stdout
            }
            #expect(serverOutput == "hello\nfrom stdin\n")
            #expect(!FileManager.default.fileExists(atPath: path), "SIGTERM must remove the socket file")
        }
    }

    @Test func aFileIsSentWhole() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            let file = dir + "/data"
            let size = 3 * 1024 * 1024 + 17
            try Data((0..<size).map { UInt8(truncatingIfNeeded: $0) }).write(to: URL(fileURLWithPath: file))
            try await withServe(path, ["--quiet"]) { _ in
                let sent = try await uds("send", path, "--file", file)
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "\(size)\n")
            }
        }
    }

    @Test func echoAndNoneReplies() async throws {
        try await withTemporaryDirectory { dir in
            try await withServe(dir + "/e.sock", ["--quiet", "--reply", "echo"]) { _ in
                let echoed = try await uds("send", dir + "/e.sock", "--expect", "any", "ping")
                #expect(echoed.status == 0)
                #expect(echoed.stdout == "ping")
                let asAck = try await uds("send", dir + "/e.sock", "ping")
                #expect(asAck.status == 2, "an echo is no acknowledgement")
                #expect(asAck.stderr.contains("not acknowledged"))
                #expect(asAck.stderr.contains(dir + "/e.sock"))
            }
            try await withServe(dir + "/n.sock", ["--reply", "none"]) { server in
                let fired = try await uds("send", dir + "/n.sock", "--no-reply", "fire")
                #expect(fired.status == 0)
                #expect(fired.stdout == "")
                let waited = try await uds("send", dir + "/n.sock", "hello")
                #expect(waited.status == 2)
                #expect(waited.stderr.contains("closed without replying"))
            }
        }
    }

    @Test func execRepliesWithTheCommandsOutput() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            try await withServe(path, ["--quiet", "--exec", "tr a-z A-Z"]) { _ in
                let upper = try await uds("send", path, "--expect", "any", "shout")
                #expect(upper.status == 0, "\(upper.stderr)")
                #expect(upper.stdout == "SHOUT")
            }
            try await withServe(path, ["--quiet", "--exec", "cat >/dev/null; echo nope >&2; exit 3"]) { server in
                let failed = try await uds("send", path, "--expect", "any", "x")
                #expect(failed.status == 2)
                #expect(failed.stderr.contains("the command exited with status 3"), "\(failed.stderr)")
                // The server logs the command's failure after it has replied: wait for the line, not for a time.
                try await waitUntil("uds serve logs the command's exit status; stderr: \(server.stderr)") {
                    server.stderr.contains("exited with status 3")
                }
            }
        }
    }

    @Test func maxSizeRefusesLargerMessagesWithAnErrorReply() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/m.sock"
            try await withServe(path, ["--max-size", "1k"]) { server in
                let big = try await uds("send", path, String(repeating: "x", count: 5000))
                #expect(big.status == 2)
                #expect(big.stderr.contains("exceeds the limit of 1024 bytes"), "\(big.stderr)")
                let small = try await uds("send", path, "small")
                #expect(small.status == 0)
                #expect(server.stderr.contains("too large"))
            }
        }
    }
}

@Suite("uds serve statistics")
struct ServeStatisticsTests {
    @Test func sigusr1PrintsASummaryLineAndSoDoesTheEnd() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.sock"
            let stderr = try await withServe(path, ["--quiet"]) { server in
                _ = try await uds("send", path, "hello")
                server.signal(SIGUSR1)
                try await waitUntil("uds serve prints statistics on SIGUSR1; stderr: \(server.stderr)") {
                    server.stderr.contains("statistics:")
                }
                return server.stderr
            }
            #expect(stderr.contains("statistics: connections 0 open"), "\(stderr)")
            #expect(stderr.contains("bytes in 5, out "), "\(stderr)")
        }
    }
}

@Suite("uds send progress")
struct SendProgressTests {
    /// On a terminal (here a pseudo-terminal made by script(1)) a big file shows a progress line that ends cleared;
    /// through a pipe nothing but the reply comes out.
    @Test func aBigFileShowsProgressOnATerminalOnly() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/p.sock"
            let file = dir + "/big"
            #expect(FileManager.default.createFile(atPath: file, contents: Data(count: 64 * 1024 * 1024)))
            try await withServe(path, ["--quiet"]) { _ in
                let script = try requireExecutable("script")
                let tty = try await ChildProcess.run(
                    script, ["-q", "-c", "\(udsExecutable) send \(path) --file \(file)", "/dev/null"])
                #expect(tty.status == 0)
                #expect(tty.stdout.contains("sent "), "a terminal shows progress: \(tty.stdout.debugDescription)")
                #expect(tty.stdout.contains("67108864"))
                let piped = try await uds("send", path, "--file", file)
                #expect(piped.stdout == "67108864\n")
                #expect(piped.stderr == "")
            }
        }
    }
}
