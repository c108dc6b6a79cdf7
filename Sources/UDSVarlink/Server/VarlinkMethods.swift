/// The handlers of one interface's methods, registered by name with ``VarlinkService/addInterface(_:_:)``.
///
/// ```swift
/// try service.addInterface(pingIDL) { methods in
///     methods.method("Ping") { (request: Ping, call) in Pong(pong: request.ping) }
/// }
/// ```
public struct VarlinkMethods: Sendable {
    @usableFromInline typealias Handler =
        nonisolated(nonsending) @Sendable (JSONValue?, VarlinkCall, VarlinkReplyChannel) async throws
        -> Void
    @usableFromInline var handlers: [String: Handler] = [:]

    // Inlinable, here and in streamingMethod: the handler is then made for the concrete Parameters and Reply where it
    // is registered, rather than looking up their generic metadata at run time on each call (perf, BENCHMARKS.md).

    /// Answers method `name` (unqualified, as in the IDL) with what `body` returns.
    ///
    /// The parameters decode as `Parameters` after they passed the IDL's checks; a value the IDL allows but
    /// `Parameters` does not take is answered with `org.varlink.service.InvalidParameter` too. Throw a
    /// ``VarlinkError`` (or a ``VarlinkErrorConvertible``) to answer with an error.
    @inlinable
    public mutating func method<Parameters: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ name: String,
        _ body: nonisolated(nonsending) @escaping @Sendable (Parameters, VarlinkCall) async throws -> Reply
    ) {
        handlers[name] = { parameters, call, channel in
            let decoded = try Self.decode(Parameters.self, parameters)
            try await channel.reply(try await body(decoded, call), continues: false)
        }
    }

    /// Answers method `name` with a stream: each ``VarlinkReplyStream/send(_:)`` sends a reply with
    /// `"continues": true`, and what `body` returns is the last reply.
    ///
    /// Called without `more`, a `send` throws ``VarlinkError/expectedMore()``, so the caller gets that error.
    @inlinable
    public mutating func streamingMethod<Parameters: Decodable & Sendable, Reply: Encodable & Sendable>(
        _ name: String,
        _ body:
            nonisolated(nonsending) @escaping @Sendable (Parameters, VarlinkCall, VarlinkReplyStream<Reply>)
            async throws
            -> Reply
    ) {
        handlers[name] = { parameters, call, channel in
            let decoded = try Self.decode(Parameters.self, parameters)
            let last = try await body(decoded, call, VarlinkReplyStream(channel: channel))
            try await channel.reply(last, continues: false)
        }
    }

    /// Answers method `name` with what `body` returns, its parameters read and its reply written by their own
    /// ``VarlinkJSONCodable`` conformances rather than `Codable`'s containers (the generated types' path).
    @inlinable
    public mutating func method<
        Parameters: VarlinkJSONCodable & Sendable, Reply: VarlinkJSONCodable & Sendable
    >(
        _ name: String,
        _ body: nonisolated(nonsending) @escaping @Sendable (Parameters, VarlinkCall) async throws -> Reply
    ) {
        handlers[name] = { parameters, call, channel in
            let decoded = try Self.read(Parameters.self, parameters)
            try await channel.reply(json: try await body(decoded, call), continues: false)
        }
    }

    /// Answers method `name` with a stream, as the `Codable` overload does, its parameters read and its replies
    /// written by their own ``VarlinkJSONCodable`` conformances.
    @inlinable
    public mutating func streamingMethod<
        Parameters: VarlinkJSONCodable & Sendable, Reply: VarlinkJSONCodable & Sendable
    >(
        _ name: String,
        _ body:
            nonisolated(nonsending) @escaping @Sendable (Parameters, VarlinkCall, VarlinkReplyStream<Reply>)
            async throws
            -> Reply
    ) {
        handlers[name] = { parameters, call, channel in
            let decoded = try Self.read(Parameters.self, parameters)
            let last = try await body(decoded, call, VarlinkReplyStream(channel: channel))
            try await channel.reply(json: last, continues: false)
        }
    }

    /// Answers method `name` with untyped parameters and reply, as ``JSONValue``s.
    public mutating func rawMethod(
        _ name: String,
        _ body: nonisolated(nonsending) @escaping @Sendable (JSONValue, VarlinkCall) async throws -> JSONValue
    ) {
        handlers[name] = { parameters, call, channel in
            try await channel.reply(try await body(parameters ?? .object([:]), call), continues: false)
        }
    }

    @usableFromInline
    static func decode<T: Decodable>(_ type: T.Type, _ parameters: JSONValue?) throws(VarlinkError) -> T {
        do {
            return try JSONValueDecoder.decode(type, from: parameters ?? .object([:]))
        } catch let error as DecodingError {
            throw VarlinkError.invalidParameter(Self.parameterName(error))
        } catch {
            throw VarlinkError.invalidParameter("")
        }
    }

    @usableFromInline
    static func read<T: VarlinkJSONCodable>(_ type: T.Type, _ parameters: JSONValue?) throws(VarlinkError) -> T {
        do {
            return try T(varlinkJSON: parameters ?? .object([:]))
        } catch {
            throw VarlinkError.invalidParameter(error.path)
        }
    }

    /// The dotted path of the value a decoding error is about.
    private static func parameterName(_ error: DecodingError) -> String {
        var path: [any CodingKey]
        switch error {
        case .keyNotFound(let key, let context): path = context.codingPath + [key]
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            path = context.codingPath
        @unknown default: path = []
        }
        var name = ""
        for key in path {
            if let index = key.intValue {
                name += "[\(index)]"
            } else {
                name += name.isEmpty ? key.stringValue : ".\(key.stringValue)"
            }
        }
        return name
    }
}
