import Synchronization
import SystemPackage
import UDSKit

/// A progress line on standard error, redrawn in place at most ten times a second: only when standard error is a
/// terminal, so that nothing extra reaches a pipe or a log.
final class ProgressLine: Sendable {
    private struct State {
        var lastDrawn = ContinuousClock.now - .seconds(1)  // the first update draws at once
        var drawn = false
    }
    private let state = Locked(State())
    private let start = ContinuousClock.now
    private let total: Int?

    /// A progress line, or `nil` when standard error is not a terminal.
    init?(total: Int?) {
        guard Syscall.isTerminal(.standardError) else { return nil }
        self.total = total
    }

    /// Shows `sent` bytes so far and the rate.
    func update(_ sent: Int) {
        let now = ContinuousClock.now
        let due = state.withLock { state in
            guard now - state.lastDrawn >= .milliseconds(100) else { return false }
            state.lastDrawn = now
            state.drawn = true
            return true
        }
        guard due else { return }
        let seconds = max(
            1e-9, Double((now - start).components.attoseconds) / 1e18 + Double((now - start).components.seconds))
        var line = "sent \(Self.format(sent))"
        if let total, total > 0 { line += " of \(Self.format(total)) (\(sent * 100 / total)%)" }
        line += " at \(Self.format(Int(Double(sent) / seconds)))/s"
        Self.write("\r\u{1B}[K" + line)
    }

    /// Clears the line.
    func finish() {
        if state.withLock({ $0.drawn }) { Self.write("\r\u{1B}[K") }
    }

    static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : NumberFormat.fixed(value, digits: 1) + " " + units[unit]
    }

    /// Writes `text` to standard error, all of it; a failure is ignored (the line is only a courtesy).
    static func write(_ text: String) {
        var text = text
        _ = try? text.withUTF8 { try FileDescriptor.standardError.writeAll($0) }
    }
}
