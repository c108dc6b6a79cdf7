// FoundationEssentials, not Foundation: its JSONEncoder and JSONDecoder are the same code without ICU and
// CoreFoundation, so a program that links UDSKit does not load libFoundation.so (or carry its ICU data when linked
// statically).
#if canImport(FoundationEssentials)
    internal import FoundationEssentials
#else
    internal import Foundation
#endif

extension FramedClient {
    /// Sends `request` encoded as JSON and decodes the reply as `Reply`.
    ///
    /// ```swift
    /// let pong = try await client.request(Ping(), as: Pong.self)
    /// ```
    public func request<Request: Encodable, Reply: Decodable>(
        _ request: Request, as replyType: Reply.Type = Reply.self
    ) async throws -> Reply {
        let reply = try await self.request(Message(bytes: try JSONEncoder().encode(request)))
        if let reason = Acknowledgement.errorReason(in: reply) {
            throw UnixSocketError(.serverError, operation: .request, socket: "\(address)", detail: reason)
        }
        return try JSONDecoder().decode(Reply.self, from: Data(reply.bytes))
    }
}
