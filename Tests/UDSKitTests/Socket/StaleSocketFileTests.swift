import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// Starting a server where a socket file already is: a dead server's file is replaced, a live server's never.
    @Suite struct StaleSocketFileTests {
        /// How a stale socket file came to be.
        enum StaleOrigin: String, CaseIterable, CustomStringConvertible {
            /// A socket bound and closed without listening, as a program that crashed before `listen(2)` leaves it.
            case boundAndClosed
            /// A `uds serve` killed with SIGKILL: no shutdown ran, so its socket file stayed.
            case killedServer
            var description: String { rawValue }
        }

        @Test(arguments: StaleOrigin.allCases)
        func staleSocketFileIsReplaced(origin: StaleOrigin) async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await leaveStaleSocketFile(at: path, origin: origin)
                let stale = try #require(FileInfo(at: path))
                #expect(stale.kind == .socket)
                #expect(!rawConnectSucceeds(to: path))

                try await withRunningServer(at: path, handler: .acknowledge) { _ in
                    let fresh = try #require(FileInfo(at: path))
                    #expect(fresh.kind == .socket)
                    #expect(try await makeClient(path).deliver("after the stale file") == 20)
                }
                #expect(!fileExists(path))
                #expect(!fileExists(path + ".lock"))
            }
        }

        @Test func liveServerIsNotStolen() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let received = Shared<[String]>([])
                let first = MessageHandler.buffered { message, _ in
                    received.update { $0.append(message.string) }
                    return Acknowledgement.reply(forByteCount: message.count)
                }
                try await withRunningServer(at: path, handler: first) { _ in
                    let before = try #require(FileInfo(at: path))
                    let second = MessageServer(address: try UnixSocketAddress(path), handler: .discard)
                    let error = try await #require(throws: UnixSocketError.self) { try await second.start() }
                    #expect(error.code == .serverAlreadyListening)
                    #expect(error.description.contains(path))
                    #expect(FileInfo(at: path) == before)

                    #expect(try await makeClient(path).deliver("still the first") == 15)
                    // The second server's probe (connect, then close) reached the first as an empty message.
                    #expect(received.value.filter { !$0.isEmpty } == ["still the first"])
                }
            }
        }

        @Test func twoServersStartingAtOnceOnAStalePathExactlyOneWins() async throws {
            try await withTemporaryDirectory { directory in
                for round in 0..<20 {
                    let path = directory + "/race-\(round).sock"
                    try makeStaleSocketFile(at: path)
                    let servers = try (0..<2).map { _ in
                        MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                    }
                    let outcomes = await withTaskGroup(of: (Int, UnixSocketError?).self) { group in
                        for (index, server) in servers.enumerated() {
                            group.addTask {
                                do {
                                    try await server.start()
                                    return (index, nil)
                                } catch let error as UnixSocketError {
                                    return (index, error)
                                } catch {
                                    return (index, UnixSocketError(.system, operation: .start, detail: "\(error)"))
                                }
                            }
                        }
                        return await group.reduce(into: [Int: UnixSocketError?]()) { $0[$1.0] = $1.1 }
                    }
                    let winners = outcomes.filter { $0.value == nil }.map(\.key)
                    let losers = outcomes.compactMap { $0.value }
                    #expect(winners.count == 1, "round \(round): \(outcomes)")
                    #expect(losers.map(\.code) == [.serverAlreadyListening], "round \(round): \(losers)")
                    #expect(!fileExists(path + ".lock"), "round \(round)")
                    if let winner = winners.first {
                        #expect(try await makeClient(path).deliver(Message("round \(round)")) > 0)
                        await servers[winner].shutdown()
                    }
                    for server in servers { await server.shutdown() }
                    #expect(!fileExists(path), "round \(round)")
                }
            }
        }

        private func leaveStaleSocketFile(at path: String, origin: StaleOrigin) async throws {
            switch origin {
            case .boundAndClosed:
                try makeStaleSocketFile(at: path)
            case .killedServer:
                let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
                try await waitForServer(at: path)
                server.signal(SIGKILL)
                try await server.waitForExit()
            }
        }
    }
}
