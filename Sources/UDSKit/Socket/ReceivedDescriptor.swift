import Synchronization
public import SystemPackage

/// An open file descriptor another process passed over a Unix socket (`SCM_RIGHTS`), owned by this value: it is
/// closed when the value is released, unless you ``take()`` it.
///
/// Received descriptors are close-on-exec, so a child process does not inherit them by accident.
public final class ReceivedDescriptor: Sendable, CustomStringConvertible {
    private let raw: CInt
    private let isOwned = Atomic<Bool>(true)

    init(_ raw: CInt) { self.raw = raw }

    deinit {
        if isOwned.load(ordering: .relaxed) { Syscall.close(raw) }
    }

    /// The descriptor, still owned by this value: valid while it lives.
    public var descriptor: FileDescriptor { FileDescriptor(rawValue: raw) }

    /// Hands the descriptor over: the caller closes it. Taking it twice is a programming error.
    public func take() -> FileDescriptor {
        precondition(isOwned.exchange(false, ordering: .relaxed), "the descriptor was already taken")
        return FileDescriptor(rawValue: raw)
    }

    public var description: String { "descriptor \(raw)" }
}

/// Descriptors that came with bytes, and whether more came than were kept.
struct Passed {
    var descriptors: [ReceivedDescriptor] = []
    /// More descriptors arrived than the receiver keeps, or the kernel cut them short: the extra ones were closed.
    var wasTruncated = false
}
