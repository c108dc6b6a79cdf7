import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// The default `uds serve`, which prints every message on standard output (here a file): memory bounded whatever
    /// the message size, messages whole and one after another, and no client waiting for another.
    @Suite("Printed messages")
    struct PrintedMessages {
        static let mebibyte = 1024 * 1024

        /// `count` bytes of `byte`, produced 1 MiB at a time, so that the client holds no more than that.
        static func repeated(_ byte: UInt8, count: Int) -> OutgoingMessage {
            let chunk = ByteBuffer(repeating: byte, count: mebibyte)
            let stream = AsyncStream<ByteBuffer> { continuation in
                for _ in 0..<(count / mebibyte) { continuation.yield(chunk) }
                continuation.finish()
            }
            return .buffers(stream)
        }

        /// The size of the file at `path`, 0 if it is not there.
        static func size(_ path: String) -> Int {
            ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? Int) ?? 0
        }

        /// Whether the file at `path` holds exactly `segments`, each `count` times `byte`, in order (compared 1 MiB at
        /// a time with `memcmp`, so that a gibibyte takes a moment).
        static func holds(_ path: String, _ segments: [(byte: UInt8, count: Int)]) throws -> Bool {
            let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
            defer { try? handle.close() }
            for segment in segments {
                let expected = [UInt8](repeating: segment.byte, count: min(segment.count, mebibyte))
                var left = segment.count
                while left > 0 {
                    let part = min(left, mebibyte)
                    guard let data = try handle.read(upToCount: part), data.count == part else { return false }
                    let same = data.withUnsafeBytes { read in
                        expected.withUnsafeBytes { memcmp(read.baseAddress!, $0.baseAddress!, part) == 0 }
                    }
                    guard same else { return false }
                    left -= part
                }
            }
            return try handle.read(upToCount: 1)?.isEmpty ?? true
        }

        @Test func aGibibyteMessageIsPrintedInBoundedMemory() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/print.sock"
                let size = 1024 * Self.mebibyte
                try await withServe(path, ["--max-size", "2GiB"]) { server in
                    let idle = try Memory(of: server.pid)
                    let delivered = try await MessageClient(path: path).deliver(
                        Self.repeated(UInt8(ascii: "a"), count: size))
                    #expect(delivered == size)
                    #expect(try await eventually(timeout: 300) { Self.size(server.stdoutPath) == size + 1 })
                    let after = try Memory(of: server.pid)
                    let grown = (after.peak - idle.peak) / 1024
                    print(
                        "uds serve printing a 1 GiB message: VmHWM idle \(idle.peak / 1024) MiB, after \(after.peak / 1024) MiB (+\(grown) MiB)"
                    )
                    #expect(grown <= 64 * sanitizerOverhead, "idle \(idle), after \(after)")
                    #expect(try Self.holds(server.stdoutPath, [(UInt8(ascii: "a"), size), (UInt8(ascii: "\n"), 1)]))
                }
            }
        }

        @Test func twoBigMessagesAtOnceArePrintedWholeOneAfterTheOther() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/two.sock"
                let size = 48 * Self.mebibyte  // past the printer's 16 MiB memory budget: both spool to files
                try await withServe(path, []) { server in
                    let client = try MessageClient(path: path)
                    async let first = client.deliver(Self.repeated(UInt8(ascii: "a"), count: size))
                    async let second = client.deliver(Self.repeated(UInt8(ascii: "b"), count: size))
                    #expect(try await [first, second] == [size, size])
                    #expect(try await eventually(timeout: 120) { Self.size(server.stdoutPath) == 2 * (size + 1) })
                    let (a, b, newline) = (UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "\n"))
                    let inOrder = try Self.holds(server.stdoutPath, [(a, size), (newline, 1), (b, size), (newline, 1)])
                    let reversed = try Self.holds(
                        server.stdoutPath, [(b, size), (newline, 1), (a, size), (newline, 1)])
                    #expect(inOrder || reversed, "each message whole, one after the other")
                }
            }
        }

        @Test func aClientThatIsSlowToFinishHoldsUpNobodysAcknowledgement() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/slow.sock"
                try await withServe(path, []) { server in
                    let slow = try connectPatiently(path)
                    defer { slow.close() }
                    try slow.write(Array("the slow one starts, ".utf8))
                    // While the slow client's message is unfinished, another is acknowledged and printed.
                    #expect(try await MessageClient(path: path).deliver("quick") == 5)
                    #expect(try await eventually { server.stdout == "quick\n" }, "\(server.stdout)")
                    try slow.write(Array("and ends".utf8))
                    try slow.closeWrite()
                    #expect(try slow.readToEnd(maximumSize: 64) == Array("29\n".utf8))
                    #expect(
                        try await eventually { server.stdout == "quick\nthe slow one starts, and ends\n" },
                        "\(server.stdout)")
                }
            }
        }
    }
}
