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
        let eof = EOFScenario(address: address, count: count, size: size, concurrency: concurrency)
        let framed = FramedScenario(address: address, count: count, size: size, concurrency: concurrency)
        let seconds: Double
        var percentiles = ""
        switch scenario {
        case "oneshot": seconds = try eof.oneshot()
        case "bulk": seconds = try eof.bulk()
        case "fanin": seconds = try eof.fanin()
        case "pipeline": seconds = try framed.pipeline()
        case "pingpong":
            let (elapsed, latencies) = try framed.pingpong()
            seconds = elapsed
            let sorted = latencies.sorted()
            func rank(_ p: Double) -> Double { sorted[max(0, Int((p * Double(sorted.count)).rounded(.up)) - 1)] }
            percentiles = " p50_us=\(format(rank(0.5))) p99_us=\(format(rank(0.99)))"
        default: throw ValidationError("unknown scenario \(scenario)")
        }
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
