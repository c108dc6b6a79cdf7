import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

/// Open files passed over the socket (SCM_RIGHTS) with Go's `WriteMsgUnix`/`ReadMsgUnix` and `syscall.UnixRights`
/// on the other side (`Peers/gofds`, built with `go build` for each test).
@Suite("Go descriptor passing")
struct GoDescriptorPassingTests {
    /// Builds `Peers/gofds` into a temporary directory and runs `body` with its path and that directory.
    private func withGoFds<T>(_ body: (_ peer: String, _ directory: String) async throws -> T) async throws -> T {
        try await withTemporaryDirectory { directory in
            try await body(try await buildGoPeer(package: "gofds", into: directory), directory)
        }
    }

    @Test func goClientPassesAFileAndTheHandlerReadsItWithoutLeaks() async throws {
        try await withGoFds { client, dir in
            let file = dir + "/from-go.txt"
            try "passed by Go".write(toFile: file, atomically: true, encoding: .utf8)
            let handler = DescriptorPassingTests.readsPassedFile
            try await withRunningServer(at: dir + "/fd.sock", handler: handler) { _ in
                #expect(openDescriptors(on: file) == 0)
                for _ in 0..<3 {
                    let reply = try await runSucceeding(
                        client, ["-path", dir + "/fd.sock", "-file", file, "-message", "here"])
                    #expect(reply == "passed by Go (1 passed)")
                }
                // each descriptor received is closed when the handler's task ends
                try await waitUntil("received descriptors are still open after the handler") {
                    openDescriptors(on: file) == 0
                }
            }
        }
    }

    @Test func theClientPassesAFileToAGoServer() async throws {
        try await withGoFds { server, dir in
            let path = dir + "/go.sock"
            let file = dir + "/to-go.txt"
            try "passed by UDSKit".write(toFile: file, atomically: true, encoding: .utf8)
            let process = try ChildProcess(server, ["-serve", "-path", path])
            defer { process.signal(SIGKILL) }
            try await waitUntil("the Go server did not start; stderr: \(process.stderr)") {
                process.stdout.contains("ready")
            }

            let descriptor = try FileDescriptor.open(FilePath(file), .readOnly)
            defer { try? descriptor.close() }
            let connection = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
            try Array("message".utf8).withUnsafeBytes { try connection.write($0, passing: [descriptor]) }
            try connection.closeWrite()
            let reply = try connection.readToEnd(maximumSize: 4096)
            connection.close()
            #expect(String(decoding: reply, as: UTF8.self) == "passed by UDSKit / message / 1", "\(process.stderr)")
            #expect(try await process.waitForExit() == 0, "\(process.stderr)")
            #expect(!FileManager.default.fileExists(atPath: path), "the Go server removes its socket file")
        }
    }
}
