import GRDB
import Hummingbird
import SwitchboardCore

/// Turns storage refusals a person can act on into problems instead of a bare `500` with an empty
/// body:
/// - a write for an account erased while the request was in flight (the database refuses it, see
///   `CoreSchema`) answers `410 Gone`;
/// - a database that cannot be written for now (a full disk, an I/O error, a file made read-only, a
///   lock held past the busy timeout) answers `503 Service Unavailable` with `Retry-After` and the
///   cause. Nothing of the request was stored (its savepoint rolled back, or its batch did not
///   commit), so the client can retry it as it was.
struct StorageErrorMiddleware: RouterMiddleware {
    typealias Context = AppContext

    /// Seconds a client is asked to wait after a storage fault: long enough for an operator's alert
    /// to fire and space to be freed, short enough that clients come back soon after.
    static let retryAfterSeconds = 30

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as DatabaseError where error.message == CoreSchema.erasedAccountMessage {
            throw Problem(
                .gone, "Account erased",
                detail: "This account was deleted while the request was in flight; nothing was stored.")
        } catch let error as DatabaseError {
            guard let cause = StorageFault(error) else { throw error }
            context.logger.error(
                "storage refused a write; answering 503",
                metadata: ["storage.fault": "\(cause.rawValue)", "error": "\(error)"])
            throw Problem(
                .serviceUnavailable, "Storage unavailable",
                detail: "The server could not write to its database (\(cause.description)); nothing from this "
                    + "request was stored. Retry after \(Self.retryAfterSeconds) seconds.",
                retryAfterSeconds: Self.retryAfterSeconds, extra: ["cause": cause.rawValue])
        } catch let error as any HTTPResponseError {
            throw error
        } catch {
            // Anything else is the server's fault: logged with its detail, answered as a problem
            // that says what the client can do, never as an empty 500.
            context.logger.error("request failed", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            throw Problem(
                .internalServerError, "Internal error",
                detail: "The server could not complete this request and logged why; it may not have been done. "
                    + "Retry it; if it fails again, tell the operator the time and the path.")
        }
    }
}
