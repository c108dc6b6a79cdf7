import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

/// The timings behind a failure of HandoverTests under Thread Sanitizer, provoked on purpose: a client that
/// connected before the handover and writes after it, and connections that arrive once the successor has the
/// listening socket.
@Suite("uds serve --handover: the moments around the handover")
struct HandoverRaceTests {
    @Test func aClientThatConnectedBeforeTheHandoverAndWritesAfterItIsServed() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/h.sock"
            // No grace period at all: a predecessor that cut off its connections at the end of it would do so at once.
            let first = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--handover", "--grace", "0"])
            defer { if first.isRunning { first.signal(SIGKILL) } }
            try await waitForServer(at: path)
            let early = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
            defer { early.close() }
            try early.setReadTimeout(.seconds(30))
            try await waitUntil("the predecessor has accepted the early client") {
                first.signal(SIGUSR1)
                return first.stderr.contains("statistics: connections 1 open")
            }
            let second = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--handover"])
            defer { if second.isRunning { second.signal(SIGKILL) } }
            try await waitUntil("the predecessor has handed over and dealt with its connection") {
                !first.isRunning || first.stderr.contains("handed over: waiting for connections")
            }
            try early.write(Array("late".utf8))
            try early.closeWrite()
            #expect(try early.readToEnd(maximumSize: 64) == Array("4\n".utf8))
            #expect(try await first.waitForExit() == 0, "\(first.stderr)")
            #expect(try await uds("send", path, "to the successor").stdout == "16\n")
            second.signal(SIGTERM)
            #expect(try await second.waitForExit() == 0, "\(second.stderr)")
        }
    }

    /// The epoll instances of process `pid` that watch the file with inode `inode` (from /proc/PID/fdinfo).
    static func epollEntries(of pid: Int32, watching inode: UInt64) throws -> [String] {
        let directory = "/proc/\(pid)/fdinfo"
        let needle = "ino:" + String(inode, radix: 16)
        return try FileManager.default.contentsOfDirectory(atPath: directory).compactMap { fd in
            guard let info = try? String(contentsOfFile: directory + "/" + fd, encoding: .utf8) else { return nil }
            let watches = info.split(separator: "\n").contains { line in
                line.hasPrefix("tfd:") && line.split(separator: " ").contains { $0 == needle }
            }
            return watches ? fd : nil
        }
    }

    /// The test takes the listening socket itself, as a successor would, and looks at the predecessor at that very
    /// moment: it must watch the listener nowhere any more, or it would keep taking (or losing the wake-ups of)
    /// connections that are the successor's. (With `UDSKIT_SELECTOR=poll` there are no epoll descriptors to find;
    /// the backlog check below still holds.)
    @Test func thePredecessorStopsWatchingTheListenerBeforeItHandsItOver() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/h.sock"
            let first = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--handover", "--grace", "30"])
            defer { if first.isRunning { first.signal(SIGKILL) } }
            try await waitForServer(at: path)
            // An open connection keeps the predecessor alive after the handover (it drains it for up to the grace
            // period), so that there is a process to look at: one that had exited would watch nothing trivially.
            let early = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
            defer { early.close() }
            try await waitUntil("the predecessor has accepted the early client") {
                first.signal(SIGUSR1)
                return first.stderr.contains("statistics: connections 1 open")
            }
            try await waitUntil("the handover socket is offered") {
                FileManager.default.fileExists(atPath: path + ".handover")
            }
            let handover = try UnixSocketConnection.connect(to: UnixSocketAddress(path + ".handover"))
            defer { handover.close() }
            try handover.setReadTimeout(.seconds(30))
            var descriptors: [ReceivedDescriptor] = []
            var marker = [UInt8](repeating: 0, count: 1)
            let count = try marker.withUnsafeMutableBytes { raw in
                try handover.read(into: raw, descriptors: &descriptors, limit: 1)
            }
            let listener = try #require(descriptors.first, "the predecessor passed no listener (read \(count) bytes)")
            var status = stat()
            let statted = fstat(listener.descriptor.rawValue, &status)
            #expect(statted == 0)
            #expect(first.isRunning, "the predecessor drains its open connection: \(first.stderr)")
            let watching = try Self.epollEntries(of: first.pid, watching: UInt64(status.st_ino))
            #expect(
                watching.isEmpty,
                "the predecessor's epoll descriptors \(watching) still watch the listener it handed over")

            // A connection that comes now is the successor's: it waits in the backlog for us.
            let client = try UnixSocketConnection.connect(to: UnixSocketAddress(path))
            defer { client.close() }
            var ready = pollfd(fd: listener.descriptor.rawValue, events: Int16(POLLIN), revents: 0)
            #expect(poll(&ready, 1, 30_000) == 1, "the new connection is in the listener's backlog")
            let accepted = accept(listener.descriptor.rawValue, nil, nil)
            #expect(accepted >= 0, "and the predecessor did not take it: errno \(errno)")
            if accepted >= 0 { close(accepted) }
            try early.closeWrite()
            #expect(try early.readToEnd(maximumSize: 64) == Array("0\n".utf8))
            #expect(try await first.waitForExit() == 0, "\(first.stderr)")
            #expect(first.stderr.contains("handed the listening socket to a successor"), "\(first.stderr)")
        }
    }
}
