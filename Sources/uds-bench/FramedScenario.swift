import Foundation
import Synchronization
import UDSKit

/// The framed protocol's client scenarios (pingpong, pipeline), on blocking connections and threads.
struct FramedScenario: Sendable {
    let address: UnixSocketAddress
    let count: Int
    let size: Int
    let concurrency: Int

    /// One connection; N round trips of one frame. Returns the seconds and the round-trip times in microseconds.
    func pingpong() throws -> (seconds: Double, latencies: [Double]) {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var latencies: [Double] = []
        latencies.reserveCapacity(count)
        let start = ContinuousClock.now
        let connection = try UnixSocketConnection.connect(to: address)
        defer { connection.close() }
        let reader = FrameReader(connection: connection, maximumFrameSize: max(size, 1 << 20))
        for _ in 0..<count {
            let sent = ContinuousClock.now
            try connection.writeFrame(payload)
            guard let echo = try reader.readFrame() else {
                throw ScenarioFailure(description: "the server closed the connection before echoing")
            }
            latencies.append(sent.secondsSince * 1e6)
            guard echo == payload else { throw ScenarioFailure(description: "an echo differs from the frame sent") }
        }
        return (start.secondsSince, latencies)
    }

    /// C connections; each writes its share of N frames back to back while a second thread reads the echoes.
    func pipeline() throws -> Double {
        let failure = Mutex<(any Error)?>(nil)
        let start = ContinuousClock.now
        runThreads(concurrency) { index in
            let frames = count / concurrency + (index < count % concurrency ? 1 : 0)
            do {
                try pipe(frames: frames, seed: index)
            } catch {
                failure.withLock { $0 = $0 ?? error }
            }
        }
        let seconds = start.secondsSince
        if let error = failure.withLock({ $0 }) { throw error }
        return seconds
    }

    private func pipe(frames: Int, seed: Int) throws {
        let connection = try UnixSocketConnection.connect(to: address)
        defer { connection.close() }
        // Frame i carries pattern[(i + seed) % 251 ..< that + size]: every echo is checked byte for byte, cheaply.
        let pattern = (0..<(251 + size)).map { UInt8($0 % 251) }
        let writerFailure = Mutex<(any Error)?>(nil)
        let done = DispatchSemaphore(value: 0)
        // Payloads repeat every 251 frames: build those frames once and write them over and over.
        var cycle = [UInt8]()
        for frame in 0..<251 {
            let start = (frame + seed) % 251
            withUnsafeBytes(of: UInt32(size).bigEndian) { cycle.append(contentsOf: $0) }
            cycle.append(contentsOf: pattern[start..<start + size])
        }
        let cycles = max(1, (64 * 1024) / cycle.count)
        let batch = Array([[UInt8]](repeating: cycle, count: cycles).joined())
        Thread.detachNewThread {
            defer { done.signal() }
            do {
                var left = frames
                try batch.withUnsafeBytes { batch in
                    while left > 0 {
                        let count = min(left, 251 * cycles)  // frames in this write; always starts a cycle
                        try connection.write(UnsafeRawBufferPointer(rebasing: batch[..<(count * (size + 4))]))
                        left -= count
                    }
                }
            } catch {
                writerFailure.withLock { $0 = error }
            }
        }
        let reader = FrameReader(connection: connection, maximumFrameSize: max(size, 1 << 20))
        var received = 0
        try pattern.withUnsafeBytes { pattern in
            while received < frames {
                let more = try reader.read { echo in
                    let start = (received + seed) % 251
                    guard echo.count == size,
                        size == 0 || memcmp(echo.baseAddress!, pattern.baseAddress! + start, size) == 0
                    else {
                        throw ScenarioFailure(description: "echo of frame \(received) differs from the frame sent")
                    }
                    received += 1
                }
                if !more {
                    throw ScenarioFailure(description: "the server closed after \(received) of \(frames) echoes")
                }
            }
        }
        done.wait()
        if let error = writerFailure.withLock({ $0 }) { throw error }
    }
}
