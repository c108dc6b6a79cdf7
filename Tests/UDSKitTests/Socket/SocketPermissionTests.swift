import Foundation
import SystemPackage
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// The socket file gets the configured mode, and nobody can connect before it has it.
    @Suite struct SocketPermissionTests {
        @Test func socketFileHasMode0600ByDefault() async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                try await withUmask(0o022) {
                    try await withRunningServer(at: path, handler: .acknowledge) { _ in
                        let info = try #require(FileInfo(at: path))
                        #expect(info.kind == .socket)
                        #expect(String(info.mode, radix: 8) == "600")
                    }
                }
            }
        }

        @Test(arguments: [0o660, 0o666, 0o640, 0o700] as [UInt16])
        func socketFileHasTheConfiguredMode(mode: UInt16) async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                var configuration = MessageServer.Configuration()
                configuration.socketPermissions = FilePermissions(rawValue: CModeT(mode))
                try await withRunningServer(at: path, configuration: configuration, handler: .acknowledge) { _ in
                    let info = try #require(FileInfo(at: path))
                    #expect(String(info.mode, radix: 8) == String(mode, radix: 8))
                    #expect(try await makeClient(path).deliver("mode") == 4)
                }
            }
        }

        /// A thread spins on the path while the server starts: connect, then lstat. The file is created with the
        /// umask's mode (0755 here) and then set to 0600; a connect that succeeds while the file still has the
        /// umask's mode means there was a window in which anyone the umask allows could connect. The mode only ever
        /// changes from the umask's to 0600, so a connect followed by an lstat that still shows another mode proves
        /// such a window. (An lstat before the connect would accuse a correct server: the chmod and the listen can
        /// both happen between the thread's lstat and its connect.)
        @Test func socketFileIsNeverConnectableWithTheWrongMode() async throws {
            try await withUmask(0o022) {
                try await withTemporaryDirectory { directory in
                    for round in 0..<50 {
                        let path = directory + "/window-\(round).sock"
                        let spinner = ModeSpinner(path: path)
                        spinner.start()
                        var configuration = MessageServer.Configuration()
                        configuration.socketPermissions = [.ownerRead, .ownerWrite]
                        try await withRunningServer(at: path, configuration: configuration, handler: .discard) { _ in
                            try await waitUntil("the spinner connected in round \(round)") {
                                spinner.result.connects > 0
                            }
                            try await spinner.stop()
                        }
                        let result = spinner.result
                        #expect(result.violations.isEmpty, "round \(round): connected with mode \(result.violations)")
                    }
                }
            }
        }
    }
}

/// Spins connect, lstat on a path on a thread of its own until stopped.
private final class ModeSpinner: Sendable {
    struct Result: Sendable {
        var connects = 0
        /// Modes (octal) the file still had right after a connect that succeeded.
        var violations: [String] = []
    }
    let path: String
    private let stopped = Flag()
    private let finished = Flag()
    private let shared = Shared(Result())

    init(path: String) { self.path = path }

    var result: Result { shared.value }

    func start() {
        let thread = Thread { [self] in
            while !stopped.isSet {
                let connected = rawConnectSucceeds(to: path)
                let after = FileInfo(at: path)
                shared.update { result in
                    guard connected else { return }
                    result.connects += 1
                    if let after, after.mode != 0o600 { result.violations.append(String(after.mode, radix: 8)) }
                }
            }
            finished.set()
        }
        thread.start()
    }

    /// Stops the thread and waits for it to finish its last round.
    func stop() async throws {
        stopped.set()
        try await waitUntil("the spinner thread has stopped") { finished.isSet }
    }
}
