import NIOCore
import SystemPackage

/// What one read of a ``ConnectionTransport`` got.
enum TransportRead {
    /// This many bytes, at the start of the read buffer.
    case data(Int)
    /// Nothing is there now (`EAGAIN`).
    case wouldBlock
    /// The peer closed its side (for packets also an empty packet, which cannot be told from the end).
    case end
    /// A packet longer than the transport takes; the kernel has dropped it.
    case tooLarge(UnixSocketError)
}

/// How the bytes of a ``ConnectionDriver`` cross its socket: what one read is, how the messages in it are found, and
/// how queued output is written. One instance per connection, used on its reactor's thread only.
///
/// Three transports: ``StreamFrames`` (frames in a byte stream), ``Packets`` (one seqpacket packet per message) and
/// ``UntilEndOfStream`` (one message that ends when the peer half-closes).
///
/// The outbound queue holds bytes as ``queueForm``: for a stream, the bytes as they go on the wire; for packets,
/// each message length-prefixed, and it goes out as one packet without the prefix.
protocol ConnectionTransport: AnyObject {
    /// How messages queued for sending are marked out (always length-prefixed for packets).
    var framing: Framing { get }
    /// Whether a read shorter than the read buffer means the socket is empty (a byte stream): the read loop stops
    /// there instead of asking again for an `EAGAIN`.
    var stopsAtShortRead: Bool { get }
    /// Part of a message has arrived but not all of it.
    var hasPartialMessage: Bool { get }

    /// Reads once without blocking into `buffer`, taking up to `limit` passed descriptors into `passed`.
    func receive(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int
    ) throws(Errno) -> TransportRead

    /// Calls `body` with each message that the read `bytes` completes, and with the range where the message lies
    /// whole in `bytes` in its wire form (`nil` when it was gathered from earlier reads).
    ///
    /// - Throws: ``FrameError`` for a malformed frame (the messages before it are delivered); what `body` throws.
    func messages(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws

    /// Counts the messages that the read `bytes` completes into `count`, widens `whole` to cover those that lie whole
    /// in `bytes` (in wire form), and hands each one completed from earlier reads to `gathered` (decoders complete
    /// such a message before any other, so queueing it keeps the order). The per-message loop of an echo: the
    /// closures of a concrete transport are specialized into it, where ``messages(in:_:)`` calls one per message.
    ///
    /// - Throws: ``FrameError`` for a malformed frame; `count` and `whole` cover the messages before it.
    func scan(
        _ bytes: UnsafeRawBufferPointer, whole: inout Range<Int>?, count: inout MessageCount,
        gathered: (UnsafeRawBufferPointer) -> Void
    ) throws

    /// Sends `wire` (whole messages in wire form) now; returns how much the socket took, calling `sent` with the
    /// payload bytes of what went out. Packets: all of one packet or nothing.
    func sendNow(_ fd: CInt, _ wire: UnsafeRawBufferPointer, sent: (Int) -> Void) throws(Errno) -> Int

    /// Queues `wire` (as ``sendNow(_:_:sent:)`` takes it) behind what `queue` holds.
    func enqueue(wire: UnsafeRawBufferPointer, to queue: inout ByteBuffer)

    /// Writes from `queue` as far as the socket takes it, calling `sent` with the payload bytes of each write.
    func write(_ fd: CInt, _ queue: inout ByteBuffer, sent: (Int) -> Void) throws(Errno)
}

/// Messages and their payload bytes, counted once per read: pipelined frames come by the thousand.
struct MessageCount {
    var messages = 0
    var bytes = 0
}

extension ConnectionTransport {
    /// A read is one whole message (a packet, a chunk of the until-EOF message).
    func scan(
        _ bytes: UnsafeRawBufferPointer, whole: inout Range<Int>?, count: inout MessageCount,
        gathered: (UnsafeRawBufferPointer) -> Void
    ) throws {
        count.messages += 1
        count.bytes += bytes.count
        whole = bytes.indices
    }

    /// Queues `payload` as one message, marked out by ``framing``.
    func append(_ payload: UnsafeRawBufferPointer, to queue: inout ByteBuffer) {
        framing.append(payload, to: &queue)
    }
}

/// Byte-stream I/O that ``StreamFrames`` and ``UntilEndOfStream`` share.
private enum StreamIO {
    static func receive(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int
    ) throws(Errno) -> TransportRead {
        guard let count = try Syscall.receive(fd, into: buffer, passed: &passed, limit: limit) else {
            return .wouldBlock
        }
        return count == 0 ? .end : .data(count)
    }

    static func sendNow(_ fd: CInt, _ wire: UnsafeRawBufferPointer, sent: (Int) -> Void) throws(Errno) -> Int {
        let written = try Syscall.sendNonBlocking(fd, wire)
        sent(written)
        return written
    }

    static func write(_ fd: CInt, _ queue: inout ByteBuffer, sent: (Int) -> Void) throws(Errno) {
        let written = try queue.withUnsafeReadableBytes { raw throws(Errno) in try Syscall.sendNonBlocking(fd, raw) }
        queue.moveReaderIndex(forwardBy: written)
        sent(written)
        if queue.readableBytes == 0 {
            queue.clear()
        } else if queue.readerIndex > queue.readableBytes {
            queue.discardReadBytes()
        }
    }
}

/// A transport over a stream socket: reads and writes bytes as they come (``StreamIO``), however it marks out
/// messages.
protocol StreamTransport: ConnectionTransport {}

extension StreamTransport {
    func receive(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int
    ) throws(Errno) -> TransportRead {
        try StreamIO.receive(fd, into: buffer, passed: &passed, limit: limit)
    }

    func sendNow(_ fd: CInt, _ wire: UnsafeRawBufferPointer, sent: (Int) -> Void) throws(Errno) -> Int {
        try StreamIO.sendNow(fd, wire, sent: sent)
    }

    func enqueue(wire: UnsafeRawBufferPointer, to queue: inout ByteBuffer) { queue.writeBytes(wire) }

    func write(_ fd: CInt, _ queue: inout ByteBuffer, sent: (Int) -> Void) throws(Errno) {
        try StreamIO.write(fd, &queue, sent: sent)
    }
}

/// Frames in a byte stream, length-prefixed or delimited (``Framing``), decoded as they arrive.
final class StreamFrames: StreamTransport {
    private var decoder: FramingDecoder
    let framing: Framing

    init(_ framing: Framing, maximumFrameSize: Int) {
        self.framing = framing
        decoder = FramingDecoder(framing, maximumFrameSize: maximumFrameSize)
    }

    var stopsAtShortRead: Bool { true }
    var hasPartialMessage: Bool { decoder.hasPartialFrame }

    func messages(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        try decoder.feed(bytes, body)
    }

    /// As ``messages(in:_:)``, letting `takeRun` take runs of whole length-prefixed frames (``FrameDecoder``).
    func messages(
        in bytes: UnsafeRawBufferPointer, takingRuns takeRun: (Int) -> Int,
        _ body: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        try withoutActuallyEscaping(takeRun) { try decoder.feed(bytes, takingRuns: $0, body) }
    }

    var maximumFrameSize: Int { decoder.maximumFrameSize }

    func scan(
        _ bytes: UnsafeRawBufferPointer, whole: inout Range<Int>?, count: inout MessageCount,
        gathered: (UnsafeRawBufferPointer) -> Void
    ) throws {
        try decoder.feed(bytes) { payload, frame in
            count.messages += 1
            count.bytes += payload.count
            if let frame {
                whole = (whole?.lowerBound ?? frame.lowerBound)..<frame.upperBound
            } else {
                gathered(payload)
            }
        }
    }

}

/// The one message of a connection, read until the peer half-closes: each read is a chunk of it, as it came.
/// Stateless: every connection shares ``shared``, which saves one allocation per one-message connection.
final class UntilEndOfStream: StreamTransport, Sendable {
    static let shared = UntilEndOfStream()

    var framing: Framing { .lengthPrefixed }  // unused: a reply goes out as raw bytes (``enqueue(wire:to:)``)
    /// The end of stream is what the message waits for, so a short read does not end the loop: the next read most
    /// often finds it, which costs less than a round through epoll.
    var stopsAtShortRead: Bool { false }
    var hasPartialMessage: Bool { false }

    func messages(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        try body(bytes, bytes.indices)
    }

}

/// Seqpacket packets, each one message (over ``PacketIO``).
final class Packets: ConnectionTransport {
    /// The largest packet taken (also capped by the read buffer's size).
    let maximumSize: Int
    /// Who takes at most ``maximumSize`` and the settings that say so, for the error about a longer packet.
    private let receiver: String
    private let settings: String
    /// Called once, the first time an empty message goes out as an empty packet.
    var onEmptyPacket: (() -> Void)?

    private let socket: String?

    init(maximumSize: Int, receiver: String, settings: String = "", socket: String? = nil) {
        self.maximumSize = maximumSize
        self.receiver = receiver
        self.settings = settings
        self.socket = socket
    }

    var framing: Framing { .lengthPrefixed }
    var stopsAtShortRead: Bool { false }
    var hasPartialMessage: Bool { false }

    func receive(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int
    ) throws(Errno) -> TransportRead {
        guard let packet = try Syscall.receivePacket(fd, into: buffer, passed: &passed, limit: limit) else {
            return .wouldBlock
        }
        // An empty packet cannot be told from the end of the connection; both read as 0 bytes.
        if packet.length == 0 { return .end }
        let limit = min(maximumSize, buffer.count)
        guard !packet.isTruncated, packet.length <= limit else {
            return .tooLarge(
                UnixSocketError(
                    .messageTooLarge, operation: .read, socket: socket,
                    detail: "a packet of \(packet.length) bytes; \(receiver) takes at most \(limit)\(settings)"))
        }
        return .data(packet.length)
    }

    func messages(
        in bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer, Range<Int>?) throws -> Void
    ) throws {
        try body(bytes, bytes.indices)
    }

    func sendNow(_ fd: CInt, _ wire: UnsafeRawBufferPointer, sent: (Int) -> Void) throws(Errno) -> Int {
        guard try Syscall.sendPacket(fd, wire, dontWait: true) else { return 0 }
        sentPacket(wire.count, sent)
        return wire.count
    }

    func enqueue(wire: UnsafeRawBufferPointer, to queue: inout ByteBuffer) { append(wire, to: &queue) }

    func write(_ fd: CInt, _ queue: inout ByteBuffer, sent: (Int) -> Void) throws(Errno) {
        try PacketIO.sendQueued(fd, &queue) { sentPacket($0, sent) }
    }

    private func sentPacket(_ length: Int, _ sent: (Int) -> Void) {
        if length == 0, let warn = onEmptyPacket {
            onEmptyPacket = nil
            warn()
        }
        sent(length)
    }
}
