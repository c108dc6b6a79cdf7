// FoundationEssentials, not Foundation, for JSON: FramedClient+Codable.swift says why.
#if canImport(FoundationEssentials)
    internal import FoundationEssentials
#else
    internal import Foundation
#endif

extension FramedHandler {
    /// Decodes each frame as a JSON `Request`, runs `body`, and replies with its result encoded as JSON. A frame
    /// that does not decode gets an error reply naming the expected type.
    public static func requests<Request: Decodable & Sendable, Reply: Encodable & Sendable>(
        decoding requestType: Request.Type,
        _ body: @escaping @Sendable (Request, MessageContext) async throws -> Reply
    ) -> FramedHandler {
        .requests { message, context in
            let request: Request
            do {
                request = try JSONDecoder().decode(Request.self, from: Data(message.bytes))
            } catch {
                throw MessageRejection("the request is not a JSON \(Request.self)")
            }
            return Message(bytes: try JSONEncoder().encode(try await body(request, context)))
        }
    }
}
