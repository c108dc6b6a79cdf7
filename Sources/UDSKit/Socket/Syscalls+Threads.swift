import CUDSKit

// Threads and CPUs: the C library calls behind the reactors' threads.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

extension Syscall {
    /// The CPUs this process may run on (its affinity mask on Linux, the online CPUs elsewhere), at least 1.
    static var usableCPUCount: Int {
        #if os(Linux)
            return max(1, Int(cudskit_usable_cpus()))
        #else
            return max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        #endif
    }

    /// Runs `body` on a new detached thread (`pthread_create`). Failing to start one is fatal: it means the process
    /// is out of threads or memory.
    static func startDetachedThread(_ body: @escaping @Sendable () -> Void) {
        final class Box: Sendable {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        var thread = pthread_t()
        let result = pthread_create(
            &thread, nil,
            { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
        pthread_detach(thread)
    }
}
