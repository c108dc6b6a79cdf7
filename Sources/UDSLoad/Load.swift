import Histogram
import Synchronization
import UDSKit

/// One load run against a server: the scenarios of ../shared/bench/CONTRACT.md, shared by `uds bench` and
/// `uds-bench` so that both measure the same thing the same way.
package struct LoadOptions: Sendable {
    package enum Scenario: String, CaseIterable, Sendable {
        case oneshot, bulk, fanin, pingpong, pipeline

        /// Whether the scenario talks to a framed server (the others to a one-message-per-connection one).
        package var isFramed: Bool { self == .pingpong || self == .pipeline }
    }

    package var scenario: Scenario
    package var address: UnixSocketAddress
    /// Exchanges (or frames); ignored when ``duration`` is set.
    package var count: Int
    package var size: Int
    package var concurrency: Int
    /// Run for this long instead of ``count`` operations (oneshot and pingpong).
    package var duration: Duration?
    /// Pingpong over a seqpacket socket: each message one packet, no frame header.
    package var seqPacket = false
    /// With the async API: run the tasks on the client reactor's executor (the default), or on the global
    /// concurrent executor, where each exchange costs a wake-up of the reactor and one of the task.
    package var prefersClientExecutor = true

    package init(
        scenario: Scenario, address: UnixSocketAddress, count: Int, size: Int, concurrency: Int,
        duration: Duration? = nil
    ) {
        self.scenario = scenario
        self.address = address
        self.count = count
        self.size = size
        self.concurrency = concurrency
        self.duration = duration
    }
}

/// What a load run measured.
package struct LoadResult: Sendable {
    /// Operations done: exchanges, round trips, or echoed frames.
    package var operations: Int
    package var seconds: Double
    /// Latency of each operation in nanoseconds (empty for pipeline, where frames overlap).
    package var latencies: Histogram<UInt64>

    package var rate: Double { Double(operations) / seconds }

    /// The latency at `percentile` (0–100), in microseconds.
    package func latency(atPercentile percentile: Double) -> Double {
        Double(latencies.valueAtPercentile(percentile)) / 1000
    }

    /// The longest latency recorded, in microseconds.
    package var maximumLatency: Double { Double(latencies.max) / 1000 }

    /// Whether latencies were recorded (not for pipeline).
    package var hasLatencies: Bool { latencies.totalCount > 0 }
}

/// Operations completed so far, for a progress display while a run goes on.
package final class LoadProgress: Sendable {
    private let done = Atomic<Int>(0)
    package init() {}
    package var completed: Int { done.load(ordering: .relaxed) }
    func add(_ count: Int) { done.add(count, ordering: .relaxed) }
}

/// A failed check: the message goes to stderr and the exit status is non-zero.
package struct LoadFailure: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

package enum Load {
    /// Runs the scenario and checks every reply; throws on the first failed check.
    package static func run(_ options: LoadOptions, progress: LoadProgress = LoadProgress()) throws -> LoadResult {
        switch options.scenario {
        case .oneshot, .bulk, .fanin: return try EOFScenario(options: options, progress: progress).run()
        case .pingpong, .pipeline: return try FramedScenario(options: options, progress: progress).run()
        }
    }

    /// Runs the scenario through UDSKit's public async API from tasks (``AsyncScenario``), with the same checks.
    package static func runAsync(_ options: LoadOptions, progress: LoadProgress = LoadProgress()) async throws
        -> LoadResult
    {
        try await AsyncScenario(options: options, progress: progress).run()
    }

    /// A histogram for latencies in nanoseconds, up to an hour.
    static func makeHistogram() -> Histogram<UInt64> {
        Histogram(highestTrackableValue: 3_600_000_000_000, numberOfSignificantValueDigits: .three)
    }
}

/// The first error any worker thread hit, and the latencies they recorded.
final class WorkerResults: Sendable {
    private let state = Locked<(failure: (any Error)?, latencies: Histogram<UInt64>)>((nil, Load.makeHistogram()))

    func fail(_ error: any Error) { state.withLock { $0.failure = $0.failure ?? error } }
    var hasFailed: Bool { state.withLock { $0.failure != nil } }
    func merge(_ histogram: Histogram<UInt64>) { state.withLock { $0.latencies.add(histogram) } }

    /// The merged latencies, or the first failure.
    func get() throws -> Histogram<UInt64> {
        try state.withLock { state in
            if let failure = state.failure { throw failure }
            return state.latencies
        }
    }
}
