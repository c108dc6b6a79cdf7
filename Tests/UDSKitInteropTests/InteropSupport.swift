import Foundation
import Testing
import UDSKitTestSupport

/// The peer programs' sources, `Tests/UDSKitInteropTests/Peers`, found from this file's path.
let peersDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Peers").path

/// Runs a server program for the length of `body`: starts `executable` with `arguments(path)` on a fresh socket path,
/// waits until it accepts connections, runs `body`, then stops it with SIGTERM and checks that it exits 0 and removes
/// its socket file.
///
/// The readiness probe is a connection that sends nothing, so a server that prints messages prints an empty one first.
func withServerProcess<T>(
    _ executable: String,
    _ arguments: (String) -> [String],
    _ body: (_ server: ChildProcess, _ path: String) async throws -> T
) async throws -> T {
    try await withTemporaryDirectory { directory in
        let path = directory + "/server.sock"
        let arguments = arguments(path)
        let server = try ChildProcess(executable, arguments)
        do {
            try await waitForServer(at: path)
        } catch {
            throw TestFailure("\(error); its stderr: \(server.stderr)")
        }
        let result = try await body(server, path)
        server.signal(SIGTERM)
        let status = try await server.waitForExit()
        #expect(status == 0, "\(executable) exited with \(status) on SIGTERM; stderr: \(server.stderr)")
        #expect(!FileManager.default.fileExists(atPath: path), "\(executable) left its socket file behind")
        return result
    }
}

/// Runs `uds serve PATH arguments…` for the length of `body` (see ``withServerProcess(_:_:_:)``).
func withUDSServe<T>(
    _ arguments: [String] = [],
    _ body: (_ server: ChildProcess, _ path: String) async throws -> T
) async throws -> T {
    try await withServerProcess(udsExecutable, { ["serve", $0] + arguments }, body)
}

/// Runs a program to its end and requires exit status 0; returns its standard output.
func runSucceeding(
    _ executable: String,
    _ arguments: [String],
    stdin: Data? = nil,
    timeout: Double = 60
) async throws -> String {
    let result = try await ChildProcess.run(executable, arguments, stdin: stdin, timeout: timeout)
    guard result.status == 0 else {
        let name = URL(fileURLWithPath: executable).lastPathComponent
        let command = ([name] + arguments).joined(separator: " ")
        throw TestFailure("\(command) exited with \(result.status); stderr: \(result.stderr)")
    }
    return result.stdout
}

/// `count` bytes of a fixed pattern (0, 1, …, 255, 0, …), as the Python client's `--size` makes them.
func patternBytes(_ count: Int) -> Data {
    Data((0..<count).map { UInt8(truncatingIfNeeded: $0) })
}

/// Go's build cache, shared by every test and kept between runs like `~/.cache/go-build`, so that only the first
/// build compiles the standard library.
private let goCache = NSTemporaryDirectory() + "/udskit-interop-gocache"

/// Builds the Go peer `Peers/go/<name>.go` into `directory` with `go build` and returns the executable's path.
func buildGoPeer(_ name: String, into directory: String) async throws -> String {
    let go = try requireExecutable("go")
    let output = directory + "/go-" + name
    let result = try await ChildProcess.run(
        go, ["build", "-o", output, peersDirectory + "/go/\(name).go"],
        environment: ["GO111MODULE": "off", "GOPATH": directory + "/gopath", "GOCACHE": goCache, "GOFLAGS": ""],
        timeout: 300)
    guard result.status == 0 else { throw TestFailure("go build \(name).go failed: \(result.stderr)") }
    return output
}

/// Builds the Go peer in the directory `Peers/<package>` (a `main` package of its own, such as `goframed/client`)
/// into `directory` with `go build` and returns the executable's path.
func buildGoPeer(package: String, into directory: String) async throws -> String {
    let go = try requireExecutable("go")
    let output = directory + "/go-" + package.replacingOccurrences(of: "/", with: "-")
    // GOPATH mode builds a directory outside GOPATH only as a relative path, so build "." from inside it.
    let build = try ChildProcess(
        go, ["build", "-o", output, "."],
        environment: ["GO111MODULE": "off", "GOPATH": directory + "/gopath", "GOCACHE": goCache, "GOFLAGS": ""],
        currentDirectory: peersDirectory + "/" + package)
    let status = try await build.waitForExit(timeout: 300)
    guard status == 0 else { throw TestFailure("go build \(package) failed: \(build.stderr)") }
    return output
}

/// The Python interpreter and the path of the Python peer `Peers/python/<name>.py`.
func pythonPeer(_ name: String) throws -> (python: String, script: String) {
    (try requireExecutable("python3"), peersDirectory + "/python/\(name).py")
}

// MARK: Framed peers

/// What a framed peer client (`Peers/goframed/client`, `Peers/python/framed_client.py`; both take these flags) sends:
/// `count` generated binary frames, sizes taken from `sizes` in turn, each reply checked to be the frame's echo.
struct FramedWorkload: Sendable, CustomTestStringConvertible {
    /// `pingpong` (write one frame, read its reply) or `pipelined` (write all while another thread reads).
    var mode: String
    var count: Int
    var sizes: [Int]

    /// 100 frames of varied sizes from empty to 100 KiB, one at a time.
    static let pingPong = FramedWorkload(
        mode: "pingpong", count: 100, sizes: [0, 1, 7, 255, 4096, 65_535, 65_536, 102_400])
    /// 10,000 frames written back to back.
    static let pipelined = FramedWorkload(mode: "pipelined", count: 10_000, sizes: [0, 1, 17, 300, 1000, 4096])

    /// The client's arguments after `--path PATH`.
    var arguments: [String] {
        [
            "--mode", mode, "--count", "\(count)", "--sizes", sizes.map(String.init).joined(separator: ","), "--expect",
            "echo",
        ]
    }

    /// The client's summary once every reply was the frame's echo.
    var echoSummary: String {
        "ok frames=\(count) bytes=\((0..<count).reduce(0) { $0 + sizes[$1 % sizes.count] })\n"
    }

    var testDescription: String { "\(mode), \(count) frames" }
}

/// Text frame `index` of `size` bytes, as the framed peer clients' `--text --sizes` make it: `"frame index "`
/// repeated and cut to `size`.
func framedTextFrame(_ index: Int, size: Int) -> String {
    let base = "frame \(index) "
    return String(String(repeating: base, count: size / base.utf8.count + 1).prefix(size))
}
