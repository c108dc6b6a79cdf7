import Foundation
import Testing
import UDSKitTestSupport

/// The typed arguments of `uds`: durations, sizes, the socket kind and the bench scenario, parsed by
/// swift-argument-parser, with its usage errors (status 64) for values that do not parse.
@Suite("uds argument types, through the built executable")
struct ArgumentTypesTests {
    @Test(arguments: [
        ["serve", "/tmp/uds-arguments.sock", "--idle-timeout=-1"],
        ["serve", "/tmp/uds-arguments.sock", "--grace", "soon"],
        ["serve", "/tmp/uds-arguments.sock", "--max-size", "12q"],
        ["send", "/tmp/uds-arguments.sock", "--timeout", "0", "m"],
        ["send", "/tmp/uds-arguments.sock", "--timeout", "1x", "m"],
        ["connect", "/tmp/uds-arguments.sock", "--linger=-0.5"],
        ["bench", "/tmp/uds-arguments.sock", "--scenario", "nope"],
        ["bench", "/tmp/uds-arguments.sock", "--duration", "0"],
    ])
    func aValueThatDoesNotParseIsAUsageError(arguments: [String]) async throws {
        let run = try await uds(arguments)
        #expect(run.status == 64, "\(run.stderr)")
        let option = arguments.first { $0.hasPrefix("--") }!.split(separator: "=")[0]
        #expect(run.stderr.contains(option), "the error names \(option): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "/tmp/uds-arguments.sock"))
    }

    @Test func anUnknownScenarioIsRefusedNamingTheScenarios() async throws {
        let run = try await uds("bench", "/tmp/uds-arguments.sock", "--scenario", "nope")
        #expect(run.status == 64)
        for scenario in ["oneshot", "bulk", "fanin", "pingpong", "pipeline"] {
            #expect(run.stderr.contains(scenario), "\(run.stderr)")
        }
    }

    @Test func durationsTakeSecondsOrAUnit() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/d.sock"
            try await withServe(
                path,
                [
                    "--framed", "--reply", "echo", "--quiet", "--idle-timeout", "1m", "--deadline", "10m", "--grace",
                    "2.5",
                ]
            ) { _ in
                // a generous linger, as FramedCLITests: the echo must be back before uds connect closes
                let session = try await uds("connect", path, "--linger", "5000ms", "--timeout", "1h", stdin: "hi\n")
                #expect(session.status == 0, "\(session.stderr)")
                #expect(session.stdout == "hi\n")
            }
        }
    }

    @Test func sendAndConnectShareTheirLimitsAndEachSpellingStillWorks() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/limits.sock"
            try await withServe(path, ["--framed", "--reply", "echo", "--quiet"]) { _ in
                let long = String(repeating: "x", count: 100)
                let tooLong = try await uds("send", "--framed", "--expect", "any", "--max-reply", "10", path, long)
                #expect(tooLong.status == 1, "a 100-byte echo is past --max-reply 10: \(tooLong.stderr)")
                #expect(tooLong.stderr.contains("exceeds the limit of 10 bytes"), "\(tooLong.stderr)")
                let framed = try await uds("connect", path, "--max-frame", "1KiB", "--linger", "5", stdin: long + "\n")
                #expect(framed.stdout == long + "\n", "\(framed.stderr)")
            }
        }
        let help = try await uds("connect", "--help")
        #expect(help.stdout.contains("--max-reply, --max-frame <size>"), "\(help.stdout)")
    }
}
