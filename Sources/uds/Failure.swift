import ArgumentParser
import SystemPackage
import UDSKit

/// Exit codes of `uds`, as listed in its `--help`.
enum ExitStatus {
    static let failure: Int32 = 1
    static let notAcknowledged: Int32 = 2
    static let noServer: Int32 = 3
    static let permissionDenied: Int32 = 4
    static let timedOut: Int32 = 5
    static let pathTaken: Int32 = 6

    static func forError(_ error: UnixSocketError) -> Int32 {
        switch error.code {
        case .notAcknowledged, .serverError, .replyTooLarge, .messageTooLarge: return notAcknowledged
        case .noSocketFile, .staleSocketFile: return noServer
        case .permissionDenied: return permissionDenied
        case .timedOut: return timedOut
        case .serverAlreadyListening, .notASocket, .wrongSocketType: return pathTaken
        default: return failure
        }
    }
}

/// Prints `uds: <reason>` on standard error and returns the exit code for `error`, for the command to throw (an
/// `ExitCode` passes through unprinted: whoever threw it has said why).
func failure(_ error: any Error) -> ExitCode {
    let line: String
    let status: Int32
    switch error {
    case let error as ExitCode:
        return error
    case let error as UnixSocketError:
        line = error.description + expectAnyHint(for: error)
        status = ExitStatus.forError(error)
    default:
        line = "\(error)"
        status = ExitStatus.failure
    }
    printError("uds: " + line)
    return ExitCode(status)
}

/// What to do when a reply was not an acknowledgement: a server that echoes or runs a command answers with
/// something else, and `--expect any` takes any reply that is not an error reply.
private func expectAnyHint(for error: UnixSocketError) -> String {
    guard error.code == .notAcknowledged, error.detail?.hasSuffix("is not an acknowledgement") == true else {
        return ""
    }
    return "; if the server answers with something else (--reply echo, --exec), pass --expect any"
}

/// A failure that comes from what is on this system rather than from the command line's syntax (a user or group
/// name that does not exist): one line, no usage block, exit status 1.
struct CommandLineFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Writes `line` and a newline to standard error.
func printError(_ line: String) {
    let bytes = Array((line + "\n").utf8)
    _ = try? bytes.withUnsafeBytes { try FileDescriptor.standardError.writeAll($0) }
}
