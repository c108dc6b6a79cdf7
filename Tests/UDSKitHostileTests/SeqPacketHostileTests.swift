import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// `uds serve --seqpacket --reply echo` against clients that never read their echoes, clients that send packets
    /// past the limit, and clients that connect and send nothing, while an honest client keeps being served.
    @Suite("Hostile seqpacket clients")
    struct SeqPacketClients {
        static let stalledClients = 20
        static let packet = Message(bytes: [UInt8](repeating: 0x5A, count: 64 * 1024))
        /// Peak resident memory allowed, KiB. A stalled connection holds at most `maximumOutboundBytes` (1 MiB) of
        /// echoes plus one packet before the server stops reading it: 20 MiB for 20, over the process's own ~26 MiB
        /// (debug build). A server that kept reading would hold everything the clients push (they try 64 MiB each).
        static let peakBound = 64 * 1024 * sanitizerOverhead

        @Test func clientsThatNeverReadStallAndHonestOnesAreServed() async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/packets.sock"
                try await withSeqPacketServe(path, ["--quiet", "--reply", "echo", "--idle-timeout", "0"]) { server in
                    let honestConnection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                    try honestConnection.setReadTimeout(.seconds(30))
                    let honest = HonestTraffic { index in
                        let request = Message("honest \(index)")
                        let reply = try honestConnection.request(request)
                        guard reply == request else { throw TestFailure("honest reply \(reply) for \(request)") }
                    }
                    let stalled = Locked<[SeqPacketConnection]>([])
                    let sent = Locked<[Int]>([])
                    try await onThreads(Self.stalledClients) { _ in
                        let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                        try connection.setWriteTimeout(.milliseconds(500))
                        var count = 0
                        while count < 1024 {  // 64 MiB, far past what the server may hold for one client
                            do {
                                try connection.send(Self.packet)
                                count += 1
                            } catch let error as UnixSocketError where error.code == .timedOut {
                                break  // stalled, as it should: the server stopped reading from us
                            }
                        }
                        stalled.withLock { $0.append(connection) }
                        sent.withLock { $0.append(count) }
                    }
                    let counts = sent.withLock { $0 }
                    #expect(counts.count == Self.stalledClients)
                    #expect(counts.allSatisfy { $0 < 1024 }, "a client that never reads sent all 64 MiB: \(counts)")

                    // Past the limit: that client's connection closes; nobody else notices.
                    let oversize = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
                    try oversize.setReadTimeout(.seconds(30))
                    try await oversize.send(Message(bytes: [UInt8](repeating: 1, count: 150_000)))
                    #expect(
                        try await oversize.receive() == nil, "--max-size 100000 closes the connection that passed it")

                    // Connections that send nothing are left open: persistent connections may idle.
                    let idle = try (0..<200).map { _ in try SeqPacketConnection.connect(to: UnixSocketAddress(path)) }

                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    let memory = try Memory(of: server.pid)
                    print(
                        "SeqPacketClients: stalled after \(counts.max() ?? 0) packets of 64 KiB at most; server \(memory); honest exchanges meanwhile: \(report.served)"
                    )
                    #expect(memory.peak < Self.peakBound, "peak resident memory \(memory.peak) KiB")
                    #expect(try await honestConnection.request("still serving").string == "still serving")
                    for connection in stalled.withLock({ $0 }) + idle { connection.close() }
                }
            }
        }

        /// Runs `uds serve PATH --seqpacket --max-size 100000 arguments…` for `body`, then stops it with SIGTERM.
        private func withSeqPacketServe(
            _ path: String, _ arguments: [String], _ body: (ChildProcess) async throws -> Void
        ) async throws {
            let server = try ChildProcess(
                udsExecutable, ["serve", path, "--seqpacket", "--max-size", "100000"] + arguments)
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitUntil("uds serve --seqpacket did not start: \(server.stderr)", timeout: 20) {
                guard let probe = try? SeqPacketConnection.connect(to: UnixSocketAddress(path)) else { return false }
                probe.close()
                return true
            }
            try await body(server)
            server.signal(SIGTERM)
            let status = try await server.waitForExit(timeout: 60)
            #expect(status == 0, "\(server.stderr)")
        }
    }
}
