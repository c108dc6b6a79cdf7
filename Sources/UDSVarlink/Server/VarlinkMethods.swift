/// The handlers of one interface's methods, registered by name with ``VarlinkService/addInterface(_:_:)``.
///
/// ```swift
/// try service.addInterface(pingIDL) { methods in
///     methods.method("Ping") { (request: Ping, call) in Pong(pong: request.ping) }
/// }
/// ```
public struct VarlinkMethods: Sendable {
    /// A method's handler: reads a call's parameters (the bytes of their object, `nil` for none) into what the
    /// method's body takes, and returns the body bound to them; the bytes are read while the connection holds them,
    /// the body runs after.
    @usableFromInline struct Handler: Sendable {
        /// Throws a ``VarlinkError`` (untyped: a typed-throws closure here crashes the Swift 6.3 compiler).
        let prepare: @Sendable (UnsafeRawBufferPointer?) throws -> Invocation
        /// The interface definition and method the parameters' type was generated from
        /// (``VarlinkGeneratedParameters``); a call to that method of that definition is not checked against the IDL
        /// before `prepare`, which checks it as it reads.
        let generatedFrom: (description: String, method: String)?

        @usableFromInline init(
            _ parameters: Any.Type, _ prepare: @escaping @Sendable (UnsafeRawBufferPointer?) throws -> Invocation
        ) {
            self.prepare = prepare
            generatedFrom = (parameters as? any VarlinkGeneratedParameters.Type).map {
                ($0.varlinkInterfaceDescription, $0.varlinkMethodName)
            }
        }
    }

    /// A method's body bound to its call's parameters.
    @usableFromInline struct Invocation: Sendable {
        let run: nonisolated(nonsending) @Sendable (VarlinkCall, VarlinkReplyChannel) async throws -> Void

        @usableFromInline init(
            _ run: nonisolated(nonsending) @escaping @Sendable (VarlinkCall, VarlinkReplyChannel) async throws -> Void
        ) { self.run = run }
    }
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
        handlers[name] = Handler(Parameters.self) { parameters in
            let decoded = try Self.decode(Parameters.self, parameters)
            return Invocation { call, channel in
                try await channel.reply(try await body(decoded, call), continues: false)
            }
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
        handlers[name] = Handler(Parameters.self) { parameters in
            let decoded = try Self.decode(Parameters.self, parameters)
            return Invocation { call, channel in
                let last = try await body(decoded, call, VarlinkReplyStream(channel: channel))
                try await channel.reply(last, continues: false)
            }
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
        handlers[name] = Handler(Parameters.self) { parameters in
            let decoded = try Self.read(Parameters.self, parameters)
            return Invocation { call, channel in
                try await channel.reply(json: try await body(decoded, call), continues: false)
            }
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
        handlers[name] = Handler(Parameters.self) { parameters in
            let decoded = try Self.read(Parameters.self, parameters)
            return Invocation { call, channel in
                let last = try await body(decoded, call, VarlinkReplyStream(channel: channel))
                try await channel.reply(json: last, continues: false)
            }
        }
    }

    /// Answers method `name` with untyped parameters and reply, as ``JSONValue``s.
    public mutating func rawMethod(
        _ name: String,
        _ body: nonisolated(nonsending) @escaping @Sendable (JSONValue, VarlinkCall) async throws -> JSONValue
    ) {
        handlers[name] = Handler(JSONValue.self) { parameters in
            let value = try Self.value(parameters)
            return Invocation { call, channel in
                try await channel.reply(try await body(value, call), continues: false)
            }
        }
    }

    @usableFromInline
    static func decode<T: Decodable>(_ type: T.Type, _ parameters: UnsafeRawBufferPointer?) throws(VarlinkError) -> T {
        let value = try Self.value(parameters)
        do {
            return try JSONValueDecoder.decode(type, from: value)
        } catch let error as DecodingError {
            throw VarlinkError.invalidParameter(Self.parameterName(error))
        } catch {
            throw VarlinkError.invalidParameter("")
        }
    }

    @usableFromInline
    static func read<T: VarlinkJSONCodable>(
        _ type: T.Type, _ parameters: UnsafeRawBufferPointer?
    ) throws(VarlinkError) -> T {
        let empty: StaticString = "{}"
        var json = VarlinkJSONReader(
            parameters ?? UnsafeRawBufferPointer(start: empty.utf8Start, count: empty.utf8CodeUnitCount))
        do {
            return try T(varlinkJSON: &json)
        } catch {
            throw VarlinkError.invalidParameter(error.path)
        }
    }

    /// The parameters as a ``JSONValue``, `{}` for none.
    @usableFromInline
    static func value(_ parameters: UnsafeRawBufferPointer?) throws(VarlinkError) -> JSONValue {
        guard let parameters else { return .object([:]) }
        do {
            return try JSONParser.parse(parameters)
        } catch {
            // The connection checked that they are JSON.
            throw VarlinkError.invalidParameter("")
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
