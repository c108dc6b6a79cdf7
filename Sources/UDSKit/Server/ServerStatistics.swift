import Metrics
import Synchronization

/// What a ``MessageServer`` has done so far: a snapshot of its counters.
///
/// The same figures go to swift-metrics (labels below, each with the dimension `socket`), so any metrics backend
/// bootstrapped with `MetricsSystem.bootstrap` (Prometheus through swift-prometheus, for one) shows them.
public struct ServerStatistics: Hashable, Sendable, CustomStringConvertible {
    /// Connections open now (`uds_connections_open`, a meter).
    public var openConnections: Int
    /// Connections accepted and admitted since the start (`uds_connections_total`).
    public var totalConnections: Int
    /// Peers the authorization policy refused (`uds_connections_refused`).
    public var refusedConnections: Int
    /// Messages (one per connection, or frames) received whole (`uds_messages`).
    public var messages: Int
    /// Payload bytes received (`uds_bytes_in`).
    public var bytesIn: Int
    /// Bytes written to clients (`uds_bytes_out`).
    public var bytesOut: Int
    /// Handler calls that threw (`uds_handler_errors`); handler durations go to the timer `uds_handler_duration`.
    public var handlerErrors: Int

    public var description: String {
        "connections \(openConnections) open, \(totalConnections) total, \(refusedConnections) refused; "
            + "messages \(messages); bytes in \(bytesIn), out \(bytesOut); handler errors \(handlerErrors)"
    }
}

/// The counters behind ``ServerStatistics``, kept as atomics and mirrored to swift-metrics.
final class ServerCounters: Sendable {
    private let open = Atomic<Int>(0)
    private let total = Atomic<Int>(0)
    private let refused = Atomic<Int>(0)
    private let messages = Atomic<Int>(0)
    private let bytesIn = Atomic<Int>(0)
    private let bytesOut = Atomic<Int>(0)
    private let handlerErrors = Atomic<Int>(0)

    private let openMeter: Meter
    private let totalCounter: Counter
    private let refusedCounter: Counter
    private let messageCounter: Counter
    private let bytesInCounter: Counter
    private let bytesOutCounter: Counter
    private let handlerErrorCounter: Counter
    private let handlerDuration: Metrics.Timer

    init(socket: String) {
        let dimensions = [("socket", socket)]
        openMeter = Meter(label: "uds_connections_open", dimensions: dimensions)
        totalCounter = Counter(label: "uds_connections_total", dimensions: dimensions)
        refusedCounter = Counter(label: "uds_connections_refused", dimensions: dimensions)
        messageCounter = Counter(label: "uds_messages", dimensions: dimensions)
        bytesInCounter = Counter(label: "uds_bytes_in", dimensions: dimensions)
        bytesOutCounter = Counter(label: "uds_bytes_out", dimensions: dimensions)
        handlerErrorCounter = Counter(label: "uds_handler_errors", dimensions: dimensions)
        handlerDuration = Metrics.Timer(label: "uds_handler_duration", dimensions: dimensions)
    }

    func connectionOpened() {
        open.add(1, ordering: .relaxed)
        total.add(1, ordering: .relaxed)
        openMeter.increment()
        totalCounter.increment()
    }

    func connectionClosed() {
        open.subtract(1, ordering: .relaxed)
        openMeter.decrement()
    }

    func refusedPeer() {
        refused.add(1, ordering: .relaxed)
        refusedCounter.increment()
    }

    func received(message bytes: Int) {
        messages.add(1, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
        messageCounter.increment()
        bytesInCounter.increment(by: Int64(bytes))
    }

    func received(frames: Int, bytes: Int) {
        messages.add(frames, ordering: .relaxed)
        bytesIn.add(bytes, ordering: .relaxed)
        messageCounter.increment(by: Int64(frames))
        bytesInCounter.increment(by: Int64(bytes))
    }

    func sent(_ bytes: Int) {
        guard bytes > 0 else { return }
        bytesOut.add(bytes, ordering: .relaxed)
        bytesOutCounter.increment(by: Int64(bytes))
    }

    func handlerFinished(startedAt start: ContinuousClock.Instant) {
        handlerDuration.record(duration: ContinuousClock.now - start)
    }

    func handlerFailed() {
        handlerErrors.add(1, ordering: .relaxed)
        handlerErrorCounter.increment()
    }

    var snapshot: ServerStatistics {
        ServerStatistics(
            openConnections: open.load(ordering: .relaxed), totalConnections: total.load(ordering: .relaxed),
            refusedConnections: refused.load(ordering: .relaxed), messages: messages.load(ordering: .relaxed),
            bytesIn: bytesIn.load(ordering: .relaxed), bytesOut: bytesOut.load(ordering: .relaxed),
            handlerErrors: handlerErrors.load(ordering: .relaxed))
    }
}
