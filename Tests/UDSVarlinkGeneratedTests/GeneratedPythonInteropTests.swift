import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

@testable import UDSVarlink

/// The generated server against the reference implementation's client, `python3 -m varlink.cli` (PyPI `varlink`,
/// installed by Scripts/install-test-peers.sh), which fetches and parses the interface before it calls.
@Suite("Generated varlink server against python3 -m varlink.cli")
struct GeneratedPythonInteropTests {
    private func python(_ arguments: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
        let python = try requireExecutable("python3")
        let check = try await ChildProcess.run(python, ["-c", "import varlink"])
        guard check.status == 0 else {
            throw TestFailure(
                "python3 cannot import varlink (Scripts/install-test-peers.sh installs it): \(check.stderr)")
        }
        return try await ChildProcess.run(python, ["-m", "varlink.cli"] + arguments, timeout: 60)
    }

    /// The JSON object(s) python printed, parsed.
    private func objects(_ stdout: String) throws -> [JSONValue] {
        // varlink.cli prints each reply as indented JSON, one after the other.
        let compact = stdout.replacingOccurrences(of: "\n}\n{", with: "\n},\n{")
        guard case .array(let replies) = try JSONValue(parsing: "[" + compact + "]") else { return [] }
        return replies
    }

    @Test func pythonCallsEveryKindOfField() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let shape = try VarlinkJSON.value(of: Shapes.square)
            let call = try await python(
                "call", "\(address)/org.example.generated.Draw", #"{"shape": \#(shape.jsonText), "scale": 3}"#)
            #expect(call.status == 0, "\(call.stderr)")
            let reply = try #require(try objects(call.stdout).first)
            #expect(reply["point_count"] == 3)
            #expect(reply["shape"]?["points"] == [["x": 0, "y": 0], ["x": 3, "y": 0], ["x": 3, "y": 3]])
            #expect(reply["shape"]?["default"] == true)
            #expect(reply["shape"]?["self"] == 7)
            #expect(reply["shape"]?["colour"] == "dark_blue")
        }
    }

    @Test func pythonStreamsAMoreCall() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let call = try await python("call", "--more", "\(address)/org.example.generated.Count", #"{"count": 4}"#)
            #expect(call.status == 0, "\(call.stderr)")
            #expect(try objects(call.stdout) == [["number": 1], ["number": 2], ["number": 3], ["number": 4]])
        }
    }

    @Test func pythonGetsTheInterfaceErrorWithItsParameters() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let call = try await python("call", "\(address)/org.example.generated.Fail", #"{"error": "refused"}"#)
            #expect(call.stderr.contains("org.example.generated.Refused"), "\(call.stdout) \(call.stderr)")
            #expect(call.stderr.contains("'retry_after': 5"), "\(call.stderr)")
        }
    }

    @Test func pythonParsesTheInterfaceTheGeneratedServerDescribes() async throws {
        try await withVarlinkServer(try Shapes.service()) { address in
            let help = try await python("help", "\(address)/org.example.generated")
            #expect(help.status == 0, "\(help.stderr)")
            #expect(help.stdout.contains("interface org.example.generated"))
            #expect(help.stdout.contains("error Refused"))
        }
    }
}
