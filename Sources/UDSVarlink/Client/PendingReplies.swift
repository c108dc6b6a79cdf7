import NIOCore
import UDSKit

/// The calls of one ``VarlinkClient`` connection waiting for replies, oldest first, and the turn-taking that writes
/// calls in the order they are registered.
final class PendingReplies: Sendable {
    enum Waiter: Sendable {
        case single(ReplySlot)
        case stream(ReplyBuffer)
    }
    private struct State {
        var waiters: [Waiter] = []
        var first = 0
        var nextTicket = 0
        var serving = 0
        var turns: [Int: CheckedContinuation<Void, Never>] = [:]
        var closedWith: (any Error)?
    }
    private let state = Locked(State())

    /// Registers `waiter` and sends `message`, so that waiters are in the order their calls went out.
    func send(_ message: Message, expecting waiter: Waiter?, on framed: FramedClient) async throws {
        let (ticket, isMyTurn) = try state.withLock { state throws -> (Int, Bool) in
            if let error = state.closedWith { throw error }
            defer { state.nextTicket += 1 }
            return (state.nextTicket, state.serving == state.nextTicket)
        }
        if !isMyTurn {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.serving == ticket { return true }
                    state.turns[ticket] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        }
        defer {
            let next = state.withLock { state in
                state.serving += 1
                return state.turns.removeValue(forKey: state.serving)
            }
            next?.resume()
        }
        if let waiter {
            let error = state.withLock { state -> (any Error)? in
                if let error = state.closedWith { return error }
                state.waiters.append(waiter)
                return nil
            }
            if let error { throw error }
        }
        try await framed.send(message)
    }

    /// A reply came: it answers the oldest waiting call. Returns once a `more` call's consumer has room for more.
    func deliver(_ message: Message) async {
        let decoded: VarlinkReplyMessage
        do {
            decoded = try message.buffer.withUnsafeReadableBytes { raw throws(VarlinkProtocolError) in
                try VarlinkReplyMessage(parsing: raw)
            }
        } catch {
            return close(
                VarlinkProtocolError(message: "the server sent a reply that is not varlink JSON: \(error.message)"))
        }
        let result: Result<JSONValue, any Error> =
            if let name = decoded.error {
                .failure(VarlinkError(name: name, parameters: decoded.parameters ?? .object([:])))
            } else {
                .success(decoded.parameters ?? .object([:]))
            }
        let continues = decoded.continues ?? false
        let waiter = state.withLock { state -> Waiter? in
            guard state.first < state.waiters.count else { return nil }
            let waiter = state.waiters[state.first]
            if case .stream = waiter, continues, decoded.error == nil { return waiter }
            state.first += 1
            if state.first == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.first = 0
            }
            return waiter
        }
        switch waiter {
        case nil:
            close(VarlinkProtocolError(message: "the server sent a reply to no call"))
        case .single(let slot):
            slot.resolve(result)
        case .stream(let buffer):
            switch result {
            case .success(let value):
                await buffer.append(value, size: message.buffer.readableBytes, last: !continues)
            case .failure(let error):
                buffer.fail(error)
            }
        }
    }

    /// The connection is gone: fail every waiting call, and every later one.
    func close(_ error: any Error) {
        let waiters = state.withLock { state -> ArraySlice<Waiter> in
            if state.closedWith == nil { state.closedWith = error }
            defer {
                state.waiters = []
                state.first = 0
            }
            return state.waiters[state.first...]
        }
        for waiter in waiters {
            switch waiter {
            case .single(let slot): slot.resolve(.failure(error))
            case .stream(let buffer): buffer.fail(error)
            }
        }
    }
}

/// One reply to wait for: resolved once, awaited once.
final class ReplySlot: Sendable {
    private struct State {
        var result: Result<JSONValue, any Error>?
        var continuation: CheckedContinuation<JSONValue, any Error>?
    }
    private let state = Locked(State())

    func resolve(_ result: Result<JSONValue, any Error>) {
        let continuation = state.withLock { state in
            if state.continuation == nil { state.result = result }
            defer { state.continuation = nil }
            return state.continuation
        }
        continuation?.resume(with: result)
    }

    func value() async throws -> JSONValue {
        try await withCheckedThrowingContinuation { continuation in
            let result = state.withLock { state in
                if state.result == nil { state.continuation = continuation }
                return state.result
            }
            if let result { continuation.resume(with: result) }
        }
    }
}

/// The peer broke the protocol: a reply that is not varlink JSON, or one no call waits for.
public struct VarlinkProtocolError: Error, Hashable, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
