import Crypto
import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// `Authorization: Bearer <operator token>` for `/v1/admin/...`.
struct OperatorAuthMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let token: String
    let throttle: AuthThrottle

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let address = context.remoteAddress ?? "unknown"
        if let wait = throttle.retryAfter(address: address) {
            throw Problem.tooManyFailures(retryAfter: wait)
        }
        let header = request.headers[.authorization] ?? ""
        let presented = header.hasPrefix("Bearer ") ? String(header.dropFirst(7)) : ""
        guard
            constantTimeEquals(Data(SHA256.hash(data: Data(presented.utf8))), Data(SHA256.hash(data: Data(token.utf8))))
        else {
            throttle.recordFailure(address: address)
            throw Problem(
                .unauthorized, "Operator token required",
                detail:
                    "Send Authorization: Bearer <operator token> (config operator_token or SWITCHBOARD_OPERATOR_TOKEN)."
            )
        }
        return try await next(request, context)
    }
}
