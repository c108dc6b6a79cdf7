import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("uds serve: the socket file never appears with a mode other than the one asked for")
struct SocketModeTests {
    /// Polls `lstat(path)` on a thread of its own as fast as it can, and keeps every permission mode it sees.
    final class ModeWatcher: @unchecked Sendable {
        private let seen = Locked<Set<UInt32>>([])
        private let stopped = Atomic<Bool>(false)
        private let finished = DispatchSemaphore(value: 0)

        init(_ path: String) {
            Thread.detachNewThread { [self] in
                var status = stat()
                while !stopped.load(ordering: .relaxed) {
                    if lstat(path, &status) == 0 {
                        let mode = UInt32(status.st_mode & 0o7777)
                        seen.withLock { _ = $0.insert(mode) }
                    }
                }
                finished.signal()
            }
        }

        /// Whether the file was seen at all.
        var hasSeenTheFile: Bool { seen.withLock { !$0.isEmpty } }

        /// Stops watching; returns the modes seen.
        func stop() -> Set<UInt32> {
            stopped.store(true, ordering: .relaxed)
            finished.wait()
            return seen.withLock { $0 }
        }
    }

    /// Starts the server ten times per type: the moment a file could show another mode is short, and each start is
    /// another chance to see it.
    @Test(arguments: [[], ["--seqpacket"], ["--datagram"]])
    func underUmask000TheFileHasTheRequestedModeFromTheStart(_ type: [String]) async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/mode.sock"
            let shell = try requireExecutable("sh")
            let ready = type == ["--datagram"] ? "receiving datagrams on" : "listening on"
            for _ in 0..<10 {
                let watcher = ModeWatcher(path)
                let server = try ChildProcess(
                    shell,
                    ["-c", #"umask 000 && exec "$0" serve "$@""#, udsExecutable, path, "--quiet", "--mode", "0640"]
                        + type)
                defer { if server.isRunning { server.signal(SIGKILL) } }
                _ = try await eventually(timeout: 20) { server.stderr.contains(ready) || !server.isRunning }
                // The watcher runs on a thread of its own, which a busy machine may not have run yet: let it see the
                // file.
                _ = try await eventually(timeout: 20) { watcher.hasSeenTheFile }
                let modes = watcher.stop()
                #expect(server.stderr.contains(ready), "\(server.stderr)")
                #expect(modes == [0o640], "modes seen: \(modes.map { String($0, radix: 8) })")
                server.signal(SIGTERM)
                #expect(try await server.waitForExit() == 0)
                #expect(!FileManager.default.fileExists(atPath: path))
            }
        }
    }
}
