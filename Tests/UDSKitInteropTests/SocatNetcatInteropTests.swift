import Foundation
import Testing
import UDSKitTestSupport

/// `uds serve` with socat and OpenBSD nc as clients: both half-close the socket at the end of their standard input and
/// print the reply.
@Suite("socat and nc")
struct SocatNetcatInteropTests {
    enum Tool: String, CaseIterable {
        case socat, nc

        /// The tool's executable and arguments for a connection to `path` that sends standard input.
        func command(path: String) throws -> (String, [String]) {
            switch self {
            case .socat: return (try requireExecutable("socat"), ["-t", "5", "-", "UNIX-CONNECT:" + path])
            case .nc: return (try requireExecutable("nc"), ["-U", "-N", path])  // -N: shutdown(SHUT_WR) at stdin EOF
            }
        }
    }

    @Test(arguments: Tool.allCases)
    func messageIsPrintedAndAcknowledged(tool: Tool) async throws {
        try await withUDSServe { server, path in
            let message = "hello from \(tool)\nsecond line\n"
            let (executable, arguments) = try tool.command(path: path)
            let reply = try await runSucceeding(executable, arguments, stdin: Data(message.utf8))
            #expect(reply == "\(message.utf8.count)\n")
            #expect(server.stdout.contains(message))
        }
    }

    @Test(arguments: Tool.allCases)
    func largeMessageIsAcknowledged(tool: Tool) async throws {
        let message = patternBytes(4 * 1024 * 1024)
        try await withUDSServe(["--quiet"]) { _, path in
            let (executable, arguments) = try tool.command(path: path)
            let reply = try await runSucceeding(executable, arguments, stdin: message)
            #expect(reply == "\(message.count)\n")
        }
    }

    @Test(arguments: Tool.allCases, [false, true])
    func replyEchoSendsBackTheStandardInput(tool: Tool, quiet: Bool) async throws {
        let text = String(repeating: "echo, échо, 回声\n", count: 40_000)
        try await withUDSServe(["--reply", "echo"] + (quiet ? ["--quiet"] : [])) { server, path in
            let (executable, arguments) = try tool.command(path: path)
            let echoed = try await runSucceeding(executable, arguments, stdin: Data(text.utf8))
            #expect(echoed.utf8.count == text.utf8.count)
            #expect(echoed == text)
            if !quiet { #expect(server.stdout.contains(text)) }
        }
    }

    @Test func emptyMessageFromSocatIsAcknowledgedWithZero() async throws {
        try await withUDSServe(["--quiet"]) { _, path in
            let (executable, arguments) = try Tool.socat.command(path: path)
            let reply = try await runSucceeding(executable, arguments, stdin: Data())
            #expect(reply == "0\n")
        }
    }
}
