import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// `uds serve --max-connections 10` with ten idle connections held open: the eleventh client waits in the
    /// backlog and is served as soon as one of the ten goes. Backpressure, not failure.
    @Suite("Connection limit")
    struct ConnectionLimit {
        @Test func theEleventhClientWaitsAndIsServedWhenAConnectionCloses() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/limit.sock"
                try await withServe(path, ["--quiet", "--max-connections", "10", "--idle-timeout", "0"]) { server in
                    try deliverAcknowledged(path, Array("warm up".utf8))
                    let baseline = try await settledDescriptorCount(server.pid)
                    var holders = try (0..<10).map { _ in try RawConnection(path) }
                    var held = 0
                    #expect(
                        try await eventually {
                            held = try openDescriptorCount(server.pid) - baseline
                            return held >= 10
                        },
                        "the server should hold ten connections; it holds \(held) descriptors more than the \(baseline) it started with"
                    )

                    // Connecting works (the kernel's backlog takes it); the message is not served.
                    let eleventh = try RawConnection(path)
                    let message = Array("the eleventh".utf8)
                    eleventh.write(message)
                    eleventh.closeWrite()
                    let (early, ending) = try eleventh.readUntilClosed(timeout: 1)
                    #expect(early.isEmpty && ending == .timedOut, "served past the limit: \(early), \(ending)")
                    #expect(server.isRunning)

                    // One idle connection goes: the eleventh is served.
                    holders.removeFirst().close()
                    let (reply, end) = try eleventh.readUntilClosed()
                    #expect(String(decoding: reply, as: UTF8.self) == "\(message.count)\n")
                    #expect(end == .endOfStream)

                    // Full again with a new idle connection: the next client waits too, and is served once the
                    // holders go.
                    holders.append(try RawConnection(path))
                    #expect(
                        try await eventually {
                            held = try openDescriptorCount(server.pid) - baseline
                            return held >= 10
                        }, "the server should hold ten connections again; it holds \(held) descriptors more")
                    let twelfth = try RawConnection(path)
                    twelfth.write(Array("12".utf8))
                    twelfth.closeWrite()
                    let (none, stillWaiting) = try twelfth.readUntilClosed(timeout: 1)
                    #expect(
                        none.isEmpty && stillWaiting == .timedOut, "served past the limit: \(none), \(stillWaiting)")
                    for holder in holders { holder.close() }
                    holders.removeAll()
                    let (late, lateEnding) = try twelfth.readUntilClosed()
                    #expect(String(decoding: late, as: UTF8.self) == "2\n")
                    #expect(lateEnding == .endOfStream)
                    for index in 0..<20 { try deliverAcknowledged(path, honestMessage(seed: 5, index: index)) }
                }
            }
        }

        /// A client of UDSKit's own waiting at the limit with a reply timeout: past it, it must report a timeout, not
        /// mistake the wait for a server that closed without replying.
        @Test func aClientWaitingAtTheLimitTimesOut() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/limit.sock"
                try await withServe(path, ["--quiet", "--max-connections", "1", "--idle-timeout", "0"]) { server in
                    let baseline = try await settledDescriptorCount(server.pid)
                    let holder = try RawConnection(path)
                    #expect(try await eventually { try openDescriptorCount(server.pid) > baseline })

                    var configuration = MessageClient.Configuration()
                    configuration.replyTimeout = .seconds(1)
                    let client = try MessageClient(path: path, configuration: configuration)
                    do {
                        try await client.deliver(Message("waiting"))
                        Issue.record("delivered past the connection limit")
                    } catch let error as UnixSocketError {
                        #expect(error.code == .timedOut, "a reply that did not come within the timeout: \(error)")
                    }
                    let sent = try await ChildProcess.run(udsExecutable, ["send", path, "--timeout", "1", "waiting"])
                    #expect(
                        sent.status == 5, "uds send --timeout must exit 5 (timed out): \(sent.status), \(sent.stderr)")

                    holder.close()
                    try deliverAcknowledged(path, Array("served".utf8))
                }
            }
        }
    }
}
