import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Authenticates the account API: HTTP Basic with `account_id:api_key` (or `account_id:session_token`),
/// or `Authorization: Bearer session_token`.
///
/// Each check of a credential is counted against the client's address before it runs
/// (`AuthThrottle.reserve`) and given back when it succeeds, so parallel guesses cannot outrun the
/// limit; an address with `rate_limits.auth_failures` failed checks in its window gets 429 with
/// Retry-After until the window ends. A header verified in the last seconds is answered from memory,
/// and identical headers arriving together are checked once, so a busy client with a right key
/// never queues behind its own requests. Keys and session tokens are SHA-256-hashed random secrets:
/// nothing here waits for password hashing.
struct BasicAuthMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let accounts: AccountStore
    let throttle: AuthThrottle
    let addresses: ClientAddressResolver
    private let checks = SingleFlight<Outcome>()

    init(accounts: AccountStore, throttle: AuthThrottle, addresses: ClientAddressResolver = ClientAddressResolver()) {
        self.accounts = accounts
        self.throttle = throttle
        self.addresses = addresses
    }

    private enum Outcome: Sendable {
        case authenticated(Principal)
        case refused
        case throttled(retryAfter: Int)
    }

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let client = addresses.clientAddress(of: request, context: context)
        let keys = [addresses.throttleKey(for: client)]
        if let wait = throttle.retryAfter(keys) { throw Problem.tooManyFailures(retryAfter: wait) }
        // No credentials at all is not a guess: 401, not counted.
        guard let header = request.headers[.authorization], !header.isEmpty else { throw Problem.unauthorized }
        let principal: Principal
        if let known = accounts.knownPrincipal(authorization: header) {
            principal = known
        } else {
            switch try await checks.run(key: header, { try await check(header, keys: keys) }) {
            case .authenticated(let checked): principal = checked
            case .refused: throw Problem.unauthorized
            case .throttled(let wait): throw Problem.tooManyFailures(retryAfter: wait)
            }
        }
        var context = context
        context.principal = principal
        context.notes.account = principal.accountID
        accounts.recordLogin(accountID: principal.accountID, principal: principal, ip: client)
        do {
            return try await next(request, context)
        } catch let busy as PasswordHashingPool.Busy {
            // A password change (PATCH /v1/account) found hashing at capacity.
            throw Problem.hashingBusy(busy)
        }
    }

    private func check(_ header: String, keys: [AuthThrottle.Key]) async throws -> Outcome {
        let reservation: AuthThrottle.Reservation
        switch throttle.reserve(keys) {
        case .admitted(let admitted): reservation = admitted
        case .refused(let wait): return .throttled(retryAfter: wait)
        }
        let principal: Principal?
        do {
            principal = try await accounts.authenticate(authorization: header)
        } catch {
            throttle.giveBack(reservation)  // not checked: the store failed
            throw error
        }
        guard let principal else { return .refused }
        throttle.giveBack(reservation)
        return .authenticated(principal)
    }
}

extension Problem {
    /// 429 for an address or account whose authentication attempts are spent.
    static func tooManyFailures(retryAfter: Int) -> Problem {
        Problem(
            .tooManyRequests, "Too many failed sign-ins",
            detail:
                "Too many failed authentication attempts from this address or for this account; wait \(retryAfter) seconds and check the credentials.",
            retryAfterSeconds: retryAfter)
    }

    /// 503 when password hashing is at capacity: nothing was checked or stored.
    static func hashingBusy(_ busy: PasswordHashingPool.Busy) -> Problem {
        Problem(
            .serviceUnavailable, "Server busy",
            detail:
                "Too many password checks are waiting; retry after \(busy.retryAfterSeconds) seconds. Requests with an API key or session token are not affected.",
            retryAfterSeconds: busy.retryAfterSeconds)
    }
}
