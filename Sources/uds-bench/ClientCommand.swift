import ArgumentParser
import UDSKit
import UDSLoad

struct ClientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client", abstract: "Run one eof scenario and print its RESULT line.")

    @Option var scenario: String
    @Option var socket: String
    @Option var count: Int = 20_000
    @Option var size: Int = 100
    @Option var concurrency: Int = 1

    func run() throws {
        ResourceLimits.raiseOpenFileLimit()
        guard let scenario = LoadOptions.Scenario(rawValue: scenario) else {
            throw ValidationError("unknown scenario \(self.scenario)")
        }
        let options = LoadOptions(
            scenario: scenario, address: try UnixSocketAddress(socket), count: count, size: size,
            concurrency: concurrency)
        let result = try Load.run(options)
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
