import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// start(), run(), shutdown() and cancellation in any order and at any moment: the server ends up stopped, with its
    /// file gone, and nobody waits forever.
    @Suite struct ServerLifecycleTests {
        @Test func shutdownWhileStartingStopsTheServer() async throws {
            try await withTemporaryDirectory { directory in
                for round in 0..<20 {
                    let path = directory + "/starting-\(round).sock"
                    let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                    let starting = Task { try await server.start() }
                    if round.isMultiple(of: 2) {
                        await Task.yield()
                    } else {
                        // The file is there once bound: start() is somewhere between bind and ready.
                        try await waitUntil("the socket file exists in round \(round)") { fileExists(path) }
                    }
                    try await finishes("shutdown() in round \(round)", within: 30) { await server.shutdown() }
                    try await finishes("start() in round \(round)", within: 30) { _ = try? await starting.value }
                    #expect(!fileExists(path), "round \(round)")
                    #expect(!rawConnectSucceeds(to: path), "round \(round): something still accepts")
                }
            }
        }

        @Test func cancellingRunWhileStartingStopsTheServer() async throws {
            try await withTemporaryDirectory { directory in
                for round in 0..<20 {
                    let path = directory + "/cancelled-\(round).sock"
                    let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                    let running = Task { try await server.run() }
                    if !round.isMultiple(of: 2) {
                        try await waitUntil("the socket file exists in round \(round)") { fileExists(path) }
                    }
                    running.cancel()
                    try await finishes("run() in round \(round)", within: 30) { _ = try? await running.value }
                    try await finishes("shutdown() in round \(round)", within: 30) { await server.shutdown() }
                    #expect(!fileExists(path), "round \(round)")
                }
            }
        }

        /// Clients that keep connecting must not keep a shutdown going: it takes in what already waits in the
        /// backlog (at most 4096 connections, the default), then stops accepting. Eight threads connect and close
        /// as fast as they can, before and during the shutdown.
        @Test func shutdownStopsAcceptingWhileClientsKeepConnecting() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/busy.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .discard)
                try await server.start()
                let stop = Flag()
                defer { stop.set() }
                let connects = Shared(0)
                let clients = Task {
                    _ = await runOnThreads(8) { _ in
                        while !stop.isSet {
                            if rawConnectSucceeds(to: path) { connects.update { $0 += 1 } }
                        }
                    }
                }
                try await waitUntil("the clients are connecting") { connects.value > 100 }
                let acceptedBefore = server.statistics.totalConnections
                let returned = Flag()
                let shutdown = Task {
                    await server.shutdown()
                    returned.set()
                }
                try? await waitUntil("shutdown() returns", timeout: 10) { returned.isSet }
                let returnedWhileConnecting = returned.isSet
                stop.set()
                await clients.value
                try await finishes("shutdown() once the clients stopped", within: 60) { await shutdown.value }
                let acceptedDuring = server.statistics.totalConnections - acceptedBefore
                #expect(returnedWhileConnecting, "shutdown() did not return within 10 s while clients kept connecting")
                // The backlog's 4096, and what the loops accepted in the moment before they stopped watching.
                #expect(acceptedDuring < 20_000, "shutdown() went on accepting: \(acceptedDuring) connections")
                #expect(!fileExists(path))
            }
        }

        @Test func shutdownBeforeStartMakesStartFail() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                await server.shutdown()
                await #expect(throws: UnixSocketError.self) { try await server.start() }
                #expect(!fileExists(path))
            }
        }

        @Test func concurrentShutdownsAllReturnOnceStopped() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                try await server.start()
                try await finishes("five concurrent shutdowns", within: 30) {
                    await withTaskGroup(of: Void.self) { group in
                        for _ in 0..<5 { group.addTask { await server.shutdown() } }
                    }
                }
                #expect(!fileExists(path))
            }
        }
    }
}
