import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SwitchboardCore

/// Runs the API's own route handler for a console page or form, as the signed-in account, and reads
/// its JSON answer for the template. Every rule (input checks, consent, throttles, erasure) is
/// therefore the API's, applied once, whatever the front door; a refusal arrives as the API's
/// ``Problem`` and the page shows its detail, which names the field and the fix.
struct ConsoleAPI {
    typealias Handler = @Sendable (Request, AppContext) async throws -> Response
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    let context: AppContext
    /// The console request's `X-Forwarded-For` values, so that a rule keyed by the client's address
    /// (the sign-up throttle) counts the same client through either front door.
    var forwardedFor: [String] = []

    /// Calls `handler` with a request built from `path`, `query` and a JSON `body`, with the route
    /// parameters a path pattern would have captured.
    /// - Returns: the decoded JSON answer (`[String: Any]`, `[Any]`), or nil for 204.
    /// - Throws: the handler's ``Problem``.
    func call(
        _ handler: Handler, _ method: HTTPRequest.Method, _ path: String, query: [String: String] = [:],
        body: [String: Any]? = nil, parameters: [String: String] = [:]
    ) async throws -> Any? {
        var components = URLComponents()
        components.path = path
        if !query.isEmpty {
            components.queryItems = query.sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
        }
        var head = HTTPRequest(method: method, scheme: nil, authority: nil, path: components.string ?? path)
        for value in forwardedFor { head.headerFields.append(HTTPField(name: Self.forwardedFor, value: value)) }
        var buffer = ByteBuffer()
        if let body {
            head.headerFields[.contentType] = "application/json"
            buffer = ByteBuffer(bytes: try JSONSerialization.data(withJSONObject: body))
        }
        var context = self.context
        for (name, value) in parameters { context.coreContext.parameters[Substring(name)] = Substring(value) }
        let response = try await handler(Request(head: head, body: RequestBody(buffer: buffer)), context)
        let collector = Collector()
        try await response.body.write(collector)
        guard response.status != .noContent, collector.buffer.readableBytes > 0 else { return nil }
        return try JSONSerialization.jsonObject(with: Data(buffer: collector.buffer))
    }

    /// Gathers a response body in memory (the API's answers are small JSON documents).
    private final class Collector: ResponseBodyWriter {
        var buffer = ByteBuffer()
        func write(_ part: ByteBuffer) async throws {
            var part = part
            buffer.writeBuffer(&part)
        }
        func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }
}

extension Dictionary where Key == String, Value == Any {
    /// A list member of a JSON object, as rows for a template.
    func rows(_ key: String) -> [[String: Any]] { self[key] as? [[String: Any]] ?? [] }
}
