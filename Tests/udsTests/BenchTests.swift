import Foundation
import Testing
import UDSKitTestSupport

@Suite("uds bench: load, checks, summary and JSON")
struct BenchTests {
    @Test func oneshotSummaryHasThroughputPercentilesAndAHistogram() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/b.sock"
            try await withServe(path, ["--quiet"]) { _ in
                let bench = try await uds("bench", path, "--count", "500", "--concurrency", "2")
                #expect(bench.status == 0, "\(bench.stderr)")
                let lines = bench.stdout.split(separator: "\n").map(String.init)
                #expect(
                    lines.first?.hasPrefix("oneshot on \(path): 500 exchanges of 100 bytes, 2 connection(s)") == true)
                #expect(lines.contains { $0.hasPrefix("throughput: ") && $0.contains("exchanges/s") })
                #expect(lines.contains { $0.hasPrefix("latency: p50 ") && $0.contains("p99.9") && $0.contains("max") })
                #expect(lines.filter { $0.contains(" |") }.count == 10, "ten histogram bands")
                #expect(bench.stderr.isEmpty || !bench.stderr.contains("\u{1B}"), "no terminal codes through a pipe")
            }
        }
    }

    @Test func pingpongJSONAgainstAFramedEchoServer() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/e.sock"
            try await withServe(path, ["--framed", "--quiet", "--reply", "echo"]) { _ in
                let bench = try await uds("bench", path, "--scenario", "pingpong", "--count", "300", "--json")
                #expect(bench.status == 0, "\(bench.stderr)")
                let object = try #require(
                    try JSONSerialization.jsonObject(with: Data(bench.stdout.utf8)) as? [String: Any])
                #expect(object["scenario"] as? String == "pingpong")
                #expect(object["count"] as? Int == 300)
                let latency = try #require(object["latency_us"] as? [String: Double])
                #expect(Set(latency.keys) == ["p50", "p90", "p99", "p99.9", "max"])
                #expect(latency["p50"]! <= latency["p99"]! && latency["p99"]! <= latency["max"]!)
            }
        }
    }

    @Test func aWrongReplyFailsTheRun() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/x.sock"
            try await withServe(path, ["--quiet", "--reply", "echo"]) { _ in
                let bench = try await uds("bench", path, "--count", "10")
                #expect(bench.status != 0)
                // an echo of 100 bytes is no acknowledgement: too long for one, or not one
                #expect(bench.stderr.hasPrefix("uds: ") && bench.stderr.contains(path), "\(bench.stderr)")
            }
        }
    }
}
