import Foundation
import NIOCore
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("FramedClient: push, timeouts, reconnection, Codable")
struct FramedClientTests {
    @Test func serverPushReachesTheClient() async throws {
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.connection { connection in
                for index in 1...3 { try await connection.send(Message("notice \(index)")) }
                for try await frame in connection.inbound { try await connection.send(Message("got " + frame.string)) }
            }
            try await withRunningServer(at: dir + "/p.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/p.sock"))
                defer { client.close() }
                var incoming = client.incoming.makeAsyncIterator()
                for index in 1...3 { #expect(try await incoming.next()?.string == "notice \(index)") }
                try await client.send("hello")
                #expect(try await incoming.next()?.string == "got hello")
            }
        }
    }

    @Test func aRequestTimesOutAndTheNextOneGetsItsOwnReply() async throws {
        let timedOut = Flag()
        try await withTemporaryDirectory { dir in
            // "slow" is answered only once the client has given up on it: its reply is late by construction.
            let handler = FramedHandler.requests { message, _ in
                if message.string == "slow" { try await waitUntil("the client gives up on slow") { timedOut.isSet } }
                return Message("re: " + message.string)
            }
            try await withRunningServer(at: dir + "/s.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/s.sock"))
                defer { client.close() }
                do {
                    _ = try await client.request("slow", timeout: .milliseconds(100))
                    Issue.record("the request should have timed out")
                } catch let error as UnixSocketError {
                    #expect(error.code == .timedOut)
                }
                timedOut.set()
                // The server answers in order: the late reply to "slow" comes first and must be dropped.
                #expect(try await client.request("next").string == "re: next")
                #expect(try await client.request("last").string == "re: last")
            }
        }
    }

    @Test func requestsInFlightWhenTheConnectionBreaksFailClearly() async throws {
        var configuration = MessageServer.Configuration()
        configuration.shutdownGracePeriod = .milliseconds(100)
        let received = Flag()
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.requests { _, _ in
                received.set()
                // A request never answered: the sleep is the behaviour under test (the grace period cuts it off); an hour,
                // so that a starved run (Thread Sanitizer on a loaded machine took 36 s to get here) cannot outlast it.
                try await Task.sleep(for: .seconds(3600))
                return .empty
            }
            let server = MessageServer(
                address: try UnixSocketAddress(dir + "/x.sock"), configuration: configuration, framedHandler: handler)
            try await server.start()
            let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/x.sock"))
            async let reply = client.request("never answered")
            try await waitUntil("the server has the request") { received.isSet }
            await server.shutdown()
            do {
                _ = try await reply
                Issue.record("a request whose connection broke must fail")
            } catch let error as UnixSocketError {
                #expect(error.code == .connectionClosed)
            }
            client.close()
        }
    }

    @Test func aRestartedServerIsReconnectedTo() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/re.sock"
            let handler = FramedHandler.requests { message, _ in message }
            var configuration = FramedClient.Configuration()
            configuration.reconnect = FramedClient.ReconnectPolicy()
            let first = MessageServer(address: try UnixSocketAddress(path), framedHandler: handler)
            try await first.start()
            let client = try await FramedClient.connect(to: UnixSocketAddress(path), configuration: configuration)
            defer { client.close() }
            #expect(try await client.request("one").string == "one")
            await first.shutdown()
            let restart = Task {
                // The server stays away for a while: that the client retries its connect until the server is back
                // is the behaviour under test, so this sleep stays (it waits for nothing).
                try await Task.sleep(for: .milliseconds(300))
                let second = MessageServer(address: try UnixSocketAddress(path), framedHandler: handler)
                try await second.start()
                return second
            }
            // The connection broke; the next request reconnects once the new server is up.
            var reply: Message?
            for _ in 0..<3 where reply == nil {
                do {
                    reply = try await client.request("two")
                } catch let error as UnixSocketError where error.code == .connectionClosed {
                    continue  // the old connection's end was noticed by this request
                }
            }
            #expect(reply?.string == "two")
            try await restart.value.shutdown()
        }
    }

    struct Ping: Codable, Sendable { var sequence: Int }
    struct Pong: Codable, Sendable { var sequence: Int; var by: String }

    @Test func codableRequestsRoundTrip() async throws {
        try await withTemporaryDirectory { dir in
            let handler = FramedHandler.requests(decoding: Ping.self) { ping, _ in
                Pong(sequence: ping.sequence, by: "server")
            }
            try await withRunningServer(at: dir + "/c.sock", framedHandler: handler) { _ in
                let client = try await FramedClient.connect(to: UnixSocketAddress(dir + "/c.sock"))
                defer { client.close() }
                let pong = try await client.request(Ping(sequence: 41), as: Pong.self)
                #expect(pong.sequence == 41 && pong.by == "server")
                await #expect(throws: UnixSocketError.self) {
                    _ = try await client.request(["not": "a ping"], as: Pong.self)
                }
            }
        }
    }
}
