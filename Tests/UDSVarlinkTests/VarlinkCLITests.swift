import Foundation
import Testing
import UDSKit
import UDSKitTestSupport
import UDSVarlink

/// `uds varlink …` against a UDSKit varlink service, and the reference `python3 -m varlink.cli` against the same.
@Suite("Varlink command line: uds varlink and python3 -m varlink.cli")
struct VarlinkCLITests {
    private func uds(_ arguments: String...) async throws -> (status: Int32, stdout: String, stderr: String) {
        try await ChildProcess.run(udsExecutable, ["varlink"] + arguments)
    }

    @Test func infoInterfaceAndCall() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let info = try await uds("info", "\(address)")
            #expect(info.status == 0, "\(info.stderr)")
            #expect(info.stdout.contains("Vendor: UDSKit tests\n"))
            #expect(info.stdout.hasSuffix("Interfaces:\n  org.varlink.service\n  org.example.ping\n"))

            let interface = try await uds("interface", "\(address)", "org.example.ping")
            #expect(interface.status == 0)
            #expect(interface.stdout == pingIDL + "\n")

            let call = try await uds("call", "\(address)", "org.example.ping.Ping", #"{"ping": "hi"}"#)
            #expect(call.status == 0, "\(call.stderr)")
            #expect(call.stdout == #"{"pong":"hi"}"# + "\n")

            let more = try await uds("call", address.socket.path!, "org.example.ping.Count", #"{"count": 3}"#, "--more")
            #expect(more.stdout == #"{"number":0}"# + "\n" + #"{"number":1}"# + "\n" + #"{"number":2}"# + "\n")

            let oneway = try await uds("call", "\(address)", "org.example.ping.Record", #"{"ping": "o"}"#, "--oneway")
            #expect(oneway.status == 0 && oneway.stdout.isEmpty)
        }
    }

    @Test func anErrorReplyIsOneLineAndExitStatus2() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let result = try await uds("call", "\(address)", "org.example.ping.Fail", #"{"ping": "x"}"#)
            #expect(result.status == 2)
            #expect(result.stdout.isEmpty)
            #expect(result.stderr == #"uds: org.example.ping.NotReady {"retry_after":5}"# + "\n")
            let missing = try await uds("call", "\(address)", "org.example.ping.Nope")
            #expect(
                missing.stderr == #"uds: org.varlink.service.MethodNotFound {"method":"org.example.ping.Nope"}"# + "\n")
        }
    }

    @Test func validateReportsLineAndColumn() async throws {
        try await withTemporaryDirectory { directory in
            let good = directory + "/org.example.ping.varlink"
            try pingIDL.write(toFile: good, atomically: true, encoding: .utf8)
            let ok = try await uds("validate", good)
            #expect(ok.status == 0)
            #expect(ok.stdout == "\(good): interface org.example.ping: 0 types, 7 methods, 1 errors\n")

            let bad = directory + "/bad.varlink"
            try "interface org.example.bad\nmethod Foo(a: int -> ()\n".write(
                toFile: bad, atomically: true, encoding: .utf8)
            let failed = try await uds("validate", bad)
            #expect(failed.status == 1)
            #expect(failed.stderr == "\(bad):2:19: expected ',' or ')' after a field, found '->'\n")
        }
    }

    @Test func pythonVarlinkCLIWorksAgainstOurServer() async throws {
        let (python, _) = try await pythonVarlink()
        try await withVarlinkServer(try pingService()) { address in
            let info = try await ChildProcess.run(python, ["-m", "varlink.cli", "info", "\(address)"])
            #expect(info.status == 0, "\(info.stderr)")
            #expect(info.stdout.contains("Vendor: UDSKit tests"))
            #expect(info.stdout.contains("org.example.ping"))

            let help = try await ChildProcess.run(python, ["-m", "varlink.cli", "help", "\(address)/org.example.ping"])
            #expect(help.status == 0, "\(help.stderr)")
            #expect(help.stdout.contains("method Ping(ping: string) -> (pong: string)"))

            let call = try await ChildProcess.run(
                python, ["-m", "varlink.cli", "call", "\(address)/org.example.ping.Ping", #"{"ping": "py"}"#])
            #expect(call.status == 0, "\(call.stderr)")
            #expect(try JSONValue(parsing: call.stdout) == ["pong": "py"])

            let more = try await ChildProcess.run(
                python, ["-m", "varlink.cli", "call", "--more", "\(address)/org.example.ping.Count", #"{"count": 2}"#])
            #expect(more.status == 0, "\(more.stderr)")
            #expect(more.stdout.contains("\"number\": 1"))
        }
    }
}
