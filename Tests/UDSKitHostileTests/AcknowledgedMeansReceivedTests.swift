import Foundation
import NIOCore
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// Every acknowledgement an honest client gets stands for a message the handler really received, byte for byte,
    /// while hostile clients send junk, messages past the limit, half messages and nothing at all.
    @Suite("Acknowledged means received")
    struct AcknowledgedMeansReceived {
        /// What a message was: its length and its hash.
        struct Fingerprint: Hashable, Sendable {
            var count: Int
            var hash: UInt64
            init(_ bytes: [UInt8]) {
                count = bytes.count
                hash = bytes.withUnsafeBytes(fnv1a)
            }
            init(_ buffer: ByteBuffer) {
                count = buffer.readableBytes
                hash = buffer.withUnsafeReadableBytes(fnv1a)
            }
        }

        /// The messages the handler received, as a multiset of fingerprints.
        final class Received: Sendable {
            let fingerprints = Locked<[Fingerprint: Int]>([:])

            /// A buffered handler that records each message, then acknowledges it.
            var handler: MessageHandler {
                .buffered { message, _ in
                    let fingerprint = Fingerprint(message.buffer)
                    self.fingerprints.withLock { $0[fingerprint, default: 0] += 1 }
                    return Acknowledgement.reply(forByteCount: message.count)
                }
            }

            /// Takes one recorded message with `fingerprint` out; false if there is none.
            func takeOne(_ fingerprint: Fingerprint) -> Bool {
                fingerprints.withLock { recorded in
                    guard let count = recorded[fingerprint], count > 0 else { return false }
                    recorded[fingerprint] = count == 1 ? nil : count - 1
                    return true
                }
            }
        }

        /// The acknowledgements clients got, by fingerprint of what they sent.
        final class Acknowledged: Sendable {
            let fingerprints = Locked<[Fingerprint]>([])
            let refused = Locked<[Fingerprint]>([])
        }

        static let limit = 512 * 1024

        @Test func everyAcknowledgementMatchesARecordedMessage() async throws {
            let seed = UInt64.random(in: 0...UInt64.max)
            print("AcknowledgedMeansReceived seed \(seed)")
            var configuration = MessageServer.Configuration()
            configuration.maximumMessageSize = Self.limit
            let received = Received()
            let acknowledged = Acknowledged()
            let honestRounds = 150
            try await withTemporaryDirectory { dir in
                let path = dir + "/recorded.sock"
                try await withRunningServer(at: path, configuration: configuration, handler: received.handler) { _ in
                    try await onThreads(8) { thread in
                        var random = SplitMix64(seed: seed &+ UInt64(thread))
                        for index in 0..<honestRounds / 3 {
                            if thread < 3 {
                                // honest: a message of its own, and its acknowledgement must be exact
                                let message = honestMessage(seed: 100 + thread, index: index)
                                try deliverAcknowledged(path, message)
                                acknowledged.fingerprints.withLock { $0.append(Fingerprint(message)) }
                            } else {
                                try Self.misbehave(
                                    thread: thread, index: index, path: path, random: &random,
                                    acknowledged: acknowledged)
                            }
                        }
                    }
                }
            }
            // The server has shut down: every handler has run. Each acknowledgement takes one recorded message.
            let acks = acknowledged.fingerprints.withLock { $0 }
            #expect(acks.count >= honestRounds, "honest clients were not all acknowledged")
            let unmatched = acks.filter { !received.takeOne($0) }
            #expect(unmatched.isEmpty, "acknowledged but never received: \(unmatched.prefix(5))")
            let refused = acknowledged.refused.withLock { $0 }
            #expect(!refused.isEmpty)
            let leaked = received.fingerprints.withLock { recorded in refused.filter { recorded[$0] != nil } }
            #expect(leaked.isEmpty, "a refused message reached the handler: \(leaked)")
            print(
                "AcknowledgedMeansReceived: \(acks.count) acknowledgements matched; \(refused.count) messages refused past the limit"
            )
        }

        /// One hostile client. Junk that is sent whole is a message like any other, and its acknowledgement must be
        /// as true as an honest one; junk past the limit must be refused and never reach the handler.
        static func misbehave(
            thread: Int, index: Int, path: String, random: inout SplitMix64, acknowledged: Acknowledged
        ) throws {
            let connection = try connectPatiently(path)
            defer { connection.close() }
            switch (thread + index) % 5 {
            case 0:  // nothing at all
                return
            case 1:  // half a message, then gone
                try connection.write(random.bytes(Int.random(in: 1...100_000, using: &random)))
            case 2:  // past the limit: refused, with an error reply
                let junk = random.bytes(Int.random(in: limit + 1...2 * limit, using: &random))
                let raw = try RawConnection(path)
                var reply: [UInt8] = []
                raw.write(junk, collecting: &reply)  // the server refuses and closes meanwhile
                raw.closeWrite()
                let (rest, _) = try raw.readUntilClosed(maximumSize: 4096)
                let text = String(decoding: reply + rest, as: UTF8.self)
                guard text.hasPrefix("error: message exceeds the limit") else {
                    throw TestFailure("\(junk.count) bytes past the limit got \(text.debugDescription)")
                }
                acknowledged.refused.withLock { $0.append(Fingerprint(junk)) }
            default:  // junk sent whole
                let junk = random.bytes(Int.random(in: 0...limit, using: &random))
                try connection.write(junk)
                try connection.closeWrite()
                let reply = try connection.readToEnd(maximumSize: 4096)
                guard reply == Array("\(junk.count)\n".utf8) else {
                    throw TestFailure(
                        "\(junk.count) junk bytes got \(String(decoding: reply, as: UTF8.self).debugDescription)")
                }
                acknowledged.fingerprints.withLock { $0.append(Fingerprint(junk)) }
            }
        }
    }
}
