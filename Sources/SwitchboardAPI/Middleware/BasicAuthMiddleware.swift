import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// HTTP Basic with `account_id:api_key`. Failures count against the caller's address; an address that
/// fails too often gets 429 with Retry-After until its window passes.
struct BasicAuthMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let accounts: AccountStore
    let throttle: AuthThrottle

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let address = context.remoteAddress ?? "unknown"
        if let wait = throttle.retryAfter(address: address) {
            throw Problem.tooManyFailures(retryAfter: wait)
        }
        guard let header = request.headers[.authorization],
            let principal = try await accounts.authenticate(authorization: header)
        else {
            throttle.recordFailure(address: address)
            throw Problem.unauthorized
        }
        var context = context
        context.principal = principal
        context.notes.account = principal.accountID
        accounts.recordLogin(accountID: principal.accountID, keyID: principal.keyID, ip: context.remoteAddress)
        return try await next(request, context)
    }
}

extension Problem {
    static func tooManyFailures(retryAfter: Int) -> Problem {
        Problem(
            .tooManyRequests, "Too many failed sign-ins",
            detail:
                "This address failed to authenticate too often; wait \(retryAfter) seconds and check the credentials.",
            retryAfterSeconds: retryAfter)
    }
}
