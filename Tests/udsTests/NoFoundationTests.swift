import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds loads no Foundation: neither libFoundation nor ICU is mapped into a running uds")
struct NoFoundationTests {
    /// The shared objects a running process has mapped, from `/proc/PID/maps`, by file name.
    ///
    /// Read to its end with `FileHandle`: `String(contentsOfFile:)` stops after the first 4 KiB of a `/proc` file
    /// (whose size says 0), which under Thread Sanitizer holds only its shadow mappings and no library at all.
    static func mappedLibraries(of pid: Int32) throws -> Set<String> {
        guard let file = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { return [] }
        defer { try? file.close() }
        let maps = String(decoding: try file.readToEnd() ?? Data(), as: UTF8.self)
        return Set(
            maps.split(separator: "\n").compactMap { line in
                line.split(separator: " ", omittingEmptySubsequences: true).last.flatMap {
                    $0.hasPrefix("/") ? String($0.split(separator: "/").last!) : nil
                }
            })
    }

    @Test func aServerMapsNeitherFoundationNorICU() async throws {
        try await withTemporaryDirectory { dir in
            try await withServe(dir + "/f.sock", ["--quiet"]) { server in
                let libraries = try Self.mappedLibraries(of: server.pid)
                #expect(!libraries.isEmpty)
                #expect(
                    !libraries.contains {
                        $0.hasPrefix("libFoundation.so") || $0.hasPrefix("libFoundationInternationalization")
                    },
                    "\(libraries.sorted())")
                #expect(!libraries.contains { $0.contains("ICU") || $0.hasPrefix("libicu") }, "\(libraries.sorted())")
            }
        }
    }
}
