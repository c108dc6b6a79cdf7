import Foundation
import NIOCore
import Testing
import UDSKitTestSupport

@testable import UDSKit

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

extension LibraryTests {
    /// The connection driver itself, over `socketpair(2)`, with a subclass that echoes: closing exactly once, the
    /// outbound bound that stops reading, the idle tick, and the packet transport.
    @Suite struct ConnectionDriverTests {
        @Test func itClosesExactlyOnceWhicheverWayItIsAskedTo() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                defer { _ = Glibc.close(pair.second) }
                let driver = EchoingDriver(
                    descriptor: pair.first, reactor: reactor,
                    transport: StreamFrames(.lengthPrefixed, maximumFrameSize: 1024), outboundLimit: 1 << 16)
                try await onLoop(reactor) {
                    driver.adopt()
                    driver.readAvailable()
                }
                #expect(trySend(pair.second, frame("ping")) == 8)
                var echoed: [UInt8] = []
                try await waitUntil("the frame is echoed") {
                    echoed += readAvailable(pair.second) ?? []
                    return echoed == frame("ping")
                }
                shutdown(pair.second, CInt(SHUT_WR))
                try await waitUntil("the driver closes at the end of input") { driver.closes.value == 1 }
                try await onLoop(reactor) {
                    driver.close()
                    driver.forceClose()
                    driver.closeWhenFlushed()
                    driver.flush()
                }
                #expect(driver.closes.value == 1)
                #expect(readAvailable(pair.second) == nil, "the peer sees the end: the descriptor is closed")
            }
        }

        @Test func aPeerThatDoesNotReadStopsTheReadingAtTheOutboundBound() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                defer { _ = Glibc.close(pair.second) }
                let limit = 32 * 1024
                let driver = EchoingDriver(
                    descriptor: pair.first, reactor: reactor,
                    transport: StreamFrames(.lengthPrefixed, maximumFrameSize: 1024), outboundLimit: limit)
                try await onLoop(reactor) {
                    driver.adopt()
                    driver.readAvailable()
                }
                let data = (0..<2000).flatMap { frame(String(repeating: "\($0 % 10)", count: 1000)) }
                var offset = 0
                func registration() -> UInt32? {
                    reactorRegistrations().first { $0.descriptor == pair.first }?.events
                }
                // Write without reading until the driver waits for room: it read until its queue passed the bound,
                // then stopped reading, so both directions fill up.
                try await waitUntil("the driver waits for room to write and reads no more") {
                    offset += max(0, trySend(pair.second, data[offset...]))
                    guard let events = registration() else { return false }
                    return events & Epoll.Events.writable.rawValue != 0 && events & Epoll.Events.readable.rawValue == 0
                }
                #expect(offset < data.count, "the peer's writes blocked")
                // One read's echo (at most the 64 KiB read buffer) can pass the bound; no more.
                #expect(driver.largestQueue.value <= limit + 64 * 1024)
                var received: [UInt8] = []
                try await waitUntil("every frame is echoed, in order, once the peer reads") {
                    received += readAvailable(pair.second) ?? []
                    if offset < data.count { offset += max(0, trySend(pair.second, data[offset...])) }
                    return received.count >= data.count
                }
                #expect(received == data)
                try await onLoop(reactor) { driver.close() }
            }
        }

        @Test func theIdleTickTimesOutAPeerThatStopsInsideAFrame() async throws {
            try await withReactor { reactor in
                let pair = try SocketPair()
                defer { _ = Glibc.close(pair.second) }
                let driver = EchoingDriver(
                    descriptor: pair.first, reactor: reactor,
                    transport: StreamFrames(.lengthPrefixed, maximumFrameSize: 1024), outboundLimit: 1 << 16,
                    idleTimeout: .milliseconds(50))
                try await onLoop(reactor) {
                    driver.adopt()
                    driver.readAvailable()
                    reactor.startTicking(every: .milliseconds(10))
                }
                #expect(trySend(pair.second, frame("half a frame").prefix(6)) == 6)
                try await waitUntil("the driver times out its peer") { driver.closes.value == 1 }
                #expect(driver.timeouts.value == ["input"])
            }
        }

        @Test func packetsAreEchoedWholeAndAnOversizePacketIsRefused() async throws {
            try await withReactor { reactor in
                var fds: [CInt] = [-1, -1]
                let type = CInt(SOCK_SEQPACKET.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue)
                #expect(socketpair(AF_UNIX, type, 0, &fds) == 0)
                let peer = fds[1]
                defer { _ = Glibc.close(peer) }
                let driver = EchoingDriver(
                    descriptor: fds[0], reactor: reactor, transport: Packets(maximumSize: 8, receiver: "this test"),
                    outboundLimit: 1 << 16)
                try await onLoop(reactor) {
                    driver.adopt()
                    driver.readAvailable()
                }
                for packet in ["one", "two", "three"] { try writeAll(peer, packet) }
                var echoed: [String] = []
                try await waitUntil("each packet comes back as a packet") {
                    var buffer = [UInt8](repeating: 0, count: 64)
                    let count = buffer.withUnsafeMutableBytes { recv(peer, $0.baseAddress, $0.count, 0) }
                    if count > 0 { echoed.append(String(decoding: buffer[..<count], as: UTF8.self)) }
                    return echoed.count == 3
                }
                #expect(echoed == ["one", "two", "three"])
                try writeAll(peer, "longer than eight")
                try await waitUntil("the oversize packet is refused") { driver.closes.value == 1 }
                #expect(driver.refusals.value.first?.contains("this test takes at most 8") == true)
            }
        }
    }
}

/// A connection that echoes every message, records what the driver tells it, and closes at the end of input.
private final class EchoingDriver: ConnectionDriver, @unchecked Sendable {
    let closes = Shared(0)
    let largestQueue = Shared(0)
    let timeouts = Shared<[String]>([])
    let refusals = Shared<[String]>([])

    init(
        descriptor: CInt, reactor: Reactor, transport: any ConnectionTransport, outboundLimit: Int,
        idleTimeout: Duration? = nil
    ) {
        super.init(
            descriptor: descriptor, reactor: reactor, transport: transport,
            limits: ConnectionLimits(outboundLimit: outboundLimit, idleTimeout: idleTimeout))
    }

    override func received(_ bytes: UnsafeRawBufferPointer) throws {
        var count = MessageCount()
        try echoMessages(in: bytes, count: &count)
        let queued = outbound.readableBytes
        largestQueue.update { $0 = max($0, queued) }
    }

    override func inputEnded() { closeWhenFlushed() }

    override func refuse(_ error: any Error) {
        refusals.update { $0.append("\(error)") }
        close()
    }

    override func timedOut(_ timeout: Timeout, owed: Owed) {
        timeouts.update { $0.append("\(owed)") }
        close()
    }

    override func didClose() { closes.update { $0 += 1 } }
}

/// `payload` as one length-prefixed frame.
private func frame(_ payload: String) -> [UInt8] {
    let count = UInt32(payload.utf8.count)
    return [24, 16, 8, 0].map { UInt8(truncatingIfNeeded: count >> $0) } + Array(payload.utf8)
}

/// Sends what the socket takes of `bytes` now; the count sent, 0 when it is full.
private func trySend(_ fd: CInt, _ bytes: some Collection<UInt8>) -> Int {
    let written = Array(bytes).withUnsafeBytes {
        send(fd, $0.baseAddress, $0.count, CInt(MSG_NOSIGNAL) | CInt(MSG_DONTWAIT))
    }
    return max(0, written)
}
