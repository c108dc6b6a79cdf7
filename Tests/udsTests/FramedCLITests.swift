import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds serve --framed, uds send --framed and uds connect, through the built executable")
struct FramedCLITests {
    @Test func sendFramedPrintsEachAcknowledgementAndServePrintsEachFrame() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            try await withServe(path, ["--framed"]) { server in
                let sent = try await uds("send", "--framed", path, "one", "two", "three")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "3\n3\n5\n")
                #expect(sent.stderr == "")
                try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                    server.stdout == "one\ntwo\nthree\n"
                }
            }
        }
    }

    @Test func sendFramedSendsEachLineOfStandardInputAsAFrame() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            try await withServe(path, ["--framed"]) { server in
                let sent = try await uds("send", "--framed", path, stdin: "alpha\nbeta\n\ngamma delta\n")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "5\n4\n0\n11\n", "an empty line is an empty frame")
                try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                    server.stdout == "alpha\nbeta\ngamma delta\n"
                }
            }
        }
    }

    @Test func sendFramedWithNoReplyExitsOnceTheFramesAreWritten() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            try await withServe(path, ["--framed"]) { server in
                // a few runs, since frames lost at exit would be lost only now and then
                var printed = ""
                for run in 1...5 {
                    let sent = try await uds(
                        "send", "--framed", "--no-reply", path, "\(run): one", "\(run): two", "\(run): three")
                    #expect(sent.status == 0, "\(sent.stderr)")
                    #expect(sent.stdout == "")
                    printed += "\(run): one\n\(run): two\n\(run): three\n"
                    do {
                        try await waitUntil(
                            "uds send --no-reply exited 0 but uds serve printed \(server.stdout.debugDescription)"
                                + " (running: \(server.isRunning); stderr: \(server.stderr.debugDescription))"
                        ) {
                            server.stdout == printed
                        }
                    } catch {
                        // Where the missing frame is: still in a socket's queue (Recv-Q), or read and lost.
                        throw TestFailure("\(error); uds serve's sockets: \(try await unixSockets(of: server.pid))")
                    }
                }
            }
        }
    }

    @Test func connectPrintsEachEchoedLine() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/e.sock"
            try await withServe(path, ["--framed", "--quiet", "--reply", "echo"]) { _ in
                // a generous linger: the replies must come back before uds connect closes, on a loaded machine too
                let session = try await uds("connect", path, "--linger", "5", stdin: "hello\nworld\n")
                #expect(session.status == 0, "\(session.stderr)")
                #expect(session.stdout == "hello\nworld\n")
                #expect(session.stderr == "")
            }
        }
    }

    @Test func sendFramedExpectingAnAcknowledgementFailsOnAnEchoWithOneLineNamingThePath() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/e.sock"
            try await withServe(path, ["--framed", "--quiet", "--reply", "echo"]) { _ in
                let sent = try await uds("send", "--framed", "--expect", "ack", path, "hello")
                #expect(sent.status == 2, "stderr: \(sent.stderr)")
                #expect(sent.stderr.hasPrefix("uds: "), "\(sent.stderr)")
                #expect(sent.stderr.hasSuffix("\n"))
                #expect(sent.stderr.split(separator: "\n").count == 1, "\(sent.stderr)")
                #expect(sent.stderr.contains(path), "\(sent.stderr)")
            }
        }
    }

    @Test(arguments: [true, false])
    func serveFramedExecUpperCasesEachFrame(quiet: Bool) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            try await withServe(path, ["--framed", "--exec", "tr a-z A-Z"] + (quiet ? ["--quiet"] : [])) { server in
                let sent = try await uds("send", "--framed", "--expect", "any", path, "shout", "Mixed Case", "x")
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout == "SHOUT\nMIXED CASE\nX\n")
                if !quiet {
                    try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                        server.stdout == "shout\nMixed Case\nx\n"
                    }
                }
            }
        }
    }
}

/// `ss`'s lines for the Unix sockets process `pid` holds, with their queues: what a test that lost a message prints.
private func unixSockets(of pid: Int32) async throws -> String {
    guard let ss = findExecutable("ss") else { return "(no ss)" }
    let listed = try await ChildProcess.run(ss, ["-x", "-a", "-p", "-n"])
    return lines(of: listed.stdout, containing: "pid=\(pid),").joined(separator: "\n")
}
