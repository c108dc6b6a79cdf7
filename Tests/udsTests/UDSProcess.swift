import Foundation
import UDSKitTestSupport

/// Runs the built `uds` with `arguments` to its end.
func uds(_ arguments: String..., stdin: String? = nil, timeout: Double = 30) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try await ChildProcess.run(udsExecutable, arguments, stdin: stdin.map { Data($0.utf8) }, timeout: timeout)
}

/// Starts `uds serve PATH extra…`, waits until it accepts, runs `body`, then stops it with SIGTERM and checks that
/// it exited 0.
func withServe<T>(
    _ path: String,
    _ extra: [String] = [],
    _ body: (ChildProcess) async throws -> T
) async throws -> T {
    let server = try ChildProcess(udsExecutable, ["serve", path] + extra)
    do {
        try await waitForServer(at: path)
    } catch {
        throw TestFailure("uds serve did not start: \(server.stderr)")
    }
    let result = try await body(server)
    server.signal(SIGTERM)
    let status = try await server.waitForExit()
    guard status == 0 else { throw TestFailure("uds serve exited \(status): \(server.stderr)") }
    return result
}
