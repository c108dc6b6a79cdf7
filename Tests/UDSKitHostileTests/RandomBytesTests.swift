import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// 200 connections of random bytes, some of them a megabyte, sent by 8 threads at once, while honest clients
    /// keep exchanging messages with the same server.
    @Suite("Random bytes")
    struct RandomBytes {
        static let junkConnections = 200
        static let junkThreads = 8

        /// A junk size: mostly up to 64 KiB, one in eight between 256 KiB and 1 MiB.
        static func junkSize(_ random: inout SplitMix64) -> Int {
            random.next() % 8 == 0
                ? Int.random(in: 256 * 1024...1024 * 1024, using: &random) : Int.random(in: 0...65536, using: &random)
        }

        @Test func junkToAnAcknowledgingServerIsAcknowledgedExactlyAndHonestClientsAreServed() async throws {
            let seed = UInt64.random(in: 0...UInt64.max)
            print("RandomBytes eof seed \(seed)")
            try await withTemporaryDirectory { dir in
                let path = dir + "/junk.sock"
                try await withRunningServer(at: path, handler: .acknowledge) { server in
                    let honest = (0..<2).map { thread in
                        HonestTraffic { index in
                            try deliverAcknowledged(path, honestMessage(seed: thread, index: index))
                        }
                    }
                    let perThread = Self.junkConnections / Self.junkThreads
                    try await onThreads(Self.junkThreads) { thread in
                        var random = SplitMix64(seed: seed &+ UInt64(thread))
                        for index in 0..<perThread {
                            let junk = random.bytes(Self.junkSize(&random))
                            let connection = try connectPatiently(path)
                            defer { connection.close() }
                            switch index % 4 {
                            case 0, 1:  // a whole message of junk: the server must count every byte
                                try connection.write(junk)
                                try connection.closeWrite()
                                let reply = try connection.readToEnd(maximumSize: 4096)
                                guard reply == Array("\(junk.count)\n".utf8) else {
                                    throw TestFailure(
                                        "\(junk.count) junk bytes got \(String(decoding: reply, as: UTF8.self).debugDescription)"
                                    )
                                }
                            case 2:  // half the junk, then gone without a word
                                try connection.write(Array(junk.prefix(junk.count / 2)))
                            default:  // all of it, then gone without half-closing or reading
                                try connection.write(junk)
                            }
                        }
                    }
                    for traffic in honest {
                        let report = await traffic.stop()
                        #expect(report.failures.isEmpty, "\(report.failures)")
                        #expect(report.served > 0)
                    }
                    #expect(
                        try await eventually { server.openConnectionCount == 0 },
                        "connections left open: \(server.openConnectionCount)")
                    try deliverAcknowledged(path, Array("still here".utf8))
                }
            }
        }

        @Test func junkToAFramedEchoServerEndsOnlyItsOwnConnection() async throws {
            let seed = UInt64.random(in: 0...UInt64.max)
            print("RandomBytes framed seed \(seed)")
            var configuration = MessageServer.Configuration()
            configuration.maximumFrameSize = 1024 * 1024
            try await withTemporaryDirectory { dir in
                let path = dir + "/junk.sock"
                try await withRunningServer(at: path, configuration: configuration, framedHandler: .echo) { server in
                    let longLived = try FramedHonestClient(path)
                    try longLived.echo(Array("before the junk".utf8))
                    let honest = HonestTraffic { index in
                        let client = try FramedHonestClient(path)
                        for frame in 0..<5 { try client.echo(honestMessage(seed: index, index: frame)) }
                    }
                    let perThread = Self.junkConnections / Self.junkThreads
                    let endings = Locked<[Ending: Int]>([:])
                    try await onThreads(Self.junkThreads) { thread in
                        var random = SplitMix64(seed: seed &+ UInt64(thread))
                        for index in 0..<perThread {
                            var sent: [UInt8] = []
                            if index % 4 == 1 || index % 4 == 2 {  // a few honest frames first
                                for _ in 0..<Int.random(in: 1...5, using: &random) {
                                    let payload = random.bytes(Int.random(in: 0...10_000, using: &random))
                                    sent += withUnsafeBytes(of: UInt32(payload.count).bigEndian, Array.init) + payload
                                }
                            }
                            if index % 4 == 2 { sent += [0xFF, 0xFF, 0xFF, 0xFF] }
                            sent += random.bytes(Self.junkSize(&random))
                            if let ending = try Self.sendJunk(sent, to: path, readsToEnd: index % 4 != 3) {
                                endings.withLock { $0[ending, default: 0] += 1 }
                            }
                        }
                    }
                    print("RandomBytes framed endings: \(endings.withLock { $0 })")
                    #expect(endings.withLock { $0[.timedOut] } == nil, "a junk connection was left open")
                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    try longLived.echo(Array("after the junk".utf8))
                    #expect(
                        try await eventually { server.openConnectionCount == 1 },
                        "connections left open: \(server.openConnectionCount)")
                }
            }
        }

        /// Writes `junk` (reading what comes back meanwhile), half-closes and, if asked, reads until the server
        /// closes, and returns how it ended. What came back must be a prefix of what went: an echo server sends back
        /// whole frames as they came, and nothing else.
        static func sendJunk(_ junk: [UInt8], to path: String, readsToEnd: Bool) throws -> Ending? {
            let connection = try RawConnection(path)
            var echoed: [UInt8] = []
            connection.write(junk, collecting: &echoed)  // the server may refuse the junk and close meanwhile
            connection.closeWrite()
            guard readsToEnd else { return nil }
            let (rest, ending) = try connection.readUntilClosed(maximumSize: junk.count + 1)
            echoed += rest
            guard echoed.count <= junk.count, echoed[...] == junk[..<echoed.count] else {
                throw TestFailure(
                    "the server sent \(echoed.count) bytes that are not a prefix of the \(junk.count) sent")
            }
            return ending
        }
    }
}
