#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Raises this process's soft descriptor limit to its hard one (children inherit it) and returns the limit now in
/// force; throws if that is below `needed`.
@discardableResult
public func raiseDescriptorLimit(toAtLeast needed: Int = 0) throws -> Int {
    var limit = rlimit()
    #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
        let resource = RLIMIT_NOFILE
    #endif
    guard getrlimit(resource, &limit) == 0 else { throw TestFailure("getrlimit failed: errno \(errno)") }
    guard limit.rlim_max >= needed else {
        throw TestFailure("this test needs \(needed) descriptors; the hard RLIMIT_NOFILE is \(limit.rlim_max)")
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(resource, &limit) == 0 else { throw TestFailure("setrlimit failed: errno \(errno)") }
    }
    return Int(clamping: limit.rlim_cur)
}
