import GRDB
import Hummingbird
import SwitchboardCore

/// Turns storage refusals a person can act on into problems: a write for an account erased while
/// the request was in flight (the database refuses it, see `CoreSchema`) answers `410 Gone`
/// instead of a bare `500`.
struct StorageErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as DatabaseError where error.message == CoreSchema.erasedAccountMessage {
            throw Problem(
                .gone, "Account erased",
                detail: "This account was deleted while the request was in flight; nothing was stored.")
        }
    }
}
