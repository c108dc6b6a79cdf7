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
    private final class Resolved: Sendable {
        let qualified: String
        let interface: VarlinkInterface
        let handler: VarlinkMethods.Handler
        let method: VarlinkMethod
        /// The check of the parameters against the IDL: the interface's types and the method's input, held apart so
        /// that no call copies the interface or the method.
        let check: VarlinkTypeCheck
        let input: [VarlinkField]
        /// The handler's parameters were generated from this very method of this very definition: reading them
        /// checks them (``VarlinkGeneratedParameters``).
        let readingChecks: Bool

        init(
            qualified: String, interface: VarlinkInterface, handler: VarlinkMethods.Handler,
            method: VarlinkMethod, readingChecks: Bool
        ) {
            self.qualified = qualified
            self.interface = interface
            self.handler = handler
            self.method = method
            self.check = VarlinkTypeCheck(types: interface.types)
            self.input = method.input
            self.readingChecks = readingChecks
        }
    }

    /// A call read from its message: what the handler needs once the message's bytes are gone.
    private struct Prepared {
        let method: String
        let more: Bool
        let oneway: Bool
        /// The method's body bound to the call's parameters, with the method it resolved to; or why nothing runs.
        let target: Result<(VarlinkMethods.Invocation, Resolved), VarlinkError>
    }

    func run() async throws {
        // Made at the first call: a connection that stays idle holds no encoder.
        var writer: VarlinkReplyWriter?
        // The method the last call resolved to: calls on a connection mostly repeat one method.
        var last: Resolved?
        // A read's calls at a time: pipelined calls cost no hand-over each (FramedHandler.bursts).
        while let calls = try await connection.nextFrames() {
            for index in calls.indices {
                var prepared: Prepared?
                var refused: VarlinkProtocolError?
                calls.withPayload(at: index) { raw in
                    do throws(VarlinkProtocolError) {
                        prepared = try prepare(raw, last: &last)
                    } catch {
                        refused = error
                    }
                }
                guard let call = prepared.take() else {
                    var metadata = metadata()
                    metadata["varlink.error"] = "\(refused.map { "\($0)" } ?? "")"
                    connection.context.logger.warning(
                        "closing varlink connection: a message is not a varlink call (malformed JSON, or no method)",
                        metadata: metadata)
                    return
                }
                let replies = writer ?? VarlinkReplyWriter()
                writer = replies
                try await answer(call, writer: replies)
            }
        }
    }

    /// Parses the call in `raw`, resolves its method (`last` when it names that one, else the new `last`), checks
    /// its parameters against the IDL and reads them into the handler's type: all while `raw` is valid, and without
    /// a ``JSONValue`` of the parameters.
    ///
    /// - Throws: ``VarlinkProtocolError`` when `raw` is not a call; a call the server refuses is a `failure`.
    private func prepare(_ raw: UnsafeRawBufferPointer, last: inout Resolved?) throws(VarlinkProtocolError) -> Prepared
    {
        let header = try VarlinkCallHeader(parsing: raw, knownMethod: last?.qualified)
        let oneway = header.oneway ?? false
        let more = (header.more ?? false) && !oneway
        let target: Result<(VarlinkMethods.Invocation, Resolved), VarlinkError>
        do {
            let resolved: Resolved
            if let known = last, known.qualified == header.method {
                resolved = known
            } else {
                resolved = try resolve(header.method)
                last = resolved
            }
            let parameters = header.parameters.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }
            if !resolved.readingChecks { try resolved.check.validate(json: parameters, against: resolved.input) }
            target = .success((try resolved.handler.prepare(parameters), resolved))
        } catch let error as VarlinkError {
            target = .failure(error)
        } catch {
            // A handler's prepare throws VarlinkError only (VarlinkMethods.Handler); anything else is its reading.
            target = .failure(VarlinkError.invalidParameter(""))
        }
        return Prepared(method: header.method, more: more, oneway: oneway, target: target)
    }

    // nonisolated(nonsending), here and on the handlers and the reply channel: they run on the caller's executor, so
    // calling one costs no swift_task_switch (with its task-executor lookup under a lock) per call. Inlined into
    // run(): one task frame and one switch back fewer per call.
    @inline(__always)
    nonisolated(nonsending) private func answer(_ call: Prepared, writer: VarlinkReplyWriter) async throws {
        let (invocation, resolved): (VarlinkMethods.Invocation, Resolved)
        switch call.target {
        case .success(let target):
            (invocation, resolved) = target
        case .failure(let error):
            // Resolution, validation or reading the parameters failed: nothing runs.
            let channel = VarlinkReplyChannel(
                connection: connection, writer: writer, more: false, oneway: call.oneway, check: nil)
            try await channel.reply(error: error)
            return
        }
        let context = VarlinkCall(method: call.method, more: call.more, oneway: call.oneway, connection: connection)
        var check: (@Sendable (JSONValue) throws(VarlinkError) -> Void)? = nil
        #if DEBUG
            check = { (reply: JSONValue) throws(VarlinkError) in
                try resolved.interface.validate(reply: reply, ofMethod: resolved.method)
            }
        #else
            _ = resolved
        #endif
        let channel = VarlinkReplyChannel(
            connection: connection, writer: writer, more: call.more, oneway: call.oneway, check: check)
        do {
            try await invocation.run(context, channel)
        } catch let error as VarlinkError {
            try await channel.reply(error: error)
        } catch let error as any VarlinkErrorConvertible {
            try await channel.reply(error: error.varlinkError)
        } catch let error as UnixSocketError where error.code == .connectionClosed {
            throw error
        } catch {
            connection.context.logger.warning(
                "varlink method failed", metadata: ["varlink.method": "\(call.method)", "varlink.error": "\(error)"])
            try await channel.reply(error: VarlinkError(name: "org.varlink.service.InternalError"))
        }
    }

    private func resolve(_ qualified: String) throws(VarlinkError) -> Resolved {
        guard let dot = qualified.lastIndex(of: ".") else { throw VarlinkError.interfaceNotFound(qualified) }
        let interfaceName = String(qualified[..<dot])
        let methodName = String(qualified[qualified.index(after: dot)...])
        let interface: VarlinkInterface
        let methods: VarlinkMethods
        let checkedByReading: Set<String>
        if interfaceName == VarlinkServiceInterface.name {
            (interface, methods, checkedByReading) = (VarlinkServiceInterface.interface, builtIn, [])
        } else if let registered = service.interfaces[interfaceName] {
            (interface, methods, checkedByReading) =
                (registered.interface, registered.methods, registered.checkedByReading)
        } else {
            throw VarlinkError.interfaceNotFound(interfaceName)
        }
        guard let method = interface.methods[methodName] else { throw VarlinkError.methodNotFound(qualified) }
        guard let handler = methods.handlers[methodName] else { throw VarlinkError.methodNotImplemented(qualified) }
        return Resolved(
            qualified: qualified, interface: interface, handler: handler, method: method,
            readingChecks: checkedByReading.contains(methodName))
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
