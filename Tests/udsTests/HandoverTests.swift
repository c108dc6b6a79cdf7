import Foundation
import Synchronization
import Testing
import UDSKit
import UDSKitTestSupport

@Suite("uds serve --handover: zero-downtime restart")
struct HandoverTests {
    @Test func aSuccessorTakesOverWithoutARefusedConnection() async throws {
        try await withTemporaryDirectory { dir in
            let path = dir + "/h.sock"
            let first = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--handover"])
            try await waitForServer(at: path)

            // Clients deliver messages all the time, before, during and after the restart.
            let stop = Atomic<Bool>(false)
            let deliveredSoFar = Atomic<Int>(0)
            let client = try MessageClient(path: path)
            let sender = Task {
                var delivered = 0
                var failures: [String] = []
                while !stop.load(ordering: .relaxed) {
                    do {
                        try await client.deliver(Message("message \(delivered)"))
                        delivered += 1
                        deliveredSoFar.store(delivered, ordering: .relaxed)
                    } catch {
                        failures.append("\(error)")
                    }
                }
                return (delivered, failures)
            }
            try await waitUntil("the first server has acknowledged messages before the restart") {
                deliveredSoFar.load(ordering: .relaxed) >= 10
            }
            let second = try ChildProcess(udsExecutable, ["serve", path, "--quiet", "--handover"])
            #expect(try await first.waitForExit(timeout: 60) == 0, "\(first.stderr)")
            #expect(first.stderr.contains("handed the listening socket to a successor"))
            // The successor logs the takeover once it has the socket; its predecessor may exit before that line.
            try await waitUntil("the successor logs the takeover; stderr: \(second.stderr)") {
                second.stderr.contains("took over the listening socket")
            }
            let atTakeover = deliveredSoFar.load(ordering: .relaxed)
            try await waitUntil("the successor has acknowledged messages after the takeover") {
                deliveredSoFar.load(ordering: .relaxed) >= atTakeover + 10
            }
            stop.store(true, ordering: .relaxed)
            let (delivered, failures) = await sender.value
            #expect(failures.isEmpty, "\(failures.prefix(3))")
            #expect(delivered >= atTakeover + 10)
            #expect(FileManager.default.fileExists(atPath: path), "the predecessor leaves the socket file")

            second.signal(SIGTERM)
            #expect(try await second.waitForExit() == 0)
            #expect(!FileManager.default.fileExists(atPath: path))
            #expect(!FileManager.default.fileExists(atPath: path + ".handover"))
        }
    }
}
