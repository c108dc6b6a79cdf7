import Foundation

/// Checks `condition` every 10 ms until it holds; returns false if it still does not after `timeout` seconds.
/// Tests wait for conditions, never for a fixed time: this is the one polling loop they share.
public func eventually(timeout: Double = 30, _ condition: () throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    while try !condition() {
        if Date() > deadline { return false }
        try await Task.sleep(for: .milliseconds(10))
    }
    return true
}

/// Waits until `condition` holds; throws a ``TestFailure`` that says `what` (the condition waited for, or what
/// failed) after `timeout` seconds. The timeout is generous: it only ends a test that would otherwise hang.
public func waitUntil(
    _ what: @autoclosure () -> String,
    timeout: Double = 60,
    _ condition: () throws -> Bool
) async throws {
    guard try await eventually(timeout: timeout, condition) else {
        throw TestFailure("timed out after \(timeout) s waiting: \(what())")
    }
}
