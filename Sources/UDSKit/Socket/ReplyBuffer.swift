/// The bytes of a reply as they arrive, up to a limit, until the peer closes its side.
public struct ReplyBuffer: Sendable {
    /// Everything read so far.
    public private(set) var bytes: [UInt8] = []
    /// The most bytes accepted; one more is ``UnixSocketError/Code/replyTooLarge``.
    public let maximumSize: Int
    /// Whether the peer has closed its side: the reply is whole.
    public private(set) var isComplete = false

    public init(maximumSize: Int) { self.maximumSize = maximumSize }

    /// Reads once from `connection` (waiting for data) and adds what came.
    mutating func read(from connection: UnixSocketConnection) throws {
        try withUnsafeTemporaryAllocation(byteCount: 16 * 1024, alignment: 16) { chunk in
            let count = try connection.read(into: chunk)
            if count == 0 {
                isComplete = true
                return
            }
            guard bytes.count + count <= maximumSize else {
                throw UnixSocketError(
                    .replyTooLarge, operation: .read, socket: connection.address.description,
                    detail: "more than the limit of \(maximumSize) bytes")
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[..<count]))
        }
    }
}
