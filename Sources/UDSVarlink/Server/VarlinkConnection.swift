import Logging
import NIOCore
import UDSKit

// JSONEncoder from FoundationEssentials, not Foundation: no libFoundation.so or ICU in a varlink program. Darwin has
// no FoundationEssentials module; there Foundation is the same code.
#if canImport(FoundationEssentials)
    import FoundationEssentials
#else
    import Foundation
#endif

/// Serves one varlink connection: decodes each call once, checks it against the IDL, runs its handler and writes
/// its replies, one call at a time, in order.
struct VarlinkConnection {
    let service: VarlinkService
    let connection: FramedServerConnection
    private let builtIn: VarlinkMethods

    init(service: VarlinkService, connection: FramedServerConnection) {
        self.service = service
        self.connection = connection
        self.builtIn = VarlinkServiceInterface.methods(for: service)
    }

    /// A method found in the service, with its interface (to validate against) and its handler. A class: the last
    /// one is kept for the next call, and a struct of these fields cost a dozen retains and releases per call.
    private final class Resolved {
        let qualified: String
        let interface: VarlinkInterface
        let handler: VarlinkMethods.Handler
        let method: VarlinkMethod

        init(
            qualified: String, interface: VarlinkInterface, handler: @escaping VarlinkMethods.Handler,
            method: VarlinkMethod
        ) {
            self.qualified = qualified
            self.interface = interface
            self.handler = handler
            self.method = method
        }
    }

    func run() async throws {
        // Made at the first call: a connection that stays idle holds no encoder.
        var writer: VarlinkReplyWriter?
        // The method the last call resolved to: calls on a connection mostly repeat one method.
        var last: Resolved?
        // A read's calls at a time: pipelined calls cost no hand-over each (FramedHandler.bursts).
        while let calls = try await connection.nextFrames() {
            for index in calls.indices {
                var parsed: Result<VarlinkCallMessage, VarlinkProtocolError>?
                calls.withPayload(at: index) { raw in
                    parsed = Result { () throws(VarlinkProtocolError) in
                        try VarlinkCallMessage(parsing: raw, knownMethod: last?.qualified)
                    }
                }
                let call: VarlinkCallMessage
                do {
                    call = try parsed!.get()
                } catch {
                    var metadata = metadata()
                    metadata["varlink.error"] = "\(error)"
                    connection.context.logger.warning(
                        "closing varlink connection: a message is not a varlink call (malformed JSON, or no method)",
                        metadata: metadata)
                    return
                }
                let target: Result<Resolved, VarlinkError>
                if let last, last.qualified == call.method {
                    target = .success(last)
                } else {
                    target = Result { () throws(VarlinkError) in try resolve(call.method) }
                    if case .success(let resolved) = target { last = resolved }
                }
                let replies = writer ?? VarlinkReplyWriter()
                writer = replies
                try await answer(call, target, writer: replies)
            }
        }
    }

    // nonisolated(nonsending), here and on the handlers and the reply channel: they run on the caller's executor, so
    // calling one costs no swift_task_switch (with its task-executor lookup under a lock) per call.
    nonisolated(nonsending) private func answer(
        _ call: VarlinkCallMessage, _ target: Result<Resolved, VarlinkError>, writer: VarlinkReplyWriter
    ) async throws {
        let oneway = call.oneway ?? false
        let more = (call.more ?? false) && !oneway
        let context = VarlinkCall(method: call.method, more: more, oneway: oneway, context: connection.context)
        do {
            let resolved = try target.get()
            let (interface, handler, method) = (resolved.interface, resolved.handler, resolved.method)
            try interface.validate(parameters: call.parameters, ofMethod: method)
            var check: (@Sendable (JSONValue) throws(VarlinkError) -> Void)? = nil
            #if DEBUG
                check = { (reply: JSONValue) throws(VarlinkError) in
                    try interface.validate(reply: reply, ofMethod: method)
                }
            #endif
            let channel = VarlinkReplyChannel(
                connection: connection, writer: writer, more: more, oneway: oneway, check: check)
            do {
                try await handler(call.parameters, context, channel)
            } catch let error as VarlinkError {
                try await channel.reply(error: error)
            } catch let error as any VarlinkErrorConvertible {
                try await channel.reply(error: error.varlinkError)
            } catch let error as UnixSocketError where error.code == .connectionClosed {
                throw error
            } catch {
                connection.context.logger.warning(
                    "varlink method failed",
                    metadata: ["varlink.method": "\(call.method)", "varlink.error": "\(error)"])
                try await channel.reply(error: VarlinkError(name: "org.varlink.service.InternalError"))
            }
        } catch let error as VarlinkError {
            // Resolution or validation failed: nothing ran.
            let channel = VarlinkReplyChannel(
                connection: connection, writer: writer, more: false, oneway: oneway, check: nil)
            try await channel.reply(error: error)
        }
    }

    private func resolve(_ qualified: String) throws(VarlinkError) -> Resolved {
        guard let dot = qualified.lastIndex(of: ".") else { throw VarlinkError.interfaceNotFound(qualified) }
        let interfaceName = String(qualified[..<dot])
        let methodName = String(qualified[qualified.index(after: dot)...])
        let interface: VarlinkInterface
        let methods: VarlinkMethods
        if interfaceName == VarlinkServiceInterface.name {
            (interface, methods) = (VarlinkServiceInterface.interface, builtIn)
        } else if let registered = service.interfaces[interfaceName] {
            (interface, methods) = (registered.interface, registered.methods)
        } else {
            throw VarlinkError.interfaceNotFound(interfaceName)
        }
        guard let method = interface.methods[methodName] else { throw VarlinkError.methodNotFound(qualified) }
        guard let handler = methods.handlers[methodName] else { throw VarlinkError.methodNotImplemented(qualified) }
        return Resolved(qualified: qualified, interface: interface, handler: handler, method: method)
    }

    private func metadata() -> Logger.Metadata {
        var metadata: Logger.Metadata = ["uds.connection": "\(connection.context.connectionID)"]
        if let peer = connection.context.peer {
            metadata["uds.peer_pid"] = "\(peer.processID)"
            metadata["uds.peer_uid"] = "\(peer.userID)"
        }
        return metadata
    }
}
