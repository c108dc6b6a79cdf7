import ArgumentParser
import UDSKit
import UDSLoad

struct ClientCommand: AsyncParsableCommand {
    /// Which of UDSKit's client APIs drives the scenario.
    enum API: String, ExpressibleByArgument, CaseIterable {
        /// The blocking building blocks (`UnixSocketConnection`, `SeqPacketConnection`) on threads.
        case blocking
        /// The public async API (`MessageClient`, `FramedClient`) from tasks, as an application calls it.
        case async
    }

    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Run one eof scenario and print its RESULT line.")

    @Option var scenario: LoadOptions.Scenario
    @Option var socket: String
    @Option var count: Int = 20_000
    @Option var size: Int = 100
    @Option var concurrency: Int = 1
    @Option(help: "blocking (default): the blocking building blocks on threads; async: the public async API from tasks")
    var api: API = .blocking
    @Option(
        help:
            "with --api async: client (default), tasks on the client reactor's executor; global, on the global executor"
    )
    var executor: Executor = .client

    /// Where `--api async` runs its tasks.
    enum Executor: String, ExpressibleByArgument, CaseIterable {
        case client, global
    }

    func run() async throws {
        Syscall.raiseOpenFileLimit()
        var options = LoadOptions(
            scenario: scenario, address: try UnixSocketAddress(socket), count: count, size: size,
            concurrency: concurrency)
        options.prefersClientExecutor = executor == .client
        let result = api == .async ? try await Load.runAsync(options) : try Load.run(options)
        var percentiles = ""
        if scenario == .pingpong {
            // nearest-rank percentiles of the round-trip times, in microseconds
            let p50 = result.latency(atPercentile: 50)
            let p99 = result.latency(atPercentile: 99)
            percentiles = " p50_us=\(format(p50)) p99_us=\(format(p99))"
        }
        let seconds = result.seconds
        let rate = Double(count) / seconds
        let mbps = Double(count) * Double(size) / seconds / 1e6
        print(
            "RESULT scenario=\(scenario) count=\(count) size=\(size) concurrency=\(concurrency) "
                + "seconds=\(format(seconds)) rate=\(format(rate)) mbps=\(format(mbps))\(percentiles)")
    }

    private func format(_ value: Double) -> String {
        String(Double(Int((value * 1e6).rounded())) / 1e6)
    }
}
