import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds probe: what is at a path, one answer per line, an exit code per case")
struct ProbeTests {
    @Test func nothingThere() async throws {
        try await withTemporaryDirectory { dir in
            let probe = try await uds("probe", dir + "/none.sock")
            #expect(probe.status == 3)
            #expect(probe.stdout == "path: \(dir)/none.sock\nkind: nothing is there\n")
        }
    }

    @Test func aLiveServerAndWhoRunsIt() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/live.sock"
            try await withServe(path, ["--quiet"]) { server in
                let probe = try await uds("probe", path)
                #expect(probe.status == 0, "\(probe.stderr)")
                let lines = probe.stdout.split(separator: "\n").map(String.init)
                #expect(lines.contains("kind: live socket: a server accepts connections"))
                #expect(lines.contains("mode: 0600"))
                #expect(lines.contains("server: pid \(server.pid), uid 0, gid 0"))
                #expect(lines.contains { $0.hasPrefix("command: ") && $0.hasSuffix("uds serve \(path) --quiet") })
            }
        }
    }

    @Test func aStaleSocketAndARegularFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/stale.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
            try await waitForServer(at: path)
            server.signal(SIGKILL)
            _ = try await server.waitForExit()
            let stale = try await uds("probe", path)
            #expect(stale.status == 7)
            #expect(stale.stdout.contains("kind: stale socket file"))
            try Data("x".utf8).write(to: URL(fileURLWithPath: dir + "/file"))
            let file = try await uds("probe", dir + "/file")
            #expect(file.status == 6)
            #expect(file.stdout.contains("kind: regular file, not a socket"))
        }
    }
}
