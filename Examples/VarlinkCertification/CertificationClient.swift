import UDSVarlink

/// The client side of `org.varlink.certification`: runs Start, Test01 … Test11 and End against a server, each
/// step with what the one before returned, with typed parameters and replies.
struct CertificationClient {
    let client: VarlinkClient
    let log: (String) -> Void

    struct ClientID: Codable, Sendable { var client_id: String }
    struct Test01Reply: Codable, Sendable { var bool: Bool }
    struct Test02: Codable, Sendable { var client_id: String, bool: Bool }
    struct Test02Reply: Codable, Sendable { var int: Int }
    struct Test03: Codable, Sendable { var client_id: String, int: Int }
    struct Test03Reply: Codable, Sendable { var float: Double }
    struct Test04: Codable, Sendable { var client_id: String, float: Double }
    struct Test04Reply: Codable, Sendable { var string: String }
    struct Test05: Codable, Sendable { var client_id: String, string: String }
    struct Scalars: Codable, Sendable { var bool: Bool, int: Int, float: Double, string: String }
    struct Test06: Codable, Sendable { var client_id: String, bool: Bool, int: Int, float: Double, string: String }
    struct StructReply: Codable, Sendable { var `struct`: Scalars }
    struct Test07: Codable, Sendable { var client_id: String, `struct`: Scalars }
    struct MapReply: Codable, Sendable { var map: [String: String] }
    struct Test08: Codable, Sendable { var client_id: String, map: [String: String] }
    struct SetReply: Codable, Sendable { var set: VarlinkStringSet }
    struct Test09: Codable, Sendable { var client_id: String, set: VarlinkStringSet }
    struct MyTypeReply: Codable, Sendable { var mytype: MyType }
    struct Test10: Codable, Sendable { var client_id: String, mytype: MyType }
    struct StringReply: Codable, Sendable { var string: String }
    struct Test11: Codable, Sendable { var client_id: String, last_more_replies: [String] }
    struct EndReply: Codable, Sendable { var all_ok: Bool }

    struct MyType: Codable, Sendable {
        enum Choice: String, Codable, Sendable { case one, two, three }
        enum Foo: String, Codable, Sendable { case foo, bar, baz }
        struct Pair: Codable, Sendable { var first: Int, second: String }
        struct Anon: Codable, Sendable { var foo: Bool, bar: Bool }
        struct Interface: Codable, Sendable {
            var foo: [[String: Foo]?]?
            var anon: Anon
        }
        var object: JSONValue
        var `enum`: Choice
        var `struct`: Pair
        var array: [String]
        var dictionary: [String: String]
        var stringset: VarlinkStringSet
        var nullable: String?
        var nullable_array_struct: [Pair]?
        var interface: Interface
    }

    /// Runs every step; returns what `End` said (`all_ok`).
    ///
    /// - Throws: the first error reply, as a ``VarlinkError``, or a decoding error for a reply of the wrong shape.
    func run() async throws -> Bool {
        let method = { (name: String) in "org.varlink.certification.\(name)" }
        let id = try await client.call(method("Start"), as: ClientID.self).client_id
        log("Start: client_id \(id)")
        let r1 = try await client.call(method("Test01"), ClientID(client_id: id), as: Test01Reply.self)
        log("Test01: \(r1)")
        let r2 = try await client.call(method("Test02"), Test02(client_id: id, bool: r1.bool), as: Test02Reply.self)
        log("Test02: \(r2)")
        let r3 = try await client.call(method("Test03"), Test03(client_id: id, int: r2.int), as: Test03Reply.self)
        log("Test03: \(r3)")
        let r4 = try await client.call(method("Test04"), Test04(client_id: id, float: r3.float), as: Test04Reply.self)
        log("Test04: \(r4)")
        let r5 = try await client.call(method("Test05"), Test05(client_id: id, string: r4.string), as: Scalars.self)
        log("Test05: \(r5)")
        let r6 = try await client.call(
            method("Test06"), Test06(client_id: id, bool: r5.bool, int: r5.int, float: r5.float, string: r5.string),
            as: StructReply.self)
        log("Test06: \(r6)")
        let r7 = try await client.call(method("Test07"), Test07(client_id: id, struct: r6.struct), as: MapReply.self)
        log("Test07: \(r7)")
        let r8 = try await client.call(method("Test08"), Test08(client_id: id, map: r7.map), as: SetReply.self)
        log("Test08: \(r8)")
        let r9 = try await client.call(method("Test09"), Test09(client_id: id, set: r8.set), as: MyTypeReply.self)
        log("Test09: \(r9)")
        var replies: [String] = []
        for try await reply in client.callMore(
            method("Test10"), Test10(client_id: id, mytype: r9.mytype), as: StringReply.self)
        {
            log("Test10: \(reply.string)")
            replies.append(reply.string)
        }
        try await client.callOneway(method("Test11"), Test11(client_id: id, last_more_replies: replies))
        log("Test11: sent oneway")
        let end = try await client.call(method("End"), ClientID(client_id: id), as: EndReply.self)
        log("End: all_ok \(end.all_ok)")
        return end.all_ok
    }
}
