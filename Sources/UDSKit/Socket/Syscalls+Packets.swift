import CUDSKit
import SystemPackage

// Message-oriented sends and receives (SOCK_SEQPACKET, SOCK_DGRAM): a message goes whole or not at all, and one that
// is longer than the receiver's buffer is reported, not silently cut.
#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

private let cBind = bind

/// What came with one packet or datagram besides its bytes.
struct ReceivedPacket {
    /// The packet's real length; more than the buffer when ``isTruncated``.
    var length: Int
    /// The packet did not fit the buffer: the kernel dropped its rest.
    var isTruncated: Bool
    /// The sender's address (datagrams; `nil` for an unbound sender or when not asked for).
    var sender: UnixSocketAddress?
    /// The sender's credentials, when the socket asked for them (`SO_PASSCRED`, Linux).
    var credentials: PeerCredentials?
}

extension Syscall {
    /// Sends `buffer` as one packet or datagram, with `descriptors` attached, to `address` (`nil`: the connected
    /// peer). Returns `false` if it would block and `dontWait`; a message the socket cannot hold at all fails with
    /// `EMSGSIZE`.
    static func sendPacket(
        _ fd: CInt, _ buffer: UnsafeRawBufferPointer, descriptors: [CInt] = [], to address: UnixSocketAddress? = nil,
        dontWait: Bool
    ) throws(Errno) -> Bool {
        func send(_ name: UnsafePointer<sockaddr>?, _ length: socklen_t) throws(Errno) -> Int {
            try retryingInterrupts {
                descriptors.withUnsafeBufferPointer { fds in
                    cudskit_send_message(
                        fd, buffer.baseAddress, UInt(buffer.count), fds.baseAddress, CInt(fds.count), name,
                        UInt32(length), dontWait ? 1 : 0)
                }
            }
        }
        do {
            if let address {
                _ = try address.withSockAddr { (name, length) throws(Errno) in try send(name, length) }
            } else {
                _ = try send(nil, 0)
            }
            return true
        } catch .resourceTemporarilyUnavailable where dontWait {
            return false
        }
    }

    /// Receives one packet or datagram into `buffer`, taking up to `limit` passed descriptors into `passed` (more
    /// are closed). `nil` when nothing is there and `dontWait` (or a blocking socket's read timeout ran out).
    static func receivePacket(
        _ fd: CInt, into buffer: UnsafeMutableRawBufferPointer, passed: inout Passed, limit: Int,
        wantsSender: Bool = false, dontWait: Bool = false
    ) throws(Errno) -> ReceivedPacket? {
        var info = cudskit_received()
        var address = sockaddr_un()
        let capacity = UInt32(MemoryLayout<sockaddr_un>.size)
        let options = CUDSKIT_RECEIVE_PACKET | (dontWait ? CUDSKIT_RECEIVE_DONTWAIT : 0)
        var failure: Errno?
        let length = withUnsafeTemporaryAllocation(of: CInt.self, capacity: max(1, limit)) { fds -> Int in
            let result = withUnsafeMutableBytes(of: &address) { name in
                cudskit_receive_message(
                    fd, buffer.baseAddress, UInt(buffer.count), fds.baseAddress, CInt(limit),
                    wantsSender ? name.baseAddress : nil, capacity, CInt(options), &info)
            }
            if result < 0 {
                failure = Errno(rawValue: errno)
                return -1
            }
            for index in 0..<Int(info.descriptor_count) { passed.descriptors.append(ReceivedDescriptor(fds[index])) }
            return result
        }
        if info.descriptors_truncated != 0 { passed.wasTruncated = true }
        if let failure {
            if failure == .resourceTemporarilyUnavailable { return nil }
            throw failure
        }
        let sender =
            wantsSender
            ? withUnsafeBytes(of: &address) { UnixSocketAddress(received: $0, length: Int(info.address_length)) } : nil
        let credentials =
            info.has_credentials != 0
            ? PeerCredentials(processID: info.process_id, userID: info.user_id, groupID: info.group_id) : nil
        return ReceivedPacket(
            length: length, isTruncated: info.message_truncated != 0, sender: sender, credentials: credentials)
    }

    /// Waits for the next packet or datagram and returns its length without taking it (`MSG_PEEK | MSG_TRUNC`; no
    /// control buffer, so descriptors passed with it stay queued). `nil` if a blocking socket's read timeout ran out.
    static func peekPacketLength(_ fd: CInt, dontWait: Bool = false) throws(Errno) -> Int? {
        var byte: UInt8 = 0
        let flags = CInt(MSG_PEEK | MSG_TRUNC) | (dontWait ? CInt(MSG_DONTWAIT) : 0)
        do {
            return try retryingInterrupts { recv(fd, &byte, 1, flags) }
        } catch .resourceTemporarilyUnavailable {
            return nil
        }
    }

    /// Asks the kernel to attach each sender's credentials to the messages `fd` receives (`SO_PASSCRED`, Linux).
    static func passCredentials(_ fd: CInt) throws(Errno) {
        _ = try retryingInterrupts { cudskit_set_pass_credentials(fd) }
    }

    /// The socket's send buffer in bytes (`SO_SNDBUF`): on Linux the largest packet or datagram it can send, less
    /// some bookkeeping.
    static func sendBufferSize(_ fd: CInt) -> Int? {
        let size = cudskit_send_buffer_size(fd)
        return size > 0 ? Int(size) : nil
    }

    /// Binds `fd` to an address the kernel picks (Linux: a 5-hex-digit abstract name), so that peers can reply.
    static func autobind(_ fd: CInt) throws(Errno) {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let length = socklen_t(MemoryLayout<sa_family_t>.size)
        _ = try withUnsafePointer(to: &address) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Errno) in
                try retryingInterrupts { cBind(fd, sa, length) }
            }
        }
    }

    /// The address `fd` is bound to (`getsockname`), or `nil` if it is unbound.
    static func localAddress(_ fd: CInt) throws(Errno) -> UnixSocketAddress? {
        var address = sockaddr_un()
        var length = socklen_t(MemoryLayout<sockaddr_un>.size)
        _ = try withUnsafeMutablePointer(to: &address) { pointer throws(Errno) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa throws(Errno) in
                try retryingInterrupts { getsockname(fd, sa, &length) }
            }
        }
        return withUnsafeBytes(of: &address) { UnixSocketAddress(received: $0, length: Int(length)) }
    }
}

extension UnixSocketAddress {
    /// The address in a `sockaddr_un` the kernel filled in, `length` bytes of it; `nil` for an unnamed socket.
    init?(received raw: UnsafeRawBufferPointer, length: Int) {
        let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)!
        let end = min(length, raw.count)
        guard end > offset else { return nil }
        let path = raw[offset..<end]
        if path.first == 0 {
            guard path.count > 1 else { return nil }
            storage = .abstract(String(decoding: path.dropFirst(), as: UTF8.self))
        } else {
            let bytes = path.prefix { $0 != 0 }
            storage = .path(String(decoding: bytes, as: UTF8.self))
        }
    }
}
