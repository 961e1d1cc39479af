import Crypto
import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// `Authorization: Bearer <operator token>` for `/v1/admin/...`. The comparison (SHA-256 of both,
/// compared in constant time) runs under the throttle's lock and a failure is counted in the same
/// step (`AuthThrottle.attempt`), so parallel guesses from one address cannot outrun the limit.
struct OperatorAuthMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let token: String
    let throttle: AuthThrottle
    let addresses: ClientAddressResolver

    init(token: String, throttle: AuthThrottle, addresses: ClientAddressResolver = ClientAddressResolver()) {
        self.token = token
        self.throttle = throttle
        self.addresses = addresses
    }

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let keys = [addresses.throttleKey(for: addresses.clientAddress(of: request, context: context))]
        if let wait = throttle.retryAfter(keys) { throw Problem.tooManyFailures(retryAfter: wait) }
        let header = request.headers[.authorization] ?? ""
        // No bearer token at all is not a guess: 401, not counted.
        guard header.hasPrefix("Bearer ") else { throw Self.tokenRequired }
        switch Self.check(header.dropFirst(7), token: token, throttle: throttle, keys: keys) {
        case nil: throw Problem.tooManyFailures(retryAfter: throttle.retryAfter(keys) ?? 1)
        case false?: throw Self.tokenRequired
        case true?: return try await next(request, context)
        }
    }

    /// Whether `presented` is the operator token, for this middleware and the console's operator
    /// sign-in: SHA-256 of both compared in constant time, a wrong one counted against `keys` in
    /// the same step. Nil when the throttle is spent (nothing was compared).
    static func check(
        _ presented: Substring, token: String, throttle: AuthThrottle, keys: [AuthThrottle.Key]
    ) -> Bool? {
        let presented = Data(SHA256.hash(data: Data(presented.utf8)))
        let expected = Data(SHA256.hash(data: Data(token.utf8)))
        return throttle.attempt(keys, check: { constantTimeEquals(presented, expected) })
    }

    private static let tokenRequired = Problem(
        .unauthorized, "Operator token required",
        detail: "Send Authorization: Bearer <operator token> (config operator_token or SWITCHBOARD_OPERATOR_TOKEN).")
}
