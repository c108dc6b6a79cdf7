/// Reads frames from a blocking ``UnixSocketConnection``: the client side of the framed protocol on a thread of
/// your own.
///
/// ```swift
/// try connection.writeFrame(Array("ping".utf8))
/// let reader = FrameReader(connection: connection, maximumFrameSize: 1 << 20)
/// let reply = try reader.readFrame()    // nil once the server closed
/// ```
public final class FrameReader {
    public let connection: UnixSocketConnection
    private var decoder: FrameDecoder
    private var buffer: UnsafeMutableRawBufferPointer
    /// Frames decoded but not yet returned by ``readFrame()``.
    private var ready: [[UInt8]] = []
    private var readyIndex = 0

    /// - Parameters:
    ///   - connection: The connection to read frames from.
    ///   - maximumFrameSize: The longest payload accepted; a longer length field throws.
    ///   - readSize: Bytes read from the socket at most at once. Default 256 KiB.
    public init(connection: UnixSocketConnection, maximumFrameSize: Int, readSize: Int = 256 * 1024) {
        self.connection = connection
        self.decoder = FrameDecoder(maximumFrameSize: maximumFrameSize)
        self.buffer = .allocate(byteCount: readSize, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// Reads from the socket once (waiting for data) and calls `body` with every frame that completes, in order;
    /// the payload pointer is valid only during the call. Returns `false` at end of stream.
    ///
    /// - Throws: ``FrameError`` for a frame past the limit, or one cut short by the end of the stream;
    ///   ``UnixSocketError`` from the socket.
    public func read(_ body: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        let count = try connection.read(into: buffer)
        if count == 0 {
            if decoder.hasPartialFrame { throw FrameError(.truncated) }
            return false
        }
        try decoder.feed(UnsafeRawBufferPointer(rebasing: buffer[..<count]), body)
        return true
    }

    /// The next frame's payload, or `nil` once the peer has closed.
    public func readFrame() throws -> [UInt8]? {
        while readyIndex == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyIndex = 0
            guard try read({ ready.append(Array($0)) }) else { return nil }
        }
        defer { readyIndex += 1 }
        return ready[readyIndex]
    }
}

extension UnixSocketConnection {
    /// Writes one frame carrying `payload`: its length as 4 big-endian bytes, then the bytes, in one write.
    public func writeFrame(_ payload: UnsafeRawBufferPointer) throws {
        try withUnsafeTemporaryAllocation(byteCount: FrameDecoder.headerSize + payload.count, alignment: 4) { frame in
            let length = UInt32(payload.count).bigEndian
            withUnsafeBytes(of: length) { frame.copyMemory(from: $0) }
            UnsafeMutableRawBufferPointer(rebasing: frame[FrameDecoder.headerSize...]).copyMemory(from: payload)
            try write(UnsafeRawBufferPointer(frame))
        }
    }

    /// Writes one frame carrying `payload`.
    public func writeFrame(_ payload: [UInt8]) throws {
        try payload.withUnsafeBytes { try writeFrame($0) }
    }
}
