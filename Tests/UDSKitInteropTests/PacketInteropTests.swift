import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

/// Seqpacket (`SOCK_SEQPACKET`) and datagram (`SOCK_DGRAM`) sockets with peers in other languages and tools: the Go
/// program `Peers/gopackets` (`"unixpacket"` and `"unixgram"`), Python scripts, socat and OpenBSD nc, against
/// a seqpacket `MessageServer`, `SeqPacketConnection`, `DatagramSocket` and `uds serve`/`uds send`.
@Suite("Seqpacket and datagram peers")
struct PacketInteropTests {
    // MARK: Go

    @Test func goPacketClientGetsEachPacketEchoedByAMessageServer() async throws {
        try await withTemporaryDirectory { dir in
            let client = try await buildGoPeer(package: "gopackets", into: dir)
            let path = dir + "/p.sock"
            try await withRunningServer(at: path, configuration: .seqPacket, framedHandler: .echo) { _ in
                let replies = try await runSucceeding(
                    client, ["-mode", "packet-client", "-path", path, "-messages", "one,two,three"])
                #expect(replies == "one\ntwo\nthree\n")

                // a 100 KB packet between two small ones comes back whole, as one packet
                let large = Self.text(100_000)
                let mixed = try await runSucceeding(
                    client,
                    [
                        "-mode", "packet-client", "-path", path, "-bufsize", "\(256 * 1024)",
                        "-messages", "first,\(large),last",
                    ])
                let lines = mixed.split(separator: "\n", omittingEmptySubsequences: false)
                #expect(lines.count == 4, "\(lines.map(\.count))")
                #expect(lines.first == "first")
                #expect(lines.count > 1 && lines[1].utf8.count == large.utf8.count)
                #expect(lines.count > 1 && lines[1] == large[...])
                #expect(lines.count > 2 && lines[2] == "last")
            }
        }
    }

    @Test func seqPacketConnectionTalksToAGoPacketServer() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await buildGoPeer(package: "gopackets", into: dir)
            let path = dir + "/go.sock"
            let server = try ChildProcess(peer, ["-mode", "packet-server", "-path", path])
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitUntil("the Go packet server did not start; stderr: \(server.stderr)") {
                server.stdout == "ready\n"
            }

            let connection = try SeqPacketConnection.connect(to: UnixSocketAddress(path))
            try connection.setReadTimeout(.seconds(20))
            let reply = try await connection.request("hello, Go")
            #expect(reply.string == "hello, Go")

            // packets sent back to back keep their boundaries both ways
            for message in ["a", "bb", "ccc"] { try await connection.send(Message(message)) }
            var replies: [String] = []
            for _ in 0..<3 { replies.append(try await connection.receive()?.string ?? "<end>") }
            #expect(replies == ["a", "bb", "ccc"])

            let binary = Message(bytes: patternBytes(150_000))
            try await connection.send(binary)
            let echoed = try await connection.receive()
            #expect(echoed == binary, "\(echoed?.count ?? -1) bytes came back")

            // the end of our side ends the Go server's read loop, which closes its side
            try connection.closeWrite()
            #expect(try await connection.receive() == nil)
            connection.close()

            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path), "the Go server removes its socket file")
            #expect(server.stderr == "")
        }
    }

    @Test func goGramClientGetsRepliesFromABoundDatagramSocket() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await buildGoPeer(package: "gopackets", into: dir)
            let path = dir + "/d.sock"
            let socket = try DatagramSocket.bind(to: UnixSocketAddress(path))
            try socket.setReadTimeout(.seconds(20))
            let client = try ChildProcess(peer, ["-mode", "gram-client", "-path", path, "-messages", "one,two,three"])
            defer { if client.isRunning { client.signal(SIGKILL) } }
            var senders: Set<String> = []
            for expected in ["one", "two", "three"] {
                let datagram = try await socket.receive()
                #expect(datagram.message.string == expected)
                #expect(datagram.senderCredentials?.processID == client.pid)
                #expect(datagram.senderCredentials?.userID == getuid())
                #expect(datagram.descriptors.isEmpty)
                guard let sender = datagram.sender else {
                    Issue.record("the Go client's datagram came without its address")
                    break
                }
                senders.insert(sender.path ?? "<abstract>")
                try await socket.send(Message("got " + datagram.message.string), to: sender)
            }
            #expect(try await client.waitForExit() == 0, "\(client.stderr)")
            #expect(client.stdout == "got one\ngot two\ngot three\n")
            #expect(senders.count == 1, "every datagram from the Go client's one socket: \(senders)")
            if let sender = senders.first {
                #expect(sender.hasSuffix("/client.sock"), "\(sender)")
                #expect(!FileManager.default.fileExists(atPath: sender), "the Go client removes its own socket file")
            }
            #expect(socket.refusedCount == 0)
            socket.close()
            #expect(!FileManager.default.fileExists(atPath: path), "close() removes the bound socket's file")
        }
    }

    @Test func autoboundDatagramSocketGetsEchoesFromAGoGramServer() async throws {
        try await withTemporaryDirectory { dir in
            let peer = try await buildGoPeer(package: "gopackets", into: dir)
            let path = dir + "/go.sock"
            let server = try ChildProcess(peer, ["-mode", "gram-server", "-path", path])
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitUntil("the Go datagram server did not start; stderr: \(server.stderr)") {
                server.stdout == "ready\n"
            }

            let client = try DatagramSocket.autobound()
            defer { client.close() }
            try client.setReadTimeout(.seconds(20))
            #expect(client.localAddress?.isAbstract == true, "\(client.localAddress?.description ?? "nil")")
            let address = try UnixSocketAddress(path)
            for message in [Message("ping"), Message(""), Message(bytes: patternBytes(100_000))] {
                try await client.send(message, to: address)
                let reply = try await client.receive(maximumSize: 256 * 1024)
                #expect(reply.message == message, "\(message.count) bytes sent, \(reply.message.count) came back")
                #expect(reply.sender?.path == path)
                #expect(reply.senderCredentials?.processID == server.pid)
            }

            // an unbound socket's datagram arrives, but the server has no address to answer
            try await DatagramSocket.unbound().send("unanswerable", to: address)
            try await waitUntil("the Go server did not log the unbound sender; stderr: \(server.stderr)") {
                server.stderr.contains("a datagram of 12 bytes from an unbound socket: not answered")
            }

            server.signal(SIGTERM)
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path), "the Go server removes its socket file")
        }
    }

    // MARK: Python

    @Test func pythonSeqPacketClientGetsByteCountsFromUDSServe() async throws {
        let python = try requireExecutable("python3")
        let script = #"""
            import socket, sys
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            sock.connect(sys.argv[1])
            for message in sys.argv[2:]:
                sock.send(message.encode())
                print(repr(sock.recv(65536)))
            sock.shutdown(socket.SHUT_WR)
            print("end" if sock.recv(65536) == b"" else "more")
            """#
        try await withPacketUDSServe(["--seqpacket", "--reply", "ack"]) { server, path in
            let replies = try await runSucceeding(
                python, ["-c", script, path, "hello", "a bit longer message", "é", "line\nbreak"])
            #expect(replies == "b'5\\n'\nb'20\\n'\nb'2\\n'\nb'10\\n'\nend\n")
            try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                server.stdout == "hello\na bit longer message\né\nline\nbreak\n"
            }
        }
    }

    @Test func udsSendSeqPacketTalksToAPythonSeqPacketServer() async throws {
        let python = try requireExecutable("python3")
        try await withTemporaryDirectory { dir in
            let path = dir + "/py.sock"
            // two connections; each packet answered with its byte count; what came printed at the end
            let server = try ChildProcess(
                python,
                [
                    "-c",
                    #"""
                    import os, socket, sys
                    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                    listener.bind(sys.argv[1]); listener.listen(4)
                    print("ready", flush=True)
                    for number in (1, 2):
                        conn, _ = listener.accept()
                        packets = []
                        while packet := conn.recv(65536):
                            packets.append(packet)
                            conn.send(b"%d\n" % len(packet))
                        print(number, packets, flush=True)
                        conn.close()
                    listener.close(); os.unlink(sys.argv[1])
                    """#, path,
                ])
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitUntil("the Python server did not start; stderr: \(server.stderr)") {
                server.stdout == "ready\n"
            }
            let sent = try await runSucceeding(udsExecutable, ["send", "--seqpacket", path, "one", "two", "three"])
            #expect(sent == "3\n3\n5\n")
            let lines = try await runSucceeding(
                udsExecutable, ["send", "--seqpacket", path], stdin: Data("alpha\nbeta gamma\n".utf8))
            #expect(lines == "5\n10\n")
            #expect(try await server.waitForExit() == 0, "\(server.stderr)")
            #expect(server.stdout == "ready\n1 [b'one', b'two', b'three']\n2 [b'alpha', b'beta gamma']\n")
        }
    }

    @Test func pythonDatagramClientGetsByteCountsFromUDSServe() async throws {
        let python = try requireExecutable("python3")
        let script = #"""
            import os, socket, sys
            server, mine = sys.argv[1], sys.argv[2]
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            sock.bind(mine)
            for message in sys.argv[3:]:
                sock.sendto(message.encode(), server)
                reply, sender = sock.recvfrom(65536)
                print(repr(reply), sender == server)
            sock.close(); os.unlink(mine)
            unbound = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            unbound.sendto(b"from an unbound socket", server)
            """#
        try await withPacketUDSServe(["--datagram"]) { server, path in
            let client = URL(fileURLWithPath: path).deletingLastPathComponent().path + "/py-client.sock"
            let replies = try await runSucceeding(python, ["-c", script, path, client, "hello", "", "second datagram"])
            #expect(replies == "b'5\\n' True\nb'0\\n' True\nb'15\\n' True\n")
            // the empty datagram prints nothing; the unbound one is printed but cannot be answered
            try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                server.stdout == "hello\nsecond datagram\nfrom an unbound socket\n"
            }
        }
    }

    @Test func pythonPassesDescriptorsInADatagramWithoutLeaks() async throws {
        let python = try requireExecutable("python3")
        let script = #"""
            import array, os, socket, sys
            fds = [os.open(sys.argv[2], os.O_RDONLY) for _ in range(int(sys.argv[3]))]
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
            sent = sock.sendmsg([b"here ", sys.argv[3].encode()], rights, 0, sys.argv[1])
            print(sent)
            """#
        try await withTemporaryDirectory { dir in
            let path = dir + "/fd.sock"
            let secret = dir + "/secret.txt"
            try "only the descriptor travels".write(toFile: secret, atomically: true, encoding: .utf8)
            let socket = try DatagramSocket.bind(to: UnixSocketAddress(path))
            defer { socket.close() }
            try socket.setReadTimeout(.seconds(20))
            #expect(openDescriptors(on: secret) == 0)
            for count in [1, 3, 4, 9] {  // past 4, the receive closes the rest
                let sent = try await runSucceeding(python, ["-c", script, path, secret, "\(count)"])
                #expect(sent == "\(5 + "\(count)".count)\n")  // "here " and the count
                let datagram = try await socket.receive(descriptorLimit: 4)
                #expect(datagram.message.string == "here \(count)")
                #expect(datagram.sender == nil, "the Python socket is unbound")
                #expect(datagram.descriptors.count == min(count, 4))
                for passed in datagram.descriptors {
                    var contents = [UInt8](repeating: 0, count: 100)
                    let read = try contents.withUnsafeMutableBytes {
                        try passed.descriptor.read(fromAbsoluteOffset: 0, into: $0)
                    }
                    #expect(String(decoding: contents[..<read], as: UTF8.self) == "only the descriptor travels")
                }
                withExtendedLifetime(datagram) {
                    #expect(openDescriptors(on: secret) == min(count, 4))
                }
            }
            // each datagram's descriptors are closed when it is released; the ones past the limit at once
            try await waitUntil("received descriptors are still open") {
                openDescriptors(on: secret) == 0
            }
        }
    }

    // MARK: socat and nc

    @Test func socatSeqPacketGetsItsInputEchoedByUDSServe() async throws {
        let socat = try requireExecutable("socat")
        try await withPacketUDSServe(["--seqpacket", "--reply", "echo"]) { server, path in
            for message in ["hello over seqpacket\n", "no newline at the end"] {
                let echoed = try await runSucceeding(
                    socat, ["-t", "5", "-", "UNIX-CONNECT:\(path),socktype=5"], stdin: Data(message.utf8))
                #expect(echoed == message)
            }
            try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                server.stdout == "hello over seqpacket\nno newline at the end\n"
            }
        }
    }

    @Test func netcatDatagramGetsTheByteCountFromUDSServe() async throws {
        let nc = try requireExecutable("nc")
        try await withPacketUDSServe(["--datagram"]) { server, path in
            // -u -U: a datagram from a socket nc binds itself, so it gets the reply; -W 1: exit after one reply
            let reply = try await runSucceeding(nc, ["-u", "-U", "-W", "1", path], stdin: Data("hello from nc\n".utf8))
            #expect(reply == "14\n")
            try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                server.stdout == "hello from nc\n"
            }
        }
    }

    @Test func socatSendtoDatagramIsPrintedByUDSServe() async throws {
        let socat = try requireExecutable("socat")
        try await withPacketUDSServe(["--datagram"]) { server, path in
            // socat's UNIX-SENDTO socket is unbound: the server prints the datagram and has no one to answer
            let output = try await runSucceeding(socat, ["-", "UNIX-SENDTO:" + path], stdin: Data("via socat\n".utf8))
            #expect(output == "")
            try await waitUntil("uds serve printed \(server.stdout.debugDescription)") {
                server.stdout == "via socat\n"
            }
        }
    }

    // MARK: Support

    /// `count` characters of printable text: "0123456789abcdefghijklmnopqrstuvwxyz" repeated and cut.
    static func text(_ count: Int) -> String {
        let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
        return String((0..<count).map { alphabet[$0 % alphabet.count] })
    }

    /// Runs `uds serve PATH arguments…` (with `--seqpacket` or `--datagram`) for the length of `body`, then stops it
    /// with SIGTERM and checks that it exits 0 and removes its socket file.
    ///
    /// ``waitForServer(at:)`` connects with a stream socket, which these servers refuse; so this waits for the socket
    /// file, and for a seqpacket server until a seqpacket connection succeeds (it sends nothing, so nothing is
    /// printed). A datagram socket receives from the moment it is bound, which is before its file appears.
    private func withPacketUDSServe<T>(
        _ arguments: [String],
        _ body: (_ server: ChildProcess, _ path: String) async throws -> T
    ) async throws -> T {
        try await withTemporaryDirectory { dir in
            let path = dir + "/server.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path] + arguments)
            defer { if server.isRunning { server.signal(SIGKILL) } }
            try await waitUntil("uds serve did not come up on \(path); stderr: \(server.stderr)", timeout: 20) {
                guard FileManager.default.fileExists(atPath: path) else { return false }
                guard arguments.contains("--seqpacket") else { return true }
                guard let probe = try? SeqPacketConnection.connect(to: UnixSocketAddress(path)) else { return false }
                probe.close()
                return true
            }
            let result = try await body(server, path)
            server.signal(SIGTERM)
            let status = try await server.waitForExit()
            #expect(status == 0, "uds serve exited with \(status) on SIGTERM; stderr: \(server.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path), "uds serve left its socket file behind")
            return result
        }
    }
}
