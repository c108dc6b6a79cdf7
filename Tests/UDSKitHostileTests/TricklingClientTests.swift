import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// A client that sends one byte every 200 ms to `uds serve --idle-timeout 1 --deadline 3`: it is never idle for
    /// a second, so only the message deadline ends it, with an error reply; honest clients are not affected.
    @Suite("Trickling clients")
    struct TricklingClients {
        struct Trickle: Sendable {
            var bytesSent = 0
            var reply = ""
            var ending = Ending.timedOut
            var seconds = 0.0
        }

        /// Sends a byte, waits up to 200 ms for a reply, again and again; then reads the reply to its end.
        static func trickle(_ path: String) throws -> Trickle {
            var result = Trickle()
            let clock = ContinuousClock()
            let start = clock.now
            let connection = try RawConnection(path)
            var received: [UInt8] = []
            var ended = false
            while received.isEmpty && !ended && clock.now - start < .seconds(60) {
                // The server may have closed between our read and this write; its reply then waits to be read.
                if connection.write([UInt8(ascii: "t")], timeout: 1).outcome == .written { result.bytesSent += 1 }
                switch connection.read(timeout: 0.2) {
                case .bytes(let bytes): received = bytes
                case .timedOut: continue
                case .endOfStream, .reset: ended = true
                }
            }
            let elapsed = clock.now - start
            result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            let (rest, ending) = try connection.readUntilClosed(maximumSize: 4096)
            result.reply = String(decoding: received + rest, as: UTF8.self)
            result.ending = ending
            return result
        }

        @Test func theDeadlineEndsATrickleThatTheIdleTimeoutDoesNot() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/trickle.sock"
                try await withServe(path, ["--quiet", "--idle-timeout", "1", "--deadline", "3"]) { server in
                    let honest = HonestTraffic { index in
                        try deliverAcknowledged(path, honestMessage(seed: 8, index: index))
                    }
                    async let second = onThread { try Self.trickle(path) }
                    let first = try await onThread { try Self.trickle(path) }
                    let trickles = [first, try await second]
                    let report = await honest.stop()
                    print("TricklingClients: \(trickles); honest exchanges meanwhile: \(report.served)")
                    for trickle in trickles {
                        #expect(
                            trickle.reply.hasPrefix("error: the message took longer than 3"),
                            "\(trickle.reply.debugDescription)")
                        #expect(!trickle.reply.contains("no data"), "the idle timeout must not end a client that sends")
                        // A connection may end in order, or with a reset when a byte of ours was still unread.
                        #expect(trickle.ending != .timedOut)
                        // A lower bound on the configured deadline (the behaviour under test is a time limit); load
                        // can only lengthen it, never break it.
                        #expect(
                            trickle.seconds >= 2.9,
                            "the deadline is 3 s from connect; it ended after \(trickle.seconds) s")
                        #expect(trickle.bytesSent >= 5, "the trickle sent \(trickle.bytesSent) bytes")
                    }
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    #expect(lines(of: server.stderr, containing: "took longer than").count == 2, "\(server.stderr)")
                    #expect(lines(of: server.stderr, containing: "no data").isEmpty, "\(server.stderr)")
                }
            }
        }

        /// The same trickle against the idle timeout alone: a client that stops sending is closed after about a
        /// second with its own error reply, while one that keeps trickling is not.
        @Test func aClientThatStopsTricklingIsClosedByTheIdleTimeout() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/idle.sock"
                try await withServe(path, ["--quiet", "--idle-timeout", "1", "--deadline", "0"]) { _ in
                    let connection = try RawConnection(path)
                    for _ in 0..<10 {
                        let outcome = connection.write([UInt8(ascii: "t")]).outcome
                        #expect(outcome == .written, "the idle timeout closed a client that sends every 200 ms")
                        sleep(milliseconds: 200)  // trickling: the stall between bytes is the behaviour under test
                    }
                    let (reply, ending) = try connection.readUntilClosed(maximumSize: 4096)
                    #expect(String(decoding: reply, as: UTF8.self).hasPrefix("error: no data from the client"))
                    #expect(ending != .timedOut)
                    try deliverAcknowledged(path, Array("honest".utf8))
                }
            }
        }
    }
}
