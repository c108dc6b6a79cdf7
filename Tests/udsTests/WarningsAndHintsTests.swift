import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds: warnings, hints and one-line errors")
struct WarningsAndHintsTests {
    /// Waits until `server`'s standard error contains `text`; false if it exits or 20 s pass first.
    static func waitForLine(_ server: ChildProcess, _ text: String) async throws -> Bool {
        _ = try await eventually(timeout: 20) { server.stderr.contains(text) || !server.isRunning }
        return server.stderr.contains(text)
    }

    @Test(arguments: [[], ["--datagram"]])
    func anAbstractNameWithAllowAnyWarnsThatAnyoneCanConnect(_ type: [String]) async throws {
        let name = "@uds-test-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
        let server = try ChildProcess(udsExecutable, ["serve", name, "--allow-any", "--quiet"] + type)
        defer { if server.isRunning { server.signal(SIGKILL) } }
        let verb = type.isEmpty ? "connect to" : "send to"
        #expect(
            try await Self.waitForLine(
                server,
                "uds: warning: anyone in the network namespace can \(verb) \(name): an abstract name has no file permissions"
            ),
            "\(server.stderr)")
        server.signal(SIGTERM)
        #expect(try await server.waitForExit() == 0)
        #expect(lines(of: server.stderr, containing: "warning: anyone").count == 1, "\(server.stderr)")
    }

    @Test func aPathWithAllowAnyDoesNotWarn() async throws {
        try await withTemporaryDirectory { dir in
            try await withServe(dir + "/any.sock", ["--allow-any", "--quiet"]) { server in
                let sent = try await uds("send", dir + "/any.sock", "x")
                #expect(sent.status == 0)
                #expect(!server.stderr.contains("warning"), "\(server.stderr)")
            }
        }
    }

    @Test func aFramedReplyThatIsNotAnAcknowledgementSuggestsExpectAny() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/echo.sock"
            try await withServe(path, ["--framed", "--reply", "echo", "--quiet"]) { _ in
                let sent = try await uds("send", "--framed", path, "a", "b", "c")
                #expect(sent.status == 2, "\(sent)")
                #expect(
                    sent.stderr.hasSuffix(
                        "the reply \"a\" is not an acknowledgement; if the server answers with something else (--reply echo, --exec), pass --expect any\n"
                    ), "\(sent.stderr)")
                #expect(lines(of: sent.stderr, containing: "").count == 1, "one line: \(sent.stderr)")
                let any = try await uds("send", "--framed", "--expect", "any", path, "a", "b", "c")
                #expect(any.status == 0, "\(any)")
            }
        }
    }

    @Test func aWrongCountSaysNothingAboutExpectAny() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/exec.sock"
            try await withServe(path, ["--exec", "echo 12", "--quiet"]) { _ in
                let sent = try await uds("send", path, "hello")
                #expect(sent.status == 2, "\(sent)")
                #expect(sent.stderr.contains("received 12 bytes of 5 sent"), "\(sent.stderr)")
                #expect(!sent.stderr.contains("--expect any"), "\(sent.stderr)")
            }
        }
    }

    @Test(arguments: [
        (["--group", "no-such-group-uds"], "uds: --group: no group named no-such-group-uds on this system\n"),
        (
            ["--allow-group", "no-such-group-uds"],
            "uds: --allow-group: no group named no-such-group-uds on this system\n"
        ),
        (
            ["--allow-gid", "no-such-group-uds"],
            "uds: --allow-group: no group named no-such-group-uds on this system\n"
        ),
        (["--allow-user", "no-such-user-uds"], "uds: --allow-user: no user named no-such-user-uds on this system\n"),
    ])
    func anUnknownNameIsOneLineWithoutTheUsage(_ options: [String], _ expected: String) async throws {
        try await withTemporaryDirectory { dir in
            let serve = try await uds(["serve", dir + "/n.sock"] + options)
            #expect(serve.status == 1, "\(serve)")
            #expect(serve.stderr == expected)
            #expect(!FileManager.default.fileExists(atPath: dir + "/n.sock"))
        }
    }

}
