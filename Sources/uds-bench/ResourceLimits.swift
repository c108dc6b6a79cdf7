import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

enum ResourceLimits {
    /// Raises the soft limit on open descriptors to the hard limit: fanin holds 10,000 connections.
    static func raiseOpenFileLimit() {
        var limit = rlimit()
        #if os(Linux)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }

    /// The CPUs this process may run on (its affinity mask, which the runner pins), read from `Cpus_allowed` in
    /// /proc/self/status since Glibc's module does not export `sched_getaffinity`; at least 1.
    static var usableCPUCount: Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed:") })
        else { return 1 }
        let count = line.dropFirst("Cpus_allowed:".count).reduce(0) { total, character in
            total + (character.hexDigitValue?.nonzeroBitCount ?? 0)
        }
        return max(1, count)
    }
}
