import Foundation

/// Starts `uds serve PATH arguments…` as a child, waits until it accepts, runs `body`, then stops it with SIGTERM
/// and checks that it was still running and exits 0. When `body` throws, the server is stopped all the same.
/// Running the server in a process of its own lets a test read its output, memory and descriptors without counting
/// the clients'.
public func withServe<T>(
    _ path: String,
    _ arguments: [String] = [],
    _ body: (ChildProcess) async throws -> T
) async throws -> T {
    let server = try ChildProcess(udsExecutable, ["serve", path] + arguments)
    do {
        try await waitForServer(at: path)
    } catch {
        throw TestFailure("uds serve did not start: \(error); \(server.stderr)")
    }
    let result: T
    do {
        result = try await body(server)
    } catch {
        server.signal(SIGTERM)
        _ = try? await server.waitForExit()
        throw error
    }
    guard server.isRunning else { throw TestFailure("uds serve died: \(server.stderr)") }
    server.signal(SIGTERM)
    let status = try await server.waitForExit(timeout: 60)
    guard status == 0 else { throw TestFailure("uds serve exited \(status): \(server.stderr)") }
    return result
}

/// The lines of `text` (a server's log, say) that contain `fragment` (all of them for an empty one).
public func lines(of text: String, containing fragment: String) -> [Substring] {
    text.split(separator: "\n").filter { fragment.isEmpty || $0.contains(fragment) }
}

/// How many of this process's descriptors are open on `file` (from /proc/self/fd): how a test sees that passed or
/// received descriptors were closed.
public func openDescriptors(on file: String) -> Int {
    let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
    return fds.filter { (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\($0)")) == file }
        .count
}
