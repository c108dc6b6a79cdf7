import Foundation
import UDSKitTestSupport

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
                let value = line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap({
                    Int($0)
                })
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
        // The sampling interval of a condition ("unchanged for half a second"), not a wait for a fixed time.
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
