import Foundation
import Testing
import UDSKit
import UDSVarlink

@Suite("Varlink server and client in one process")
struct VarlinkServerClientTests {
    @Test func typedCallGetsItsTypedReply() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            #expect(try await client.call("org.example.ping.Ping", Ping(ping: "x"), as: Pong.self) == Pong(pong: "x"))
            await client.close()
        }
    }

    @Test func serviceInterfaceDescribesTheService() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            let info = try await client.call("org.varlink.service.GetInfo", parameters: nil)
            #expect(info["vendor"] == "UDSKit tests")
            #expect(info["interfaces"] == ["org.varlink.service", "org.example.ping"])
            let description = try await client.call(
                "org.varlink.service.GetInterfaceDescription", parameters: ["interface": "org.example.ping"])
            #expect(description["description"]?.stringValue == pingIDL)
            let service = try await client.call(
                "org.varlink.service.GetInterfaceDescription", parameters: ["interface": "org.varlink.service"])
            let parsed = try VarlinkInterface(parsing: try #require(service["description"]?.stringValue))
            #expect(parsed.name == "org.varlink.service")
            await client.close()
        }
    }

    @Test(arguments: [
        ("org.example.nothing.Ping", VarlinkError.interfaceNotFound("org.example.nothing")),
        ("org.example.ping.Nothing", VarlinkError.methodNotFound("org.example.ping.Nothing")),
        ("org.example.ping.Unimplemented", VarlinkError.methodNotImplemented("org.example.ping.Unimplemented")),
        ("org.varlink.service.GetInterfaceDescription", VarlinkError.invalidParameter("interface")),
    ])
    func standardErrorsAreThrownWithNameAndParameters(method: String, expected: VarlinkError) async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            await #expect(throws: expected) { try await client.call(method, parameters: [:]) }
            // the connection goes on
            #expect(try await client.call("org.example.ping.Ping", Ping(ping: "after"), as: Pong.self).pong == "after")
            await client.close()
        }
    }

    @Test func wrongParameterTypeIsInvalidParameterNamingIt() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            await #expect(throws: VarlinkError.invalidParameter("ping")) {
                try await client.call("org.example.ping.Ping", parameters: ["ping": 42])
            }
            await #expect(throws: VarlinkError.invalidParameter("count")) {
                try await client.call("org.example.ping.Count", parameters: ["count": 1.5])
            }
            await client.close()
        }
    }

    @Test func handlerErrorsArriveAsVarlinkErrorsWithTheirParameters() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            do {
                _ = try await client.call("org.example.ping.Fail", Ping(ping: "x"), as: VarlinkEmpty.self)
                Issue.record("no error")
            } catch let error as VarlinkError {
                #expect(error.name == "org.example.ping.NotReady")
                #expect(error.parameters == ["retry_after": 5])
            }
            await client.close()
        }
    }

    @Test func moreCallStreamsEveryReplyInOrder() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            var numbers: [Int] = []
            for try await reply in client.callMore("org.example.ping.Count", Count(count: 100), as: Number.self) {
                numbers.append(reply.number)
            }
            #expect(numbers == Array(0..<100))
            await client.close()
        }
    }

    @Test func streamingMethodCalledWithoutMoreAnswersExpectedMore() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            await #expect(throws: VarlinkError.expectedMore()) {
                try await client.call("org.example.ping.Count", Count(count: 3), as: Number.self)
            }
            await client.close()
        }
    }

    @Test func onewayCallsRunAndGetNoReply() async throws {
        let recorder = Recorder()
        try await withVarlinkServer(try pingService(recorder: recorder)) { address in
            let client = try await VarlinkClient.connect(to: address)
            for index in 0..<10 { try await client.callOneway("org.example.ping.Record", Ping(ping: "\(index)")) }
            // Replies come in order, so this reply means every oneway call before it ran, and none was answered.
            let recorded = try await client.call("org.example.ping.Recorded", parameters: nil)
            #expect(recorded["pings"] == .array((0..<10).map { .string("\($0)") }))
            await client.close()
        }
    }

    @Test func concurrentCallsOnOneConnectionEachGetTheirOwnReply() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<500 {
                    group.addTask {
                        if index % 50 == 0 {
                            var count = 0
                            for try await _ in client.callMore(
                                "org.example.ping.Count", Count(count: 5), as: Number.self)
                            {
                                count += 1
                            }
                            #expect(count == 5)
                        } else {
                            let pong = try await client.call(
                                "org.example.ping.Ping", Ping(ping: "\(index)"), as: Pong.self)
                            #expect(pong.pong == "\(index)")
                        }
                    }
                }
                try await group.waitForAll()
            }
            await client.close()
        }
    }

    @Test func handlerSeesThePeersCredentials() async throws {
        try await withVarlinkServer(try pingService()) { address in
            let client = try await VarlinkClient.connect(to: address)
            let peer = try await client.call("org.example.ping.Peer", as: Peer.self)
            #expect(peer.uid == Int(getuid()))
            #expect(peer.pid == Int(getpid()))
            await client.close()
        }
    }

    @Test func abstractAddressesWork() async throws {
        let name = "udskit-varlink-\(UInt32.random(in: 0...UInt32.max))"
        let address = try VarlinkAddress("unix:@\(name)")
        #expect(address.socket.isAbstract)
        #expect("\(address)" == "unix:@\(name)")
        let server = MessageServer(address: address.socket, varlinkService: try pingService())
        try await server.start()
        let client = try await VarlinkClient.connect(to: address)
        #expect(
            try await client.call("org.example.ping.Ping", Ping(ping: "abstract"), as: Pong.self).pong == "abstract")
        await client.close()
        await server.shutdown()
    }

    @Test func addressesParse() throws {
        #expect(try VarlinkAddress("unix:/run/a.sock;mode=0666").socket.path == "/run/a.sock")
        #expect(throws: VarlinkAddressError.self) { try VarlinkAddress("tcp:127.0.0.1:1") }
        #expect(throws: VarlinkAddressError.self) { try VarlinkAddress("unix:") }
    }
}
