import Hummingbird

/// Refuses a body on `GET` and `DELETE` requests, whose routes read none: a field sent there
/// (`DELETE /v1/account/addons/{id}` with `{"erase": true}`) would be ignored, and the customer
/// would believe it acted. The fix names query parameters, where these requests take their options
/// (RFC 9110 section 9.3.5: content in a DELETE has no defined meaning).
struct BodylessRequestMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        guard request.method == .delete || request.method == .get, Self.hasBody(request.headers) else {
            return try await next(request, context)
        }
        throw Problem.invalid(
            "body",
            "a \(request.method.rawValue) request takes no body; give its options as query parameters "
                + "(e.g. DELETE /v1/account/addons/{id}?erase=true), or send no body")
    }

    /// Whether the head announces content: a `Content-Length` above 0 or a `Transfer-Encoding`.
    static func hasBody(_ headers: HTTPFields) -> Bool {
        if headers[.transferEncoding] != nil { return true }
        guard let length = headers[.contentLength] else { return false }
        return length != "0"
    }
}
