import ArgumentParser
import UDSKit

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
        let address = try UnixSocketAddress(socket)
        let scenario = EOFScenario(address: address, count: count, size: size, concurrency: concurrency)
        let seconds: Double
        do {
            switch self.scenario {
            case "oneshot": seconds = try scenario.oneshot()
            case "bulk": seconds = try scenario.bulk()
            case "fanin": seconds = try scenario.fanin()
            default: throw ValidationError("scenario \(self.scenario) is not implemented by uds-bench yet")
            }
        } catch let error as ScenarioFailure {
            throw error
        }
        let rate = Double(count) / seconds
        let mbps = Double(count) * Double(size) / seconds / 1e6
        print(
            "RESULT scenario=\(self.scenario) count=\(count) size=\(size) concurrency=\(concurrency) "
                + "seconds=\(format(seconds)) rate=\(format(rate)) mbps=\(format(mbps))")
    }

    private func format(_ value: Double) -> String {
        String(Double(Int((value * 1e6).rounded())) / 1e6)
    }
}
