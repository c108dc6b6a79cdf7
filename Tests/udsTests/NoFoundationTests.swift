import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds loads no Foundation: neither libFoundation nor ICU is mapped into a running uds")
struct NoFoundationTests {
    /// The shared objects a running process has mapped, from `/proc/PID/maps`, by file name.
    static func mappedLibraries(of pid: Int32) throws -> Set<String> {
        let maps = try String(contentsOfFile: "/proc/\(pid)/maps", encoding: .utf8)
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
