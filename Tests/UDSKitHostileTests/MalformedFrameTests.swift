import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension HostileClientTests {
    /// A length field of 0xFFFFFFFF, and half a frame then close, against `uds serve --framed`: that connection
    /// ends, the server says so in one log line naming the peer's pid, and honest framed clients keep their echoes.
    @Suite("Malformed frames")
    struct MalformedFrames {
        enum Hostility: String, CaseIterable, CustomStringConvertible, Sendable {
            /// A header claiming a 4 GiB frame, then a few bytes.
            case lengthOfAllOnes
            /// A header claiming 1000 bytes, 10 of them, then a half-close; the client waits for the server to close.
            case halfAFrameThenHalfClose
            /// A header claiming 1000 bytes, 10 of them, then a close.
            case halfAFrameThenClose

            var bytes: [UInt8] {
                switch self {
                case .lengthOfAllOnes: [0xFF, 0xFF, 0xFF, 0xFF] + Array("junk".utf8)
                case .halfAFrameThenHalfClose, .halfAFrameThenClose: [0, 0, 0x03, 0xE8] + Array("ten bytes!".utf8)
                }
            }

            /// What the server logs about it.
            var logged: String {
                switch self {
                case .lengthOfAllOnes: "closing connection: bad frame"
                case .halfAFrameThenHalfClose, .halfAFrameThenClose: "client closed inside a frame"
                }
            }

            var description: String { rawValue }
        }

        @Test(arguments: Hostility.allCases)
        func theConnectionEndsWithOneLogLineAndHonestClientsAreServed(_ hostility: Hostility) async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/f.sock"
                try await withServe(path, ["--framed", "--quiet", "--reply", "echo", "--max-size", "1MiB"]) { server in
                    let honest = try FramedHonestClient(path)
                    try honest.echo(Array("before".utf8))

                    let hostile = try RawConnection(path)
                    hostile.write(hostility.bytes)
                    switch hostility {
                    case .lengthOfAllOnes:
                        let (bytes, ending) = try hostile.readUntilClosed()
                        #expect(bytes.isEmpty)
                        #expect(ending == .endOfStream, "the server must close a connection that sent a 4 GiB length")
                    case .halfAFrameThenHalfClose:
                        hostile.closeWrite()
                        let (bytes, ending) = try hostile.readUntilClosed()
                        #expect(bytes.isEmpty)
                        #expect(ending == .endOfStream)
                    case .halfAFrameThenClose:
                        hostile.close()
                    }
                    hostile.close()

                    let expected = "peer_pid=\(getpid())"
                    #expect(
                        try await eventually(timeout: 20) {
                            !lines(of: server.stderr, containing: hostility.logged).isEmpty
                        })
                    let logged = lines(of: server.stderr, containing: hostility.logged)
                    #expect(logged.count == 1, "\(server.stderr)")
                    #expect(
                        logged.allSatisfy { $0.contains(expected) }, "the log line must name the peer's pid: \(logged)")

                    try honest.echo(Array("after".utf8))
                    let fresh = try FramedHonestClient(path)
                    for index in 0..<20 { try fresh.echo(honestMessage(seed: 2, index: index)) }
                }
            }
        }

        /// Frames that came whole before the malformed one are answered before the connection closes, however the
        /// server's reads happen to split the bytes. Here they arrive in the same read as the bad length field.
        @Test(arguments: ["echo", "ack"])
        func framesBeforeAMalformedOneAreAnswered(_ reply: String) async throws {
            try await withTemporaryDirectory { dir in
                let path = dir + "/f.sock"
                try await withServe(path, ["--framed", "--quiet", "--reply", reply]) { _ in
                    var bytes: [UInt8] = []
                    var expected: [UInt8] = []
                    for payload in ["one", "two"].map({ Array($0.utf8) }) {
                        let frame = [0, 0, 0, UInt8(payload.count)] + payload
                        bytes += frame
                        expected += reply == "echo" ? frame : [0, 0, 0, 2] + Array("3\n".utf8)
                    }
                    bytes += [0xFF, 0xFF, 0xFF, 0xFF]
                    let hostile = try RawConnection(path)
                    hostile.write(bytes)  // one write: the server reads it in one go
                    let (answered, ending) = try hostile.readUntilClosed()
                    #expect(ending == .endOfStream)
                    #expect(
                        answered == expected,
                        "the two whole frames before the bad one got \(answered.count) bytes of answers")
                }
            }
        }

        /// Many hostile connections at once, one of each kind per round, while honest clients run: every one is
        /// logged once, and no honest echo is lost.
        @Test func manyMalformedConnectionsAreEachLoggedOnce() async throws {
            let rounds = 50
            try await withTemporaryDirectory { dir in
                let path = dir + "/f.sock"
                try await withServe(path, ["--framed", "--quiet", "--reply", "echo", "--max-size", "1MiB"]) { server in
                    let honest = HonestTraffic { index in
                        let client = try FramedHonestClient(path)
                        for frame in 0..<5 { try client.echo(honestMessage(seed: index, index: frame)) }
                    }
                    try await onThreads(Hostility.allCases.count) { kind in
                        let hostility = Hostility.allCases[kind]
                        for _ in 0..<rounds {
                            let hostile = try RawConnection(path)
                            hostile.write(hostility.bytes)
                            if hostility == .halfAFrameThenHalfClose { hostile.closeWrite() }
                            if hostility != .halfAFrameThenClose {
                                let (_, ending) = try hostile.readUntilClosed()
                                guard ending == .endOfStream else { throw TestFailure("\(hostility): \(ending)") }
                            }
                            hostile.close()
                        }
                    }
                    let report = await honest.stop()
                    #expect(report.failures.isEmpty, "\(report.failures)")
                    #expect(report.served > 0)
                    #expect(
                        try await eventually(timeout: 20) {
                            lines(of: server.stderr, containing: "client closed inside a frame").count == 2 * rounds
                        })
                    #expect(lines(of: server.stderr, containing: "bad frame").count == rounds)
                    #expect(lines(of: server.stderr, containing: "client closed inside a frame").count == 2 * rounds)
                }
            }
        }
    }
}
