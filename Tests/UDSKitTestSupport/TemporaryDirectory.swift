import Foundation

/// Runs `body` with a fresh directory under /tmp (short, so socket paths fit in `sun_path`), removed afterwards.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = "/tmp/uds-" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The directory that holds the built products (`uds`, `uds-bench`) next to the test bundle.
public var productsDirectory: String {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    // xctest bundles on Darwin sit one level deeper (…/UDSKitPackageTests.xctest/Contents/MacOS/).
    while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("uds").path),
        directory.path != "/"
    {
        directory = directory.deletingLastPathComponent()
    }
    return directory.path
}

/// The path of the built `uds` executable.
public var udsExecutable: String { productsDirectory + "/uds" }

/// How much slower and bigger a process runs under the sanitizer Scripts/sanitizers.sh names in UDSKIT_SANITIZER
/// (1 without one): tests scale their time limits and memory bounds by it, never their checks.
public var sanitizerOverhead: Int { ProcessInfo.processInfo.environment["UDSKIT_SANITIZER"] == nil ? 1 : 4 }
