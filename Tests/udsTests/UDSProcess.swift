import Foundation
import UDSKitTestSupport

/// Runs the built `uds` with `arguments` to its end.
func uds(_ arguments: [String], stdin: String? = nil, timeout: Double = 30) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try await ChildProcess.run(udsExecutable, arguments, stdin: stdin.map { Data($0.utf8) }, timeout: timeout)
}

/// Runs the built `uds` with `arguments` to its end.
func uds(_ arguments: String..., stdin: String? = nil, timeout: Double = 30) async throws
    -> (status: Int32, stdout: String, stderr: String)
{
    try await uds(arguments, stdin: stdin, timeout: timeout)
}
