import Foundation
import Testing
import UDSKitTestSupport

/// The programs in Examples/ run against the real thing.
@Suite("Examples")
struct ExamplesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Examples").standardized.path

    @Test func goAndPythonClientsAreAcknowledged() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/app.sock"
            try await withServe(path, ["--quiet"]) { _ in
                let go = try requireExecutable("go")
                let binary = dir + "/go-client"
                let build = try await ChildProcess.run(
                    go, ["build", "-o", binary, Self.examples + "/go-client/main.go"],
                    environment: ["GOCACHE": dir + "/gocache", "GOPATH": dir + "/gopath", "GO111MODULE": "off"],
                    timeout: 300)
                #expect(build.status == 0, "\(build.stderr)")
                let goRun = try await ChildProcess.run(binary, [path, "hello from go"])
                #expect(goRun.stdout == "acknowledged 13 bytes\n", "\(goRun.stderr)")

                let python = try requireExecutable("python3")
                let pyRun = try await ChildProcess.run(
                    python, [Self.examples + "/python-client/client.py", path, "hello"])
                #expect(pyRun.stdout == "acknowledged 5 bytes\n", "\(pyRun.stderr)")
            }
        }
    }

    @Test func controlDaemonAnswersAndStops() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/daemon.sock"
            let daemon = try ChildProcess(productsDirectory + "/control-daemon", [path])
            try await waitForServer(at: path)
            let status = try await uds(
                "send", "--framed", "--expect", "any", path, #"{"command":"status"}"#, #"{"command":"reload"}"#)
            #expect(status.status == 0, "\(status.stderr)")
            #expect(status.stdout.contains(#""ok":true"#) && status.stdout.contains("reload 1 done"))
            let python = try requireExecutable("python3")
            let framed = try await ChildProcess.run(
                python, [Self.examples + "/python-client/client.py", path, #"{"command":"nonsense"}"#, "--framed"])
            #expect(framed.stdout.hasPrefix("error: unknown command nonsense"), "\(framed.stdout) \(framed.stderr)")
            _ = try await uds("send", "--framed", "--expect", "any", path, #"{"command":"stop"}"#)
            #expect(try await daemon.waitForExit() == 0, "\(daemon.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path))
        }
    }

    @Test func descriptorPassingExampleWritesIntoTheClientsFile() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/writer.sock"
            let report = dir + "/report.txt"
            let example = productsDirectory + "/descriptor-passing"
            let server = try ChildProcess(example, ["serve", path])
            try await waitForServer(at: path)
            for line in ["first", "second"] {
                let sent = try await ChildProcess.run(example, ["send", path, report, line])
                #expect(sent.status == 0, "\(sent.stderr)")
                #expect(sent.stdout.hasPrefix("wrote \(line.utf8.count + 1) bytes for pid "))
            }
            #expect(try String(contentsOfFile: report, encoding: .utf8) == "first\nsecond\n")
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
        }
    }
}
