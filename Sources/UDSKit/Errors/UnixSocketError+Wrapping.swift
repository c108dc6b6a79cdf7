import SystemPackage

extension UnixSocketError {
    /// `error` as a ``UnixSocketError``: itself if it is one, the `Errno` of a failed system call mapped as
    /// ``from(_:operation:socket:)`` does, and anything else as ``Code/system`` with its description as the detail.
    static func wrapping(_ error: any Error, operation: String, socket: String?) -> UnixSocketError {
        switch error {
        case let error as UnixSocketError: return error
        case let error as Errno: return from(error, operation: operation, socket: socket)
        default: return UnixSocketError(.system, operation: operation, socket: socket, detail: "\(error)")
        }
    }
}
