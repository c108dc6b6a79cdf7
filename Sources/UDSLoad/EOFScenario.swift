import Histogram
import Synchronization
import UDSKit

/// The eof protocol's scenarios (oneshot, bulk, fanin), on blocking `UnixSocketConnection`s and threads.
struct EOFScenario: Sendable {
    let options: LoadOptions
    let progress: LoadProgress
    private var address: UnixSocketAddress { options.address }
    private var size: Int { options.size }

    func run() throws -> LoadResult {
        switch options.scenario {
        case .bulk: return try bulk()
        case .fanin: return try fanin()
        default: return try oneshot()
        }
    }

    /// C workers share N exchanges (or run for a duration): connect, write SIZE bytes, half-close, read the
    /// acknowledgement.
    private func oneshot() throws -> LoadResult {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let next = Atomic<Int>(0)
        let results = WorkerResults()
        let start = ContinuousClock.now
        let deadline = options.duration.map { start + $0 }
        let count = options.duration == nil ? options.count : Int.max
        runThreads(options.concurrency) { _ in
            var latencies = Load.makeHistogram()
            defer { results.merge(latencies) }
            while next.add(1, ordering: .relaxed).oldValue < count, !results.hasFailed {
                if let deadline, ContinuousClock.now >= deadline { return }
                let began = ContinuousClock.now
                do {
                    try exchange { connection in try connection.write(payload) }
                } catch {
                    return results.fail(error)
                }
                _ = latencies.record(began.nanosecondsSince)
                progress.add(1)
            }
        }
        let seconds = start.secondsSince
        let latencies = try results.get()
        return LoadResult(operations: Int(latencies.totalCount), seconds: seconds, latencies: latencies)
    }

    /// One exchange of SIZE bytes, written from a reused 1 MiB buffer.
    private func bulk() throws -> LoadResult {
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: min(size, 1 << 20))
        let start = ContinuousClock.now
        try exchange { connection in
            var left = size
            try chunk.withUnsafeBytes { raw in
                while left > 0 {
                    let part = min(left, raw.count)
                    try connection.write(UnsafeRawBufferPointer(rebasing: raw[..<part]))
                    left -= part
                }
            }
        }
        var latencies = Load.makeHistogram()
        _ = latencies.record(start.nanosecondsSince)
        progress.add(1)
        return LoadResult(operations: 1, seconds: start.secondsSince, latencies: latencies)
    }

    /// Opens C connections and holds them; then writes SIZE bytes and half-closes on each; then reads every reply.
    /// Each connection's latency runs from its write to its reply.
    private func fanin() throws -> LoadResult {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let start = ContinuousClock.now
        var connections: [UnixSocketConnection] = []
        connections.reserveCapacity(options.concurrency)
        for _ in 0..<options.concurrency {
            connections.append(try UnixSocketConnection.connect(to: address))
        }
        var written: [ContinuousClock.Instant] = []
        written.reserveCapacity(connections.count)
        for connection in connections {
            written.append(.now)
            try connection.write(payload)
            try connection.closeWrite()
        }
        var latencies = Load.makeHistogram()
        for (connection, began) in zip(connections, written) {
            try check(try connection.readToEnd(maximumSize: 64))
            _ = latencies.record(began.nanosecondsSince)
            connection.close()
            progress.add(1)
        }
        return LoadResult(operations: connections.count, seconds: start.secondsSince, latencies: latencies)
    }

    private func exchange(_ write: (UnixSocketConnection) throws -> Void) throws {
        let connection = try UnixSocketConnection.connect(to: address)
        defer { connection.close() }
        try write(connection)
        try connection.closeWrite()
        try check(try connection.readToEnd(maximumSize: 64))
    }

    private func check(_ reply: [UInt8]) throws {
        guard Acknowledgement.byteCount(in: Message(bytes: reply)) == size else {
            throw LoadFailure(
                "expected the acknowledgement \(size), got \(String(decoding: reply, as: UTF8.self).debugDescription)")
        }
    }
}
