import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

#if canImport(Glibc)
    @preconcurrency import Glibc
#endif

/// `FrameBatch`, the one-buffer batch of `FramedClient.requests(_:timeout:)`: its frames are the wire form, and a
/// batch's replies come back whole however the reads split them, and in any framing.
@Suite("FrameBatch")
struct FrameBatchTests {
    @Test func aBatchHoldsLengthPrefixedFramesAndGivesBackEachMessage() {
        var batch: FrameBatch = ["ab", ""]
        batch.append(bytes: repeatElement(UInt8(ascii: "z"), count: 3))  // not contiguous: copied through an array
        batch.append(Message("last"))
        #expect(batch.count == 4)
        #expect(batch.map(\.string) == ["ab", "", "zzz", "last"])
        #expect(batch.payloadBytes == 9)
        var wire = ByteBuffer()
        Framing.lengthPrefixed.append(contentsOf: batch, to: &wire)
        #expect(
            Array(wire.readableBytesView) == [
                0, 0, 0, 2, 97, 98, 0, 0, 0, 0, 0, 0, 0, 3, 122, 122, 122, 0, 0, 0, 4, 108, 97, 115, 116,
            ])
        #expect(batch.frameBytes == wire.readableBytes)
        var delimited = ByteBuffer()
        Framing.delimited(0).append(contentsOf: batch, to: &delimited)
        #expect(Array(delimited.readableBytesView) == [97, 98, 0, 0, 122, 122, 122, 0, 108, 97, 115, 116, 0])
        #expect(batch == FrameBatch(batch.map { $0 }))
        #expect(batch != ["ab", "", "zzz", "last!"])
        #expect(FrameBatch().isEmpty)
    }

    /// A raw server echoes a batch's request bytes in pieces of 1 to 4,099 bytes, so that frames split across reads
    /// at every kind of place (inside a header, inside a payload, between frames) and whole ones come in runs: the
    /// replies are byte for byte the requests.
    @Test func repliesSplitAcrossReadsAnywhereComeBackWhole() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/split.sock"
            let listener = try RawListener(path: path, backlog: 4)
            setReceiveTimeout(listener.descriptor, seconds: 60)
            let sizes = [0, 1, 3, 4, 5, 64, 700, 70_000, 2, 300_000, 9, 0, 64]
            let batch = FrameBatch(
                (0..<200).map { index in
                    Message(
                        bytes: (0..<sizes[index % sizes.count]).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) })
                })
            let total = batch.frameBytes
            let server = Task {
                try await onThread {
                    let fd = try listener.accept()
                    defer { _ = close(fd) }
                    setReceiveTimeout(fd, seconds: 60)
                    var request: [UInt8] = []
                    var chunk = [UInt8](repeating: 0, count: 65536)
                    while request.count < total {
                        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                        guard count > 0 else { throw TestFailure("the client closed after \(request.count) bytes") }
                        request += chunk[..<count]
                    }
                    var at = 0
                    var piece = 1
                    while at < request.count {
                        let end = min(at + piece, request.count)
                        let written = request[at..<end].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                        guard written > 0 else { throw TestFailure("send failed: errno \(errno)") }
                        at += written
                        piece = piece * 3 % 4099 + 1
                        // Paces the pieces so that the client's reads see them apart; correctness does not depend on it.
                        usleep(50)
                    }
                }
            }
            let client = try await FramedClient.connect(to: UnixSocketAddress(path))
            defer { client.close() }
            let replies = try await client.requests(batch)
            #expect(replies.count == batch.count)
            #expect(replies == batch)
            #expect(replies.map(\.count) == batch.map(\.count))
            try await server.value
        }
    }

    @Test func aBatchOverDelimitedFramingIsReframedAndAnswered() async throws {
        var configuration = MessageServer.Configuration()
        configuration.framing = .delimited(0)
        var clientConfiguration = FramedClient.Configuration()
        clientConfiguration.framing = .delimited(0)
        try await withTemporaryDirectory { dir in
            try await withRunningServer(
                at: dir + "/d.sock", configuration: configuration,
                framedHandler: .requests { message, _ in Message("re: " + message.string) }
            ) { _ in
                let client = try await FramedClient.connect(
                    to: UnixSocketAddress(dir + "/d.sock"), configuration: clientConfiguration)
                defer { client.close() }
                let batch = FrameBatch((0..<300).map { Message("request \($0)") })
                let replies = try await client.requests(batch)
                #expect(replies.map(\.string) == (0..<300).map { "re: request \($0)" })
            }
        }
    }
}
