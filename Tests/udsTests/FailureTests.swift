import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds failures: one line naming the path, and a distinct exit status")
struct FailureTests {
    @Test func sendWithoutAServerSaysSoAndExits3() async throws {
        try await withTemporaryDirectory { dir in
            let missing = try await uds("send", dir + "/none.sock", "x")
            #expect(missing.status == 3)
            #expect(missing.stderr == "uds: no server is listening on \(dir)/none.sock (no socket file)\n")
        }
    }

    @Test func sendToAStaleSocketFileSaysStale() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/stale.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
            try await waitForServer(at: path)
            server.signal(SIGKILL)  // no cleanup: the file stays
            _ = try await server.waitForExit()
            let stale = try await uds("send", path, "x")
            #expect(stale.status == 3)
            #expect(stale.stderr == "uds: no server is listening on \(path) (stale socket file)\n")
            // and a new server replaces the stale file
            try await withServe(path, ["--quiet"]) { _ in
                let sent = try await uds("send", path, "x")
                #expect(sent.status == 0)
            }
        }
    }

    @Test func aSecondServerIsRefusedAndTheFirstKeepsServing() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/a.sock"
            try await withServe(path, ["--quiet"]) { _ in
                let second = try await uds("serve", path)
                #expect(second.status == 6)
                #expect(second.stderr.contains("uds: a server is already listening on \(path)"), "\(second.stderr)")
                let sent = try await uds("send", path, "still there")
                #expect(sent.status == 0)
                #expect(sent.stdout == "11\n")
            }
        }
    }

    @Test func aRegularFileAtThePathIsLeftAlone() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/file"
            try Data("precious".utf8).write(to: URL(fileURLWithPath: path))
            let serve = try await uds("serve", path)
            #expect(serve.status == 6)
            #expect(serve.stderr.contains("\(path) is not a socket"), "\(serve.stderr)")
            #expect(try String(contentsOfFile: path, encoding: .utf8) == "precious")
            let send = try await uds("send", path, "x")
            #expect(send.status != 0)
            #expect(send.stderr.contains("not a socket"))
        }
    }

    @Test func aTooLongPathNamesTheLimitAndTheLength() async throws {
        let path = "/tmp/" + String(repeating: "d", count: 150) + ".sock"
        let result = try await uds("serve", path)
        #expect(result.status == 1)
        #expect(result.stderr.contains("160 bytes"), "\(result.stderr)")
        #expect(result.stderr.contains("more than the 107"))
        let send = try await uds("send", path, "x")
        #expect(send.stderr.contains("160 bytes"))
    }

    @Test func socketFileModeIs0600ByDefaultAndFollowsMode() async throws {
        try await withTemporaryDirectory { dir in
            try await withServe(dir + "/d.sock", ["--quiet"]) { _ in
                let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/d.sock")
                #expect((attributes[.posixPermissions] as? Int) == 0o600)
            }
            try await withServe(dir + "/g.sock", ["--quiet", "--mode", "0660"]) { _ in
                let attributes = try FileManager.default.attributesOfItem(atPath: dir + "/g.sock")
                #expect((attributes[.posixPermissions] as? Int) == 0o660)
            }
        }
    }

    @Test func badCommandLinesExit64WithUsage() async throws {
        let badMode = try await uds("serve", "/tmp/x.sock", "--mode", "999")
        #expect(badMode.status == 64)
        #expect(badMode.stderr.contains("--mode"))
        let both = try await uds("send", "/tmp/x.sock", "m", "--file", "/etc/hostname")
        #expect(both.status == 64)
    }

    @Test func helpListsTheExitCodes() async throws {
        let help = try await uds("--help")
        #expect(help.status == 0)
        for line in ["3   no server is listening", "6   the path is taken", "serve", "send"] {
            #expect(help.stdout.contains(line), "missing: \(line)")
        }
    }
}
