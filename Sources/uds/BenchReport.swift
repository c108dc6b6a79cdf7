import Dispatch
import SystemPackage
import UDSKit
import UDSLoad
import UDSVarlink

/// The summary of a `uds bench` run, for people (text with a latency histogram) or machines (JSON).
enum BenchReport {
    static let percentiles: [(label: String, value: Double)] = [
        ("p50", 50), ("p90", 90), ("p99", 99), ("p99.9", 99.9),
    ]

    static func text(_ options: LoadOptions, _ result: LoadResult) -> String {
        let seconds = NumberFormat.fixed(result.seconds, digits: 3)
        let megabytes = NumberFormat.fixed(
            Double(result.operations) * Double(options.size) / result.seconds / 1e6, digits: 1)
        var lines = [
            "\(options.scenario.rawValue) on \(options.address): \(result.operations) \(options.scenario.unit) of "
                + "\(options.size) bytes, \(options.concurrency) connection(s), \(seconds) s",
            "throughput: \(grouped(result.rate)) \(options.scenario.unit)/s, \(megabytes) MB/s",
        ]
        guard result.hasLatencies else { return lines.joined(separator: "\n") }
        let values = percentiles.map { "\($0.label) \(micro(result.latency(atPercentile: $0.value)))" }
        lines.append("latency: " + values.joined(separator: "  ") + "  max \(micro(result.maximumLatency))")
        lines.append(contentsOf: histogram(result))
        return lines.joined(separator: "\n")
    }

    /// A bar per latency band between p0 and p99.9, as share of operations.
    static func histogram(_ result: LoadResult, bands: Int = 10, width: Int = 40) -> [String] {
        let low = result.latency(atPercentile: 0)
        let high = max(result.latency(atPercentile: 99.9), low + 1)
        let step = (high - low) / Double(bands)
        var counts = [Int](repeating: 0, count: bands)
        // percentiles in 0.1% steps approximate the distribution without walking the histogram's buckets
        for permille in 0..<1000 {
            let value = result.latency(atPercentile: Double(permille) / 10)
            counts[min(bands - 1, max(0, Int((value - low) / step)))] += 1
        }
        let largest = max(1, counts.max() ?? 1)
        return counts.enumerated().map { index, count in
            let from = low + Double(index) * step
            let bar = String(repeating: "█", count: count * width / largest)
            let label = micro(from)
            let padded = String(repeating: " ", count: max(0, 9 - label.count)) + label
            return padded + " |" + bar + " " + NumberFormat.fixed(Double(count) / 10, digits: 1) + "%"
        }
    }

    static func json(_ options: LoadOptions, _ result: LoadResult) -> String {
        var object: [String: JSONValue] = [
            "scenario": .string(options.scenario.rawValue), "socket": .string("\(options.address)"),
            "count": .int(Int64(result.operations)), "size": .int(Int64(options.size)),
            "concurrency": .int(Int64(options.concurrency)), "seconds": .double(result.seconds),
            "rate": .double(result.rate),
            "mbps": .double(Double(result.operations) * Double(options.size) / result.seconds / 1e6),
        ]
        if result.hasLatencies {
            var latency: [String: JSONValue] = ["max": .double(result.maximumLatency)]
            for (label, value) in percentiles { latency[label] = .double(result.latency(atPercentile: value)) }
            object["latency_us"] = .object(latency)
        }
        return JSONValue.object(object).jsonText
    }

    static func micro(_ value: Double) -> String {
        value >= 1000 ? NumberFormat.fixed(value / 1000, digits: 1) + "ms" : NumberFormat.fixed(value, digits: 1) + "µs"
    }

    static func grouped(_ value: Double) -> String { NumberFormat.grouped(value) }
}

/// Shows how far a run is: a line redrawn in place on a terminal, a plain line a second otherwise (none for
/// --json).
final class ProgressReporter: @unchecked Sendable {
    private let progress: LoadProgress
    private let total: Int?
    private let unit: String
    private let isTerminal = Syscall.isTerminal(.standardError)
    private let interactive: Bool
    private var timer: (any DispatchSourceTimer)?
    private let startedAt = ContinuousClock.now

    init(progress: LoadProgress, total: Int?, unit: String, interactive: Bool) {
        self.progress = progress
        self.total = total
        self.unit = unit
        self.interactive = interactive
    }

    func start() {
        guard interactive else { return }
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + (isTerminal ? 0.2 : 1), repeating: isTerminal ? 0.2 : 1)
        timer.setEventHandler { [self] in draw() }
        timer.resume()
        self.timer = timer
    }

    private func draw() {
        let done = progress.completed
        let seconds = max(0.001, Self.seconds(ContinuousClock.now - startedAt))
        var line = "\(done)"
        if let total { line += "/\(total)" }
        line += " \(unit), \(BenchReport.grouped(Double(done) / seconds))/s"
        ProgressLine.write(isTerminal ? "\r\u{1B}[K" + line : line + "\n")
    }

    func stop() {
        timer?.cancel()
        if isTerminal && interactive { ProgressLine.write("\r\u{1B}[K") }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
