import NIOCore
import Synchronization
import SystemPackage
import UDSKit

/// Prints whole messages on standard output, one at a time, each ending in a newline.
final class MessagePrinter: Sendable {
    private let lock = Locked(())

    /// Prints `message` and a newline if it lacks one; an empty message (a client that connected and closed without
    /// sending, like a readiness probe) prints nothing.
    func print(_ message: Message) {
        guard message.count > 0 else { return }
        var buffer = message.buffer
        if buffer.readableBytesView.last != UInt8(ascii: "\n") { buffer.writeInteger(UInt8(ascii: "\n")) }
        lock.withLock { _ in
            _ = try? buffer.withUnsafeReadableBytes { try FileDescriptor.standardOutput.writeAll($0) }
        }
    }
}
