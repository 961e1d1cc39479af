import Foundation
import Hummingbird

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
        guard let (accountID, secret) = Self.credentials(request.headers[.authorization]),
            let principal = try await accounts.authenticate(accountID: accountID, secret: secret)
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

    static func credentials(_ header: String?) -> (String, String)? {
        guard let header, header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":")
        else { return nil }
        let user = String(decoded[..<colon])
        let password = String(decoded[decoded.index(after: colon)...])
        guard !user.isEmpty, !password.isEmpty else { return nil }
        return (user, password)
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
