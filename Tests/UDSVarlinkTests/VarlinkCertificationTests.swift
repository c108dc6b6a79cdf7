import Foundation
import Testing
import UDSKit
import UDSKitTestSupport
import UDSVarlink

/// Certification both ways against the reference implementation, PyPI's `varlink`: its certification client
/// against `varlink-certification serve`, and `varlink-certification client` against its certification server
/// (`varlink/tests/test_certification.py`). Test01 … Test11, `more` and `oneway` included.
@Suite("Varlink certification against the Python reference implementation")
struct VarlinkCertificationTests {
    @Test func referenceClientPassesAgainstOurServer() async throws {
        let (python, package) = try await pythonVarlink()
        try await withTemporaryDirectory { directory in
            let socket = directory + "/cert.sock"
            let server = try ChildProcess(certificationExecutable, ["serve", "unix:" + socket])
            try await waitForServer(at: socket)
            let client = try await ChildProcess.run(
                python, [package + "/tests/test_certification.py", "--client", "--varlink=unix:" + socket], timeout: 60)
            #expect(client.status == 0, "stdout: \(client.stdout)\nstderr: \(client.stderr)")
            #expect(client.stdout.contains("End: {'all_ok': True}"))
            #expect(client.stdout.contains("Certification passed"))
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
        }
    }

    @Test func ourClientPassesAgainstTheReferenceServer() async throws {
        let (python, package) = try await pythonVarlink()
        try await withTemporaryDirectory { directory in
            let socket = directory + "/cert.sock"
            let server = try ChildProcess(
                python, [package + "/tests/test_certification.py", "--varlink=unix:" + socket])
            do {
                try await waitForServer(at: socket)
            } catch {
                throw TestFailure("the Python certification server did not start: \(server.stderr)")
            }
            let client = try await ChildProcess.run(certificationExecutable, ["client", "unix:" + socket], timeout: 60)
            #expect(client.status == 0, "stdout: \(client.stdout)\nstderr: \(client.stderr)")
            #expect(client.stdout.contains("End: all_ok true"))
            server.signal(SIGKILL)
            _ = try await server.waitForExit()
        }
    }

    @Test func ourClientPassesAgainstOurServer() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/cert.sock"
            let server = try ChildProcess(certificationExecutable, ["serve", "unix:" + socket])
            try await waitForServer(at: socket)
            let client = try await ChildProcess.run(certificationExecutable, ["client", "unix:" + socket], timeout: 60)
            #expect(client.status == 0, "stdout: \(client.stdout)\nstderr: \(client.stderr)")
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0)
        }
    }

    @Test func outOfOrderCallsAreCertificationErrors() async throws {
        try await withTemporaryDirectory { directory in
            let socket = directory + "/cert.sock"
            let server = try ChildProcess(certificationExecutable, ["serve", "unix:" + socket])
            try await waitForServer(at: socket)
            let client = try await VarlinkClient.connect(to: try VarlinkAddress("unix:" + socket))
            let start = try await client.call("org.varlink.certification.Start", parameters: nil)
            let id = try #require(start["client_id"])
            do {
                _ = try await client.call(
                    "org.varlink.certification.Test02", parameters: ["client_id": id, "bool": true])
                Issue.record("Test02 before Test01 passed")
            } catch let error as VarlinkError {
                #expect(error.name == "org.varlink.certification.CertificationError")
            }
            await #expect(throws: VarlinkError(name: "org.varlink.certification.ClientIdError")) {
                try await client.call("org.varlink.certification.Test01", parameters: ["client_id": "nobody"])
            }
            await client.close()
            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0)
        }
    }
}
