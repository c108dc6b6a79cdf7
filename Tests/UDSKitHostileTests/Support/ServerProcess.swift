import Foundation
import UDSKitTestSupport

/// Starts `uds serve PATH arguments…` as a child, waits until it accepts, runs `body`, then stops it with SIGTERM
/// and checks that it exited 0. Running the server in a process of its own lets a test read its memory and
/// descriptors from /proc without counting the clients'.
func withServe<T>(
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

/// A process's memory as /proc/PID/status tells it, in KiB.
struct Memory: CustomStringConvertible {
    /// Resident now (`VmRSS`).
    var resident: Int
    /// Resident at most, ever (`VmHWM`).
    var peak: Int

    init(of pid: Int32) throws {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func field(_ name: String) throws -> Int {
            guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix(name + ":") }),
                let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({ Int($0) })
            else { throw TestFailure("no \(name) in /proc/\(pid)/status") }
            return value
        }
        resident = try field("VmRSS")
        peak = try field("VmHWM")
    }

    var description: String { "resident \(resident / 1024) MiB, peak \(peak / 1024) MiB" }
}

/// The number of descriptors `pid` has open.
func openDescriptorCount(_ pid: Int32) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
}

/// The number of descriptors `pid` has open once it has stopped changing for half a second (a server that just
/// started may still be setting up its signal handling, one that just served a client may not have closed it yet).
func settledDescriptorCount(_ pid: Int32, timeout: Double = 30) async throws -> Int {
    var last = try openDescriptorCount(pid)
    var stableSince = Date()
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        try await Task.sleep(for: .milliseconds(50))
        let now = try openDescriptorCount(pid)
        if now != last {
            last = now
            stableSince = Date()
        } else if Date().timeIntervalSince(stableSince) >= 0.5 {
            break
        }
    }
    return last
}

/// Raises this process's soft descriptor limit to its hard limit (children inherit it); throws if that is below
/// `needed`.
func raiseDescriptorLimit(toAtLeast needed: Int) throws {
    var limit = rlimit()
    guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw TestFailure("getrlimit failed: errno \(errno)") }
    guard limit.rlim_max >= needed else {
        throw TestFailure("this test needs \(needed) descriptors; the hard RLIMIT_NOFILE is \(limit.rlim_max)")
    }
    limit.rlim_cur = limit.rlim_max
    guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { throw TestFailure("setrlimit failed: errno \(errno)") }
}

/// Polls `condition` every 50 ms until it holds; returns false if it still does not after `timeout` seconds.
func eventually(timeout: Double = 30, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while Date() < deadline {
        if try condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return try condition()
}

/// The lines of `text` that contain `fragment`.
func lines(of text: String, containing fragment: String) -> [Substring] {
    text.split(separator: "\n").filter { $0.contains(fragment) }
}
