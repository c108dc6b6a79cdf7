import Dispatch
import NIOCore
import Synchronization
import SystemPackage
import UDSKit

/// Prints whole messages on standard output, one after another, each ending in a newline, in memory bounded
/// whatever the size of the messages.
///
/// A message is collected in a ``Spool`` while it arrives: in memory while all spools together hold at most
/// ``memoryBudget`` bytes, and past that in an unlinked temporary file (in `TMPDIR`, else `/tmp`). Once the message
/// is whole its spool is queued, and one printing thread (a serial dispatch queue, not a Swift concurrency thread)
/// writes the spools in the order they were queued. So messages never interleave, a client that sends slowly holds
/// up nobody (its message is queued only once it is whole), and a reader of standard output that is slow holds up no
/// client's acknowledgement, which is sent once the message is spooled. Memory: the budget plus the chunks each
/// connection has in flight (a few hundred KiB), whatever the size of the messages.
final class MessagePrinter: Sendable {
    /// The printer of `uds serve`.
    static let standardOutput = MessagePrinter()

    /// Bytes the spools of all messages keep in memory at most; past it a spool moves to a temporary file.
    let memoryBudget: Int
    private let memoryInUse = Atomic<Int>(0)
    private let queue = DispatchQueue(label: "uds.printer")
    /// Spools on their way to the queue. Handed over under this lock, which Thread Sanitizer sees, rather than in the
    /// dispatched closure alone.
    private let queued = Locked<[Spool]>([])

    init(memoryBudget: Int = 16 * 1024 * 1024) {
        self.memoryBudget = memoryBudget
    }

    /// Prints `message` and a newline if it lacks one; an empty message (a client that connected and closed without
    /// sending, like a readiness probe) prints nothing. Returns once the message is queued, before it is printed.
    func print(_ message: Message) throws {
        let spool = Spool(printer: self)
        try spool.append(message.buffer)
        enqueue(spool)
    }

    /// Spools `body` as it arrives, then queues it for printing; returns the number of bytes. If the body fails (the
    /// client went away mid-message) nothing is printed.
    func print(_ body: MessageBody) async throws -> Int {
        let spool = Spool(printer: self)
        for try await chunk in body { try spool.append(chunk) }
        let count = spool.count
        enqueue(spool)
        return count
    }

    /// Returns once everything queued so far is printed.
    func finish() async {
        await withCheckedContinuation { continuation in queue.async { continuation.resume() } }
    }

    private func enqueue(_ spool: Spool) {
        guard spool.count > 0 else { return }
        queued.withLock { $0.append(spool) }
        queue.async { [queued] in
            let next = queued.withLock { $0.removeFirst() }
            next.printAndDiscard()
        }
    }

    /// Takes `count` bytes of the memory budget if that many are left.
    fileprivate func reserve(_ count: Int) -> Bool {
        var current = memoryInUse.load(ordering: .relaxed)
        while true {
            guard current + count <= memoryBudget else { return false }
            let (exchanged, original) = memoryInUse.compareExchange(
                expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    fileprivate func release(_ count: Int) {
        if count > 0 { memoryInUse.subtract(count, ordering: .relaxed) }
    }
}

/// One message on its way to standard output: chunks in memory, or an unlinked temporary file once the printer's
/// memory budget would be passed. Filled by one task, then handed to the printing queue.
private final class Spool: @unchecked Sendable {
    private let printer: MessagePrinter
    private var chunks: [ByteBuffer] = []
    private var reserved = 0
    private var file: SystemPackage.FileDescriptor?
    private(set) var count = 0
    private var lastByte: UInt8?

    init(printer: MessagePrinter) { self.printer = printer }

    deinit {
        printer.release(reserved)
        if let file { try? file.close() }
    }

    func append(_ chunk: ByteBuffer) throws {
        guard chunk.readableBytes > 0 else { return }
        count += chunk.readableBytes
        lastByte = chunk.readableBytesView.last
        if file == nil && printer.reserve(chunk.readableBytes) {
            reserved += chunk.readableBytes
            chunks.append(chunk)
            return
        }
        let file = try self.file ?? moveToFile()
        try chunk.withUnsafeReadableBytes { _ = try file.writeAll($0) }
    }

    /// Opens the temporary file and moves the chunks kept so far into it.
    private func moveToFile() throws -> SystemPackage.FileDescriptor {
        let directory = Syscall.environment("TMPDIR").flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        let file: SystemPackage.FileDescriptor
        do {
            file = try Syscall.makeUnlinkedTemporaryFile(in: directory)
        } catch {
            throw UnixSocketError(
                .system, operation: .spool, socket: directory, systemError: error,
                detail: "cannot make a temporary file to hold the message until it is printed")
        }
        self.file = file
        for chunk in chunks { try chunk.withUnsafeReadableBytes { _ = try file.writeAll($0) } }
        chunks = []
        printer.release(reserved)
        reserved = 0
        return file
    }

    /// Writes the message and a newline if it lacks one to standard output, then lets go of its memory and file.
    func printAndDiscard() {
        let output = SystemPackage.FileDescriptor.standardOutput
        do {
            for chunk in chunks { try chunk.withUnsafeReadableBytes { _ = try output.writeAll($0) } }
            chunks = []
            if let file {
                var offset: Int64 = 0
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1024 * 1024, alignment: 16)
                defer { buffer.deallocate() }
                while true {
                    let read = try file.read(fromAbsoluteOffset: offset, into: buffer)
                    if read == 0 { break }
                    offset += Int64(read)
                    _ = try output.writeAll(UnsafeRawBufferPointer(rebasing: buffer[..<read]))
                }
            }
            if lastByte != UInt8(ascii: "\n") {
                _ = try [UInt8(ascii: "\n")].withUnsafeBytes { try output.writeAll($0) }
            }
        } catch {
            // Standard output is gone (a closed pipe): nothing to print to; the message was acknowledged already.
        }
        printer.release(reserved)
        reserved = 0
        if let file { try? file.close() }
        file = nil
    }
}
