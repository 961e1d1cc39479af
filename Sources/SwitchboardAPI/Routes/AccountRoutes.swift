import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Sign-up, sign-in, the account itself, its API keys and its numbers.
struct AccountRoutes {
    let services: HostServices
    var accounts: AccountStore { services.accounts }
    var limit: BodyLimits { services.settings.body }

    func addPublic(to router: Router<AppContext>) {
        router.post("v1/accounts", use: signUp)
        router.post("v1/login", use: logIn)
    }

    func addAuthenticated(to group: RouterGroup<AppContext>) {
        group.get("account", use: show)
        group.patch("account", use: update)
        group.delete("account", use: erase)
        group.get("account/keys", use: listKeys)
        group.post("account/keys", use: createKey)
        group.delete("account/keys/:id", use: revokeKey)
        group.get("account/numbers", use: listNumbers)
        group.post("account/numbers", use: claimNumber)
        group.delete("account/numbers/:number", use: releaseNumber)
        group.patch("account/numbers/:number", use: updateNumber)
        group.get("account/opt-outs", use: listOptOuts)
        group.get("account/sessions", use: listSessions)
        group.delete("account/sessions/:id", use: endSession)
    }

    struct SignedUp: Encodable {
        var accountId: String
        var apiKey: String
        var apiKeyId: String
        var account: AccountView
    }

    /// Creates an account. Every sign-up that gets as far as hashing its password (a 201 or a 409
    /// for a taken email) is counted per client address before the hash
    /// (`rate_limits.signups_per_address`), so neither accounts nor the answer "this email is
    /// registered" can be had at API speed.
    @Sendable func signUp(_ request: Request, context: AppContext) async throws -> Response {
        let addresses = services.clientAddresses
        let keys = [addresses.signUpKey(for: addresses.clientAddress(of: request, context: context))]
        if let wait = services.signUpThrottle.retryAfter(keys) { throw Problem.tooManySignUps(retryAfter: wait) }
        var input = try await request.jsonInput(limit: limit, allowed: ["name", "email", "company", "password"])
        let name = input.string("name", required: true, maxLength: 200)
        let email = input.string("email", required: true, maxLength: 254)
        let company = input.string("company", maxLength: 200)
        let password = input.string("password", required: true, maxLength: 1000)
        for problem in accounts.signUpProblems(email: email, password: password, name: name) {
            input.fail(problem.field, problem.message)
        }
        try input.finish()
        let created = try await createAccount(
            .init(name: name!, email: email!, company: company, password: password!), throttleKeys: keys)
        context.notes.account = created.account.id
        return try JSONResponse.make(
            SignedUp(
                accountId: created.account.id, apiKey: created.apiKey, apiKeyId: created.apiKeyID,
                account: AccountView(created.account)), status: .created)
    }

    /// The sign-up use case shared by `POST /v1/accounts` and the console, once the fields passed
    /// `AccountStore.signUpProblems`: counted against `throttleKeys` before the password is hashed
    /// (a refusal for bad input or a busy hasher gives the count back; a taken email keeps it).
    /// - Throws: ``Problem`` (409 for a taken email, 422, 429, 503).
    func createAccount(_ new: AccountStore.NewAccount, throttleKeys keys: [AuthThrottle.Key]) async throws
        -> AccountStore.Created
    {
        let reservation: AuthThrottle.Reservation
        switch services.signUpThrottle.reserve(keys) {
        case .admitted(let admitted): reservation = admitted
        case .refused(let wait): throw Problem.tooManySignUps(retryAfter: wait)
        }
        do {
            return try await accounts.signUp(new)
        } catch AccountStore.SignUpRefusal.invalid(let errors) {
            services.signUpThrottle.giveBack(reservation)
            throw Problem.invalid(errors)
        } catch let busy as PasswordHashingPool.Busy {
            services.signUpThrottle.giveBack(reservation)
            throw Problem.hashingBusy(busy)
        } catch AccountStore.SignUpRefusal.emailTaken {
            // Counted (the reservation is kept): a 409 tells that the email has an account.
            throw Problem(
                .conflict, "Email already registered",
                detail: "email: an account with this address exists; sign in with POST /v1/login instead",
                errors: [FieldError("email", "is already registered; sign in with POST /v1/login")])
        }
    }

    /// The deletion report, and the request that carries it to every add-on that received the data.
    struct ErasedAccount: Encodable {
        var report: ErasureReport
        var erasure: ErasureView?

        func encode(to encoder: any Encoder) throws {
            try report.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(erasure, forKey: .addonErasure)
        }

        enum Keys: String, CodingKey { case addonErasure }
    }

    struct LoggedIn: Encodable {
        var accountId: String
        var sessionId: String
        var sessionToken: String
        var expiresAt: String?
    }

    /// Email + password sign-in; starts a session (a `sess_…` bearer token, expiring) and never
    /// creates an API key. The attempt is counted against the client address and the email before
    /// the password is hashed, and an unknown email costs the same hash as a wrong password
    /// (`AccountStore.signIn`).
    @Sendable func logIn(_ request: Request, context: AppContext) async throws -> Response {
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        let addressKey = services.clientAddresses.throttleKey(for: client)
        if let wait = services.authThrottle.retryAfter([addressKey]) {
            throw Problem.tooManyFailures(retryAfter: wait)
        }
        var input = try await request.jsonInput(limit: limit, allowed: ["email", "password", "code"])
        let email = input.string("email", required: true, maxLength: 254)
        let password = input.string("password", required: true, maxLength: 1000)
        let code = input.string("code", maxLength: 64)
        try input.finish()
        let account = try await verifyPassword(email: email!, password: password!, client: client)
        try await verifySecondFactor(accountID: account.id, code: code, client: client)
        context.notes.account = account.id
        let session = try await accounts.startSession(accountID: account.id)
        accounts.recordLogin(accountID: account.id, principal: nil, ip: client)
        return try JSONResponse.make(
            LoggedIn(
                accountId: account.id, sessionId: session.info.id, sessionToken: session.token,
                expiresAt: Timestamp.string(session.info.expiresAt)))
    }

    /// The password check shared by `POST /v1/login` and the console's sign-in: counted against the
    /// client address and the email before the password is hashed, given back when it matches.
    /// - Throws: ``Problem`` 401 for a wrong email or password, 429 when the address or the email
    ///   spent its failures, 503 when hashing is at capacity.
    func verifyPassword(email: String, password: String, client: String) async throws -> Account {
        let addressKey = services.clientAddresses.throttleKey(for: client)
        let reservation: AuthThrottle.Reservation
        switch services.authThrottle.reserve([addressKey, .account(email)]) {
        case .admitted(let admitted): reservation = admitted
        case .refused(let wait): throw Problem.tooManyFailures(retryAfter: wait)
        }
        let account: Account?
        do {
            account = try await accounts.signIn(email: email, password: password)
        } catch let busy as PasswordHashingPool.Busy {
            services.authThrottle.giveBack(reservation)
            throw Problem.hashingBusy(busy)
        } catch {
            services.authThrottle.giveBack(reservation)
            throw error
        }
        guard let account else {
            throw Problem(.unauthorized, "Sign-in failed", detail: "The email or password is wrong.")
        }
        services.authThrottle.giveBack(reservation)
        return account
    }

    /// An account that enrolled a second factor (in the console) must show it here too, or a
    /// password alone would open the API's sign-in: `code` is a code of its authenticator app
    /// (RFC 6238, each accepted once) or one of its recovery codes. Wrong codes count against the
    /// authentication throttle per address and per account, as the console's do.
    /// - Throws: ``Problem`` 401 when the code is missing or wrong, 429 when the throttle is spent.
    func verifySecondFactor(accountID: String, code: String?, client: String) async throws {
        guard let factors = services.secondFactors, try await factors.status(accountID: accountID).enrolled else {
            return
        }
        guard let code, !code.isEmpty else {
            throw Problem(
                .unauthorized, "Second factor required",
                detail:
                    "This account has a second factor: send code, the 6-digit code your authenticator app shows or one of your recovery codes, with the email and password.",
                errors: [
                    FieldError(
                        "code", "is required for this account: a code from your authenticator app or a recovery code")
                ])
        }
        let passed = try await attemptSecondFactor(accountID: accountID, client: client) {
            if try await factors.verifyTOTP(accountID: accountID, code: code) { return true }
            return try await factors.useRecoveryCode(accountID: accountID, code: code)
        }
        guard passed else {
            throw Problem(
                .unauthorized, "Sign-in failed", detail: "The code is wrong, expired or was already used.",
                errors: [
                    FieldError("code", "is not a current code of your authenticator app nor an unused recovery code")
                ])
        }
    }

    /// One second-factor attempt, shared by `POST /v1/login` and the console's second-factor step:
    /// counted by the authentication throttle per client address and per account, as passwords are
    /// (NIST SP 800-63B 5.2.2, rate limiting); a wrong code keeps its count, a right one gives it back.
    /// - Parameter verify: checks the code (TOTP, a recovery code, an SMS challenge); run only when
    ///   the throttle admits the attempt.
    /// - Returns: whether `verify` accepted the code.
    /// - Throws: ``Problem`` 429 with `Retry-After` seconds when the throttle is spent, or what
    ///   `verify` throws.
    func attemptSecondFactor(
        accountID: String, client: String, _ verify: () async throws -> Bool
    ) async throws -> Bool {
        let keys = [
            services.clientAddresses.throttleKey(for: client), AuthThrottle.Key.account("second-factor:\(accountID)"),
        ]
        let reservation: AuthThrottle.Reservation
        switch services.authThrottle.reserve(keys) {
        case .admitted(let admitted): reservation = admitted
        case .refused(let wait): throw Problem.tooManyFailures(retryAfter: wait)
        }
        guard try await verify() else { return false }
        services.authThrottle.giveBack(reservation)
        return true
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        guard let account = try await accounts.find(id: try context.accountID()) else {
            throw Problem.notFound("account")
        }
        return try JSONResponse.make(AccountView(account))
    }

    @Sendable func update(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        var input = try await request.jsonInput(
            limit: limit,
            allowed: ["name", "email", "company", "content_mode", "password", "current_password", "inbound_webhook"])
        var changes = AccountStore.Changes()
        let problemsBefore = input.errors.count
        changes.name = input.string("name", maxLength: 200)
        // Null or empty; a name already refused (too long, not a string) gets no second message.
        if input.has("name"), changes.name?.isEmpty ?? true, input.errors.count == problemsBefore {
            input.fail("name", "must be a non-empty string")
        } else if let name = changes.name, name.isBlank {
            // The sign-up rule: a name that shows nothing names no one.
            input.fail("name", TextRule.blankMessage)
            changes.name = nil
        }
        changes.email = input.string("email", maxLength: 254)
        if let email = changes.email, !EmailAddress.isValid(email) {
            input.fail("email", "must be an email address, e.g. ada@example.com")
        }
        if input.has("company") { changes.company = .some(input.string("company", maxLength: 200)) }
        if let mode = input.string("content_mode") {
            if let parsed = ContentMode(rawValue: mode) {
                changes.contentMode = parsed
            } else {
                input.fail("content_mode", "must be one of store, hash, hide")
            }
        }
        if input.has("inbound_webhook") {
            let webhook = input.string("inbound_webhook", maxLength: 2000)
            if let webhook, let problem = services.sending.inboundWebhookProblem(webhook) {
                input.fail(problem.field, problem.message)
            }
            changes.inboundWebhook = .some(webhook)
        }
        let password = input.string("password", maxLength: 1000)
        let current = input.string("current_password", maxLength: 1000)
        try input.finish()
        guard let account = try await accounts.find(id: accountID) else { throw Problem.notFound("account") }
        if let password {
            guard let current, !current.isEmpty, let email = account.email else {
                throw Problem.invalid("current_password", "must be given and match your present password to change it")
            }
            // A guess at the present password counts against the authentication throttle as a
            // sign-in does (per address and per account): a stolen session or key must not be able
            // to guess it without limit, then change it and sign the owner out everywhere.
            do {
                _ = try await verifyPassword(
                    email: email, password: current,
                    client: services.clientAddresses.clientAddress(of: request, context: context))
            } catch let problem as Problem where problem.status == .unauthorized {
                throw Problem.invalid("current_password", "must be given and match your present password to change it")
            }
            if let problem = accounts.policy.problem(
                with: password, email: changes.email ?? account.email, name: changes.name ?? account.name)
            {
                throw Problem.invalid("password", problem)
            }
            changes.newPassword = password
        }
        do {
            let updated = try await accounts.update(id: accountID, changes)
            if updated.contentMode != .store { try await services.messages.applyContentMode(accountID: accountID) }
            return try JSONResponse.make(AccountView(updated))
        } catch AccountStore.Failure.emailTaken {
            throw Problem.invalid("email", "is already used by another account")
        }
    }

    @Sendable func erase(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        guard
            let outcome = try await services.erasures.eraseAccount(
                accountID: accountID, origin: context.actor)
        else { throw Problem.notFound("account") }
        guard let requestID = outcome.requestID,
            let erasure = try await services.addons.erasureStatus(id: requestID, accountID: accountID)
        else { return try JSONResponse.make(ErasedAccount(report: outcome.report, erasure: nil)) }
        return try JSONResponse.make(ErasedAccount(report: outcome.report, erasure: ErasureView(erasure)))
    }

    @Sendable func listKeys(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let keys = try await accounts.keys(accountID: try context.accountID())
        return try JSONResponse.make(Page(data: keys.map { APIKeyView($0) }, nextCursor: nil))
    }

    @Sendable func createKey(_ request: Request, context: AppContext) async throws -> Response {
        var input = try await request.jsonInput(limit: limit, allowed: ["name"])
        let name = input.string("name", required: true, maxLength: 100)
        try input.finish()
        let key = try await accounts.createKey(accountID: try context.accountID(), name: name!)
        return try JSONResponse.make(APIKeyView(key.info, secret: key.secret), status: .created)
    }

    @Sendable func revokeKey(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        guard try await accounts.revokeKey(accountID: try context.accountID(), keyID: id) else {
            throw Problem.notFound("API key \(id)")
        }
        return JSONResponse.noContent()
    }

    struct NumberView: Encodable {
        var number: String
        var createdAt: String?
        var inboundWebhook: String?

        init(_ number: AccountNumber) {
            self.number = number.number
            createdAt = Timestamp.string(number.createdAt)
            inboundWebhook = number.inboundWebhook
        }
    }

    @Sendable func listNumbers(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let numbers = try await accounts.numbers(accountID: try context.accountID())
        return try JSONResponse.make(
            Page(
                data: numbers.map { NumberView($0) },
                nextCursor: nil))
    }

    @Sendable func claimNumber(_ request: Request, context: AppContext) async throws -> Response {
        var input = try await request.jsonInput(limit: limit, allowed: ["number", "inbound_webhook"])
        let number = input.string("number", required: true)
        if let number, !PhoneNumber.isE164(number) { input.fail("number", PhoneNumber.e164Hint) }
        let webhook = input.string("inbound_webhook", maxLength: 2000)
        if let webhook, let problem = services.sending.inboundWebhookProblem(webhook) {
            input.fail(problem.field, problem.message)
        }
        try input.finish()
        let accountID = try context.accountID()
        switch try await accounts.claimNumber(accountID: accountID, number: number!) {
        case .claimed(var claimed):
            if let webhook,
                let updated = try await accounts.setInboundWebhook(accountID: accountID, number: number!, url: webhook)
            {
                claimed = updated
            }
            return try JSONResponse.make(NumberView(claimed), status: .created)
        case .takenByAnotherAccount:
            throw Problem(
                .conflict, "Number in use",
                detail: "number: \(number!) belongs to another account; choose another number",
                errors: [FieldError("number", "belongs to another account")])
        }
    }

    /// `PATCH /v1/account/numbers/{number}`: sets (a URL) or clears (null) its inbound webhook.
    @Sendable func updateNumber(_ request: Request, context: AppContext) async throws -> Response {
        let number = try context.pathParameter("number")
        var input = try await request.jsonInput(limit: limit, allowed: ["inbound_webhook"])
        guard input.has("inbound_webhook") else {
            input.fail("inbound_webhook", "is required: a URL to post inbound messages to, or null for none")
            try input.finish()
            throw Problem.notFound("number \(number)")
        }
        let webhook = input.string("inbound_webhook", maxLength: 2000)
        if let webhook, let problem = services.sending.inboundWebhookProblem(webhook) {
            input.fail(problem.field, problem.message)
        }
        try input.finish()
        guard
            let updated = try await accounts.setInboundWebhook(
                accountID: try context.accountID(), number: number, url: webhook)
        else { throw Problem.notFound("number \(number)") }
        return try JSONResponse.make(NumberView(updated))
    }

    @Sendable func releaseNumber(_ request: Request, context: AppContext) async throws -> Response {
        let number = try context.pathParameter("number")
        guard try await accounts.releaseNumber(accountID: try context.accountID(), number: number) else {
            throw Problem.notFound("number \(number)")
        }
        return JSONResponse.noContent()
    }

    struct OptOutView: Encodable {
        var number: String
        var keyword: String
        var createdAt: String?
    }

    @Sendable func listOptOuts(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let optOuts = try await services.messages.optOuts(accountID: try context.accountID())
        return try JSONResponse.make(
            Page(
                data: optOuts.map {
                    OptOutView(number: $0.number, keyword: $0.keyword, createdAt: Timestamp.string($0.createdAt))
                }, nextCursor: nil))
    }
}
