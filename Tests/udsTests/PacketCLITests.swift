import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("uds serve and uds send with --seqpacket and --datagram, through the built executable")
struct PacketCLITests {
    // MARK: --seqpacket

    @Test func sendSeqPacketPrintsAnAcknowledgementForEachPacket() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/p.sock"
            try await withPacketServe(path, ["--seqpacket"]) { server in
                let sent = try await uds("send", "--seqpacket", path, "a", "b", "c")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "1\n1\n1\n")
                #expect(sent.stderr == "")
                let lines = try await uds("send", "--seqpacket", path, stdin: "first line\nsecond\n")
                #expect(lines.status == 0, "\(lines.stderr)")
                #expect(lines.stdout == "10\n6\n")
                try await waitForOutput(server, "a\nb\nc\nfirst line\nsecond\n")
            }
        }
    }

    @Test func serveSeqPacketReplyEchoSendsEachPacketBack() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/e.sock"
            try await withPacketServe(path, ["--seqpacket", "--reply", "echo", "--quiet"]) { server in
                let sent = try await uds("send", "--seqpacket", "--expect", "any", path, "hello", "Mixed Case", "x")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "hello\nMixed Case\nx\n")
                #expect(sent.stderr == "")
                // an echo is not the byte count that --expect ack (the default) wants
                let acked = try await uds("send", "--seqpacket", path, "hello")
                #expect(acked.status == 2, "\(acked.stderr)")
                #expect(acked.stderr.hasPrefix("uds: ") && acked.stderr.contains(path), "\(acked.stderr)")
                #expect(server.stdout == "", "--quiet prints no messages")
            }
        }
    }

    @Test func sendSeqPacketToAStreamServerFailsSayingItIsNotASeqPacketSocket() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/s.sock"
            try await withServe(path, ["--quiet"]) { _ in
                let sent = try await uds("send", "--seqpacket", path, "hello")
                #expect(sent.status == 6, "the path holds a socket of another type")
                #expect(sent.stdout == "")
                #expect(sent.stderr.hasPrefix("uds: "), "\(sent.stderr)")
                #expect(sent.stderr.contains("not a seqpacket socket"), "\(sent.stderr)")
                #expect(sent.stderr.contains(path), "\(sent.stderr)")
                #expect(sent.stderr.split(separator: "\n").count == 1, "\(sent.stderr)")

                let datagram = try await uds("send", "--datagram", path, "hello")
                #expect(datagram.status == 6)
                #expect(datagram.stderr.contains("not a datagram socket"), "\(datagram.stderr)")
            }
        }
    }

    @Test func connectSeqPacketPrintsEachEchoedLine() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/c.sock"
            try await withPacketServe(path, ["--seqpacket", "--reply", "echo", "--quiet"]) { _ in
                let session = try await uds("connect", "--seqpacket", path, "--linger", "5", stdin: "hello\n\nworld\n")
                #expect(session.status == 0, "\(session.stderr)")
                #expect(session.stdout == "hello\nworld\n", "the empty line is skipped, not sent as an end")
            }
        }
    }

    @Test func anEmptySeqPacketMessageIsRefusedAndSaysWhy() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/empty.sock"
            try await withPacketServe(path, ["--seqpacket"]) { server in
                let argument = try await uds("send", "--seqpacket", path, "a", "")
                #expect(argument.status == 64, "\(argument.stderr)")
                #expect(argument.stderr.contains("empty MESSAGE"), "\(argument.stderr)")
                let line = try await uds("send", "--seqpacket", path, stdin: "a\n\nb\n")
                #expect(line.status == 1, "\(line.stderr)")
                #expect(line.stdout == "1\n", "the line before the empty one was sent")
                #expect(
                    line.stderr.contains("cannot send this message") && line.stderr.contains("empty"), "\(line.stderr)")
                try await waitForOutput(server, "a\n")
            }
        }
    }

    @Test func probeTellsASeqPacketServerAndADatagramReceiver() async throws {
        try await withTemporaryDirectory { dir in
            try await withPacketServe(dir + "/p.sock", ["--seqpacket", "--quiet"]) { server in
                let probe = try await uds("probe", dir + "/p.sock")
                #expect(probe.status == 0, "\(probe.stderr)")
                let lines = probe.stdout.split(separator: "\n").map(String.init)
                #expect(lines.contains("kind: live seqpacket socket: a server accepts connections"), "\(lines)")
                #expect(lines.contains("server: pid \(server.pid), uid \(geteuid()), gid \(getegid())"), "\(lines)")
            }
            try await withPacketServe(dir + "/d.sock", ["--datagram", "--quiet"]) { server in
                let probe = try await uds("probe", dir + "/d.sock")
                #expect(probe.status == 0, "\(probe.stderr)")
                #expect(probe.stdout.contains("kind: live datagram socket: a receiver is bound\n"), "\(probe.stdout)")
                #expect(server.stdout == "", "the probe sent nothing")
            }
        }
    }

    // MARK: --datagram

    @Test func sendDatagramPrintsAnAcknowledgementForEachDatagram() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/d.sock"
            try await withPacketServe(path, ["--datagram"]) { server in
                let sent = try await uds("send", "--datagram", path, "x", "yy")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "1\n2\n")
                #expect(sent.stderr == "")
                let lines = try await uds("send", "--datagram", path, stdin: "from stdin\nzzz\n")
                #expect(lines.status == 0, "\(lines.stderr)")
                #expect(lines.stdout == "10\n3\n")
                try await waitForOutput(server, "x\nyy\nfrom stdin\nzzz\n")
            }
        }
    }

    @Test func aDatagramPastMaxSizeGetsAnErrorReplyInsteadOfSilence() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/big.sock"
            try await withPacketServe(path, ["--datagram", "--max-size", "1000"]) { server in
                let sent = try await uds(
                    "send", "--datagram", "--timeout", "20", path, String(repeating: "x", count: 1001))
                #expect(sent.status == 2, "\(sent.stderr)")
                #expect(sent.stderr.contains("message exceeds the limit of 1000 bytes"), "\(sent.stderr)")
                let fits = try await uds("send", "--datagram", path, String(repeating: "y", count: 1000))
                #expect(fits.stdout == "1000\n", "the server goes on: \(fits.stderr)")
                #expect(server.stderr.contains("dropped a datagram"), "\(server.stderr)")
            }
        }
    }

    @Test func sendDatagramWithNoReplyExitsOnceTheDatagramsAreSent() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/d.sock"
            try await withPacketServe(path, ["--datagram"]) { server in
                var printed = ""
                for run in 1...3 {
                    let sent = try await uds("send", "--datagram", "--no-reply", path, "\(run): one", "\(run): two")
                    #expect(sent.status == 0, "\(sent.stderr)")
                    #expect(sent.stdout == "")
                    #expect(sent.stderr == "")
                    printed += "\(run): one\n\(run): two\n"
                    try await waitForOutput(server, printed)
                }
                // no reply was sent to the unbound sender, so none failed
                #expect(!server.stderr.contains("could not answer"), "\(server.stderr)")
            }
        }
    }

    @Test func serveDatagramExecUpperCasesEachDatagram() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            try await withPacketServe(path, ["--datagram", "--exec", "tr a-z A-Z", "--quiet"]) { _ in
                let sent = try await uds("send", "--datagram", "--expect", "any", path, "shout", "Mixed Case", "x")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "SHOUT\nMIXED CASE\nX\n")
                #expect(sent.stderr == "")
            }
        }
    }

    @Test func aFailingExecCommandGetsTheSenderAnErrorReply() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/fail.sock"
            try await withPacketServe(path, ["--datagram", "--exec", "exit 3", "--quiet"]) { server in
                let sent = try await uds("send", "--datagram", "--timeout", "20", path, "anything")
                #expect(sent.status == 2, "\(sent.stderr)")
                #expect(sent.stderr.contains("the command exited with status 3"), "\(sent.stderr)")
                #expect(server.stderr.contains("handler failed"), "\(server.stderr)")
            }
        }
    }

    @Test func sigtermStopsServeDatagramWhichRemovesItsSocketFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/t.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--datagram"])
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitForPacketServer(server, at: path, seqPacket: false)
            let sent = try await uds("send", "--datagram", path, "before the signal")
            #expect(sent.stdout == "17\n", "\(sent.stderr)")
            server.signal(SIGTERM)
            let status = try await server.waitForExit()
            #expect(status == 0, "\(server.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path), "uds serve --datagram left its socket file")
            #expect(server.stdout == "before the signal\n")
            #expect(
                server.stderr.contains("statistics: datagrams 1, refused 0 (authorization policy), too large 0"),
                "\(server.stderr)")

            // with nobody there, uds send --datagram fails like uds send does: no server listening (3)
            let late = try await uds("send", "--datagram", path, "after")
            #expect(late.status == 3, "\(late.stderr)")
        }
    }

    // MARK: Usage errors

    @Test(arguments: [
        ["serve", "/tmp/uds-packet-usage.sock", "--framed", "--seqpacket"],
        ["serve", "/tmp/uds-packet-usage.sock", "--seqpacket", "--datagram"],
        ["send", "/tmp/uds-packet-usage.sock", "--framed", "--datagram", "m"],
        ["send", "/tmp/uds-packet-usage.sock", "--seqpacket", "--datagram", "m"],
    ])
    func choosingTwoSocketKindsIsAUsageError(arguments: [String]) async throws {
        let run = try await uds(arguments)
        #expect(run.status == 64, "\(run.stderr)")
        // argument-parser's words for one flag of a kind given twice: "Value to be set with flag '--datagram' had
        // already been set with flag '--framed'"
        let flags = arguments.filter { $0.hasPrefix("--") }
        #expect(flags.allSatisfy { run.stderr.contains("'\($0)'") }, "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/uds-packet-usage.sock"))
    }

    // MARK: Support

    /// Starts `uds serve PATH extra…` (with `--seqpacket` or `--datagram`), waits until it receives, runs `body`,
    /// then stops it with SIGTERM and checks that it exited 0 and removed its socket file.
    private func withPacketServe<T>(
        _ path: String,
        _ extra: [String],
        _ body: (ChildProcess) async throws -> T
    ) async throws -> T {
        let server = try ChildProcess(udsExecutable, ["serve", path] + extra)
        defer { if server.isRunning { server.signal(SIGKILL) } }
        try await waitForPacketServer(server, at: path, seqPacket: extra.contains("--seqpacket"))
        let result = try await body(server)
        server.signal(SIGTERM)
        let status = try await server.waitForExit()
        guard status == 0 else { throw TestFailure("uds serve exited \(status): \(server.stderr)") }
        #expect(!FileManager.default.fileExists(atPath: path), "uds serve left its socket file behind")
        return result
    }

    /// Waits until `uds serve` receives at `path`. ``waitForServer(at:)`` connects with a stream socket, which a
    /// seqpacket or datagram server refuses: a seqpacket server is probed with a seqpacket connection that sends
    /// nothing; a datagram socket receives from its bind on, before its file appears, so the file is enough.
    private func waitForPacketServer(_ server: ChildProcess, at path: String, seqPacket: Bool) async throws {
        try await waitUntil("uds serve did not come up on \(path); stderr: \(server.stderr)", timeout: 20) {
            isReceiving(at: path, seqPacket: seqPacket)
        }
    }

    private func isReceiving(at path: String, seqPacket: Bool) -> Bool {
        guard FileManager.default.fileExists(atPath: path) else { return false }
        guard seqPacket else { return true }
        guard let probe = try? SeqPacketConnection.connect(to: UnixSocketAddress(path)) else { return false }
        probe.close()
        return true
    }

    /// Waits until `server` has printed `expected`, exactly; fails after `timeout` seconds.
    private func waitForOutput(_ server: ChildProcess, _ expected: String, timeout: Double = 20) async throws {
        try await waitUntil(
            "uds serve printed \(server.stdout.debugDescription), not \(expected.debugDescription)", timeout: timeout
        ) { server.stdout == expected }
    }
}
