import NIOCore
import SystemPackage

/// A ``ConnectionDriver``'s bytes waiting for the socket, in its transport's queue form, and what the last write
/// said of the socket. A value the driver owns, on its reactor's thread.
struct OutboundQueue {
    /// The bytes queued.
    private(set) var bytes = ByteBuffer()
    /// Descriptors to pass with the next bytes written (stream transports); they stay open, their owner closes them.
    var descriptorsToSend: [CInt] = []
    /// The last write left bytes queued: wait for writability instead of trying again in vain. Last, so that the
    /// driver's flags fill the bytes after it.
    var isSocketFull = false

    var isEmpty: Bool { bytes.readableBytes == 0 }
    var count: Int { bytes.readableBytes }

    /// Sends `wire` (whole messages in wire form) now if nothing waits before it, and queues what the socket does
    /// not take, calling `sent` with the payload bytes that went out.
    mutating func send(
        _ wire: UnsafeRawBufferPointer, to fd: CInt, over transport: any ConnectionTransport, sent: (Int) -> Void
    ) throws(Errno) {
        guard isEmpty, !isSocketFull, descriptorsToSend.isEmpty else {
            return transport.enqueue(wire: wire, to: &bytes)
        }
        let taken = try transport.sendNow(fd, wire, sent: sent)
        guard taken < wire.count else { return }
        transport.enqueue(wire: UnsafeRawBufferPointer(rebasing: wire[taken...]), to: &bytes)
        isSocketFull = true
    }

    /// Queues `payload` as one message, marked out as `transport` sends it.
    mutating func append(_ payload: UnsafeRawBufferPointer, for transport: any ConnectionTransport) {
        transport.append(payload, to: &bytes)
    }

    /// Queues bytes already in queue form; into an empty queue they go without a copy. `framed` is left empty.
    mutating func take(_ framed: inout ByteBuffer) {
        if isEmpty {
            swap(&bytes, &framed)
            framed.clear()
        } else {
            bytes.writeBuffer(&framed)
        }
    }

    /// Queues a copy of bytes already in queue form.
    mutating func append(queueForm: UnsafeRawBufferPointer) { bytes.writeBytes(queueForm) }

    /// One write of what is queued, with ``descriptorsToSend`` on its first bytes; marks the socket full when it
    /// did not take everything.
    mutating func write(to fd: CInt, over transport: any ConnectionTransport, sent: (Int) -> Void) throws(Errno) {
        if descriptorsToSend.isEmpty {
            try transport.write(fd, &bytes, sent: sent)
        } else {
            let descriptors = descriptorsToSend
            let written = try bytes.withUnsafeReadableBytes { raw throws(Errno) in
                let first = UnsafeRawBufferPointer(rebasing: raw[..<min(raw.count, 4096)])
                return try Syscall.sendPassing(fd, first, descriptors: descriptors, dontWait: true)
            }
            if written > 0 {
                descriptorsToSend = []
                bytes.moveReaderIndex(forwardBy: written)
                sent(written)
            }
        }
        if !isEmpty { isSocketFull = true }
    }

    /// Drops what is queued.
    mutating func removeAll() {
        bytes = ByteBuffer()
        isSocketFull = false
    }
}
