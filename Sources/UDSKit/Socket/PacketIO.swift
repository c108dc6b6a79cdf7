import NIOCore
import SystemPackage

/// What seqpacket connections and datagram sockets share: one receive into a message of at most a given size, and
/// errors that name the kernel's limits.
enum PacketIO {
    struct Received {
        var message: Message
        var packet: ReceivedPacket
        var passed: Passed
        /// The message was longer than allowed and is gone; its sender and credentials are still known.
        var tooLarge: UnixSocketError? = nil
    }

    /// Up to this limit a receive allocates its whole `maximumSize`; past it, it peeks at the message's length.
    static let preallocationLimit = 256 * 1024

    /// Receives one packet or datagram of at most `maximumSize` bytes, with up to `limit` passed descriptors.
    ///
    /// A longer message comes back with ``Received/tooLarge`` set (the kernel has dropped it, and its descriptors
    /// are closed).
    ///
    /// - Throws: ``UnixSocketError/Code/timedOut`` past the read timeout.
    static func receive(
        _ fd: CInt, maximumSize: Int, limit: Int, wantsSender: Bool, socket: String?
    ) throws(UnixSocketError) -> Received {
        guard
            let received = try receive(
                fd, maximumSize: maximumSize, limit: limit, wantsSender: wantsSender, socket: socket, dontWait: false)
        else { throw timedOut(socket) }
        return received
    }

    /// As ``receive(_:maximumSize:limit:wantsSender:socket:)``; with `dontWait`, `nil` when nothing is there.
    static func receive(
        _ fd: CInt, maximumSize: Int, limit: Int, wantsSender: Bool, socket: String?, dontWait: Bool
    ) throws(UnixSocketError) -> Received? {
        var passed = Passed()
        var buffer = ByteBuffer()
        // One byte more than allowed, so that a message of exactly maximumSize is not mistaken for a cut one. Past
        // a few hundred KiB, learn the message's length first rather than allocate the whole limit for every one.
        var capacity = maximumSize + 1
        if maximumSize > Self.preallocationLimit {
            let next: Int?
            do throws(Errno) {
                next = try Syscall.peekPacketLength(fd, dontWait: dontWait)
            } catch {
                throw UnixSocketError.from(error, operation: .receive, socket: socket)
            }
            guard let next else { return nil }
            capacity = min(next, maximumSize) + 1
        }
        var packet: ReceivedPacket?
        var failure: Errno?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
            do throws(Errno) {
                packet = try Syscall.receivePacket(
                    fd, into: UnsafeMutableRawBufferPointer(rebasing: raw[..<capacity]), passed: &passed,
                    limit: limit, wantsSender: wantsSender, dontWait: dontWait)
            } catch {
                failure = error
            }
            return min(packet?.length ?? 0, capacity - 1)
        }
        if let failure { throw UnixSocketError.from(failure, operation: .receive, socket: socket) }
        guard let packet else { return nil }
        if packet.length > maximumSize || packet.isTruncated {
            return Received(
                message: .empty, packet: packet, passed: Passed(),
                tooLarge: UnixSocketError(
                    .messageTooLarge, operation: .receive, socket: socket,
                    detail: "a message of \(packet.length) bytes arrived, more than the \(maximumSize) accepted; "
                        + "the kernel dropped it"))
        }
        if buffer.capacity > 2 * buffer.readableBytes + 1024 {
            buffer = ByteBuffer(buffer: buffer)  // do not keep maximumSize for a short message
        }
        return Received(message: Message(buffer: buffer), packet: packet, passed: passed)
    }

    /// Sends the length-prefixed messages queued in `queue`, one packet each without its prefix, until the socket
    /// (non-blocking) is full; calls `sent` with each payload's length. What is left stays queued.
    static func sendQueued(_ fd: CInt, _ queue: inout ByteBuffer, sent: (Int) -> Void) throws(Errno) {
        while queue.readableBytes >= FrameDecoder.headerSize {
            let length = Int(queue.getInteger(at: queue.readerIndex, as: UInt32.self)!)
            let payload = FrameDecoder.headerSize..<FrameDecoder.headerSize + length
            let wasSent = try queue.withUnsafeReadableBytes { raw throws(Errno) in
                try Syscall.sendPacket(fd, UnsafeRawBufferPointer(rebasing: raw[payload]), dontWait: true)
            }
            guard wasSent else { break }
            queue.moveReaderIndex(forwardBy: payload.upperBound)
            sent(length)
        }
        if queue.readableBytes == 0 {
            queue.clear()
        } else if queue.readerIndex > queue.readableBytes {
            queue.discardReadBytes()
        }
    }

    /// A blocking socket's read timeout ran out (`EAGAIN`).
    private static func timedOut(_ socket: String?) -> UnixSocketError {
        UnixSocketError(.timedOut, operation: .receive, socket: socket, systemError: .resourceTemporarilyUnavailable)
    }

    /// The error for a failed send of `bytes` bytes on `fd`: `EMSGSIZE` names the send buffer that limits a message.
    static func sendFailure(_ error: Errno, bytes: Int, descriptor fd: CInt, socket: String?) -> UnixSocketError {
        switch error {
        case .messageTooLong:
            let limit =
                Syscall.sendBufferSize(fd).map { "its send buffer (SO_SNDBUF) is \($0) bytes" } ?? "see SO_SNDBUF"
            return UnixSocketError(
                .messageTooLarge, operation: .send, socket: socket, systemError: error,
                detail: "\(bytes) bytes do not fit in one message on this socket; \(limit), "
                    + "less some overhead, and net.core.wmem_max caps it")
        case .resourceTemporarilyUnavailable:
            return UnixSocketError(.timedOut, operation: .send, socket: socket, systemError: error)
        default:
            return UnixSocketError.from(error, operation: .send, socket: socket)
        }
    }
}
