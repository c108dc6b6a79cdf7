import Dispatch
import Histogram
import Synchronization
import UDSKit

/// The framed protocol's scenarios (pingpong, pipeline), on blocking connections and threads.
struct FramedScenario: Sendable {
    let options: LoadOptions
    let progress: LoadProgress
    private var address: UnixSocketAddress { options.address }
    private var size: Int { options.size }

    func run() throws -> LoadResult {
        options.scenario == .pipeline ? try pipeline() : try pingpong()
    }

    /// One connection; N round trips (or as many as fit in the duration) of one frame each.
    private func pingpong() throws -> LoadResult {
        let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var latencies = Load.makeHistogram()
        let start = ContinuousClock.now
        let deadline = options.duration.map { start + $0 }
        let count = options.duration == nil ? options.count : Int.max
        let exchange = try options.seqPacket ? packetExchange(payload) : frameExchange(payload)
        var done = 0
        while done < count {
            let sent = ContinuousClock.now
            if let deadline, sent >= deadline { break }
            guard let echo = try exchange() else {
                throw LoadFailure("the server closed the connection before echoing")
            }
            _ = latencies.record(sent.nanosecondsSince)
            guard echo == payload else { throw LoadFailure("an echo differs from the frame sent") }
            done += 1
            if done & 255 == 0 { progress.add(256) }
        }
        progress.add(done & 255)
        return LoadResult(operations: done, seconds: start.secondsSince, latencies: latencies)
    }

    /// One round trip of `payload` in a frame on a new stream connection, which the closure keeps open.
    private func frameExchange(_ payload: [UInt8]) throws -> () throws -> [UInt8]? {
        let connection = try UnixSocketConnection.connect(to: address)
        let reader = FrameReader(connection: connection, maximumFrameSize: max(size, 1 << 20))
        return {
            try connection.writeFrame(payload)
            return try reader.readFrame()
        }
    }

    /// One round trip of `payload` as a packet on a new seqpacket connection, which the closure keeps open.
    private func packetExchange(_ payload: [UInt8]) throws -> () throws -> [UInt8]? {
        let connection = try SeqPacketConnection.connect(to: address)
        let message = Message(bytes: payload)
        return {
            try connection.send(message)
            return try connection.receive(maximumSize: max(payload.count, 1))?.bytes
        }
    }

    /// C connections; each writes its share of N frames back to back while a second thread reads the echoes.
    private func pipeline() throws -> LoadResult {
        let (count, concurrency) = (options.count, options.concurrency)
        let results = WorkerResults()
        let start = ContinuousClock.now
        runThreads(concurrency) { index in
            let frames = count / concurrency + (index < count % concurrency ? 1 : 0)
            do {
                try pipe(frames: frames, seed: index)
            } catch {
                results.fail(error)
            }
        }
        let seconds = start.secondsSince
        _ = try results.get()
        return LoadResult(operations: count, seconds: seconds, latencies: Load.makeHistogram())
    }

    private func pipe(frames: Int, seed: Int) throws {
        let connection = try UnixSocketConnection.connect(to: address)
        defer { connection.close() }
        // Frame i carries pattern[(i + seed) % 251 ..< that + size]: every echo is checked byte for byte, cheaply.
        let pattern = (0..<(251 + size)).map { UInt8($0 % 251) }
        let writerFailure = Locked<(any Error)?>(nil)
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
        DetachedThread.start {
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
        // The echoes must be the sent stream byte for byte (the C peer checks the same way): each read is compared
        // with the frames written at that offset in long runs, which checks every length and payload with a memcmp
        // per run instead of a decoded frame and a memcmp per frame.
        let frameLength = size + 4
        let expected = frames * frameLength
        var got = 0
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 256 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        try cycle.withUnsafeBytes { cycle in
            while got < expected {
                let count = try connection.read(
                    into: UnsafeMutableRawBufferPointer(rebasing: buffer[..<min(buffer.count, expected - got)]))
                guard count > 0 else {
                    throw LoadFailure("the server closed after \(got / frameLength) of \(frames) echoes")
                }
                var checked = 0
                while checked < count {
                    let at = (got + checked) % cycle.count
                    let run = min(count - checked, cycle.count - at)
                    guard bytesEqual(buffer.baseAddress! + checked, cycle.baseAddress! + at, count: run) else {
                        throw LoadFailure(
                            "the echo of frame \((got + checked) / frameLength) differs from the frame sent")
                    }
                    checked += run
                }
                progress.add((got + count) / frameLength - got / frameLength)
                got += count
            }
        }
        done.wait()
        if let error = writerFailure.withLock({ $0 }) { throw error }
    }
}
