import Foundation
import NIOCore
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

/// Open files passed over the socket (SCM_RIGHTS), with Python's socket.send_fds/recv_fds on the other side, and
/// no descriptor leaked on any path.
@Suite("Descriptor passing")
struct DescriptorPassingTests {
    /// A server whose reply is the contents of the first descriptor passed with the message.
    static let readsPassedFile = MessageHandler.buffered { message, context in
        guard let passed = context.descriptors.first else { throw MessageRejection("no descriptor") }
        var contents = [UInt8](repeating: 0, count: 4096)
        let count = try contents.withUnsafeMutableBytes { try passed.descriptor.read(fromAbsoluteOffset: 0, into: $0) }
        return Message(bytes: Array(contents[..<count]) + Array(" (\(context.descriptors.count) passed)".utf8))
    }

    /// How many of this process's descriptors are open on `file` (from /proc/self/fd).
    @Test func pythonPassesAFileAndTheHandlerReadsItWithoutLeaks() async throws {
        try await withTemporaryDirectory { dir in
            let secret = dir + "/secret.txt"
            try "only the descriptor travels".write(toFile: secret, atomically: true, encoding: .utf8)
            try await withRunningServer(at: dir + "/fd.sock", handler: Self.readsPassedFile) { _ in
                let python = try requireExecutable("python3")
                let script = #"""
                    import socket, sys, os
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.connect(sys.argv[1])
                    fds = [os.open(sys.argv[2], os.O_RDONLY) for _ in range(int(sys.argv[3]))]
                    socket.send_fds(sock, [b"here"], fds)
                    sock.shutdown(socket.SHUT_WR)
                    reply = b""
                    while chunk := sock.recv(4096): reply += chunk
                    print(reply.decode())
                    """#
                for count in [1, 3, 40] {  // 40: more than the server keeps (16); the rest must be closed
                    let run = try await ChildProcess.run(python, ["-c", script, dir + "/fd.sock", secret, "\(count)"])
                    #expect(run.stdout == "only the descriptor travels (\(min(count, 16)) passed)\n", "\(run.stderr)")
                }
                // every one of the 44 descriptors received is closed: when the handler's task ends, or at once past
                // the limit
                try await waitUntil("received descriptors are closed after the handler") {
                    openDescriptors(on: secret) == 0
                }
            }
        }
    }

    @Test func theClientPassesAFileToAPythonServer() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/py.sock"
            let file = dir + "/data.txt"
            try "passed by UDSKit".write(toFile: file, atomically: true, encoding: .utf8)
            let python = try requireExecutable("python3")
            let server = try ChildProcess(
                python,
                [
                    "-c",
                    #"""
                    import socket, sys, os
                    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    listener.bind(sys.argv[1]); listener.listen(4)
                    conn, _ = listener.accept()
                    data, fds, flags, _ = socket.recv_fds(conn, 4096, 4)
                    while chunk := conn.recv(4096): data += chunk
                    conn.sendall(os.read(fds[0], 100) + b" / " + data + b" / %d" % len(fds))
                    conn.close(); os.unlink(sys.argv[1])
                    """#, path,
                ])
            try await waitForServerFile(path)
            let descriptor = try FileDescriptor.open(FilePath(file), .readOnly)
            defer { try? descriptor.close() }
            let reply = try await MessageClient(path: path).send(OutgoingMessage.bytes("message").passing([descriptor]))
            #expect(reply.string == "passed by UDSKit / message / 1")
            _ = try await server.waitForExit()
        }
    }

    @Test func udsSendFdPassesFilesToTheServer() async throws {
        try await withTemporaryDirectory { dir in
            let file = dir + "/f.txt"
            try "via uds send --fd".write(toFile: file, atomically: true, encoding: .utf8)
            try await withRunningServer(at: dir + "/s.sock", handler: Self.readsPassedFile) { _ in
                let run = try await ChildProcess.run(
                    udsExecutable, ["send", dir + "/s.sock", "--fd", file, "--fd", file, "--expect", "any", "x"])
                #expect(run.status == 0, "\(run.stderr)")
                #expect(run.stdout == "via uds send --fd (2 passed)")
            }
        }
    }

    @Test func descriptorsSentToAHandlerThatTakesNoneAreClosedAndLogged() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/ack.sock"
            let server = try ChildProcess(udsExecutable, ["serve", path, "--quiet"])
            try await waitForServer(at: path)
            let file = dir + "/f.txt"
            try "x".write(toFile: file, atomically: true, encoding: .utf8)
            let run = try await ChildProcess.run(udsExecutable, ["send", path, "--fd", file, "hello"])
            #expect(run.status == 0)
            #expect(run.stdout == "5\n")
            let fds = try FileManager.default.contentsOfDirectory(atPath: "/proc/\(server.pid)/fd")
            let links = fds.compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(server.pid)/fd/\($0)")
            }
            #expect(!links.contains(file), "the passed file is not left open in the server")
            server.signal(SIGTERM)
            _ = try await server.waitForExit()
            #expect(server.stderr.contains("closed descriptors passed to a handler that takes none"))
        }
    }

    private func waitForServerFile(_ path: String) async throws {
        try await waitUntil("the Python server did not bind \(path)", timeout: 20) {
            FileManager.default.fileExists(atPath: path)
        }
    }
}
