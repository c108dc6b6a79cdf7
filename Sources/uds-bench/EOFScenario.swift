import Foundation
import Synchronization
import UDSKit

/// A failed check: the message goes to stderr and the exit status is non-zero.
struct ScenarioFailure: Error, CustomStringConvertible {
    var description: String
}

/// The eof protocol's client scenarios (oneshot, bulk, fanin), on blocking `UnixSocketConnection`s and threads.
struct EOFScenario: Sendable {
    let address: UnixSocketAddress
    let count: Int
    let size: Int
    let concurrency: Int

    /// C workers share N exchanges: connect, write SIZE bytes, half-close, read the acknowledgement.
    func oneshot() throws -> Double {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        let start = ContinuousClock.now
        runThreads(concurrency) { _ in
            while next.add(1, ordering: .relaxed).oldValue < count {
                do {
                    try exchange { connection in try connection.write(payload) }
                } catch {
                    failure.withLock { $0 = $0 ?? error }
                    return
                }
            }
        }
        let seconds = start.secondsSince
        if let error = failure.withLock({ $0 }) { throw error }
        return seconds
    }

    /// One exchange of SIZE bytes, written from a reused 1 MiB buffer.
    func bulk() throws -> Double {
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
        return start.secondsSince
    }

    /// Opens C connections and holds them; then writes SIZE bytes and half-closes on each; then reads every reply.
    func fanin() throws -> Double {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        let start = ContinuousClock.now
        var connections: [UnixSocketConnection] = []
        connections.reserveCapacity(concurrency)
        for _ in 0..<concurrency {
            connections.append(try UnixSocketConnection.connect(to: address))
        }
        for connection in connections {
            try connection.write(payload)
            try connection.closeWrite()
        }
        for connection in connections {
            try check(try connection.readToEnd(maximumSize: 64))
            connection.close()
        }
        return start.secondsSince
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
            throw ScenarioFailure(
                description: "expected the acknowledgement \(size), got \(String(decoding: reply, as: UTF8.self).debugDescription)")
        }
    }
}

/// Runs `body` on `count` threads and waits for all of them.
func runThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        Thread.detachNewThread {
            body(index)
            group.leave()
        }
    }
    group.wait()
}

extension ContinuousClock.Instant {
    var secondsSince: Double {
        let elapsed = ContinuousClock.now - self
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
