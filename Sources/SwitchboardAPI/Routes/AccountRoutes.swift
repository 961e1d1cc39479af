import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Sign-up, sign-in, the account itself, its API keys and its numbers.
struct AccountRoutes {
    let services: HostServices
    var accounts: AccountStore { services.accounts }
    var limit: Int { services.settings.maxBodyBytes }

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
        group.get("account/opt-outs", use: listOptOuts)
    }

    struct SignedUp: Encodable {
        var accountId: String
        var apiKey: String
        var apiKeyId: String
        var account: AccountView
    }

    @Sendable func signUp(_ request: Request, context: AppContext) async throws -> Response {
        var input = try await request.jsonInput(limit: limit, allowed: ["name", "email", "company", "password"])
        let name = input.string("name", required: true, maxLength: 200)
        let email = input.string("email", required: true, maxLength: 254)
        let company = input.string("company", maxLength: 200)
        let password = input.string("password", required: true, maxLength: 1000)
        for problem in accounts.signUpProblems(email: email, password: password) {
            input.fail(problem.field, problem.message)
        }
        try input.finish()
        do {
            let created = try await accounts.signUp(
                .init(name: name!, email: email!, company: company, password: password!))
            context.notes.account = created.account.id
            return try JSONResponse.make(
                SignedUp(
                    accountId: created.account.id, apiKey: created.apiKey, apiKeyId: created.apiKeyID,
                    account: AccountView(created.account)), status: .created)
        } catch AccountStore.SignUpRefusal.invalid(let errors) {
            throw Problem.invalid(errors)
        } catch AccountStore.SignUpRefusal.emailTaken {
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
        var apiKey: String
        var apiKeyId: String
    }

    /// Email + password sign-in; issues a fresh API key so a customer who lost theirs can get back in.
    @Sendable func logIn(_ request: Request, context: AppContext) async throws -> Response {
        let address = context.remoteAddress ?? "unknown"
        if let wait = services.authThrottle.retryAfter(address: address) {
            throw Problem.tooManyFailures(retryAfter: wait)
        }
        var input = try await request.jsonInput(limit: limit, allowed: ["email", "password"])
        let email = input.string("email", required: true, maxLength: 254)
        let password = input.string("password", required: true, maxLength: 1000)
        try input.finish()
        guard let account = try await accounts.find(email: email!), account.isActive,
            try await accounts.passwordMatches(accountID: account.id, password: password!)
        else {
            services.authThrottle.recordFailure(address: address)
            throw Problem(.unauthorized, "Sign-in failed", detail: "The email or password is wrong.")
        }
        context.notes.account = account.id
        let key = try await accounts.createKey(accountID: account.id, name: "login \(Timestamp.string(Date()))")
        accounts.recordLogin(accountID: account.id, keyID: nil, ip: context.remoteAddress)
        return try JSONResponse.make(LoggedIn(accountId: account.id, apiKey: key.secret, apiKeyId: key.info.id))
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        guard let account = try await accounts.find(id: try context.accountID()) else {
            throw Problem.notFound("account")
        }
        return try JSONResponse.make(AccountView(account))
    }

    @Sendable func update(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        var input = try await request.jsonInput(
            limit: limit, allowed: ["name", "email", "company", "content_mode", "password", "current_password"])
        var changes = AccountStore.Changes()
        changes.name = input.string("name", maxLength: 200)
        if input.has("name"), changes.name?.isEmpty ?? true { input.fail("name", "must be a non-empty string") }
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
        let password = input.string("password", maxLength: 1000)
        let current = input.string("current_password", maxLength: 1000)
        try input.finish()
        guard let account = try await accounts.find(id: accountID) else { throw Problem.notFound("account") }
        if let password {
            guard let current, try await accounts.passwordMatches(accountID: accountID, password: current) else {
                throw Problem.invalid("current_password", "must be given and match your present password to change it")
            }
            if let problem = accounts.policy.problem(with: password, email: changes.email ?? account.email) {
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
                accountID: accountID, origin: "api:\(context.principal?.keyID ?? "?")")
        else { throw Problem.notFound("account") }
        guard let requestID = outcome.requestID,
            let erasure = try await services.addons.erasureStatus(id: requestID, accountID: accountID)
        else { return try JSONResponse.make(ErasedAccount(report: outcome.report, erasure: nil)) }
        return try JSONResponse.make(ErasedAccount(report: outcome.report, erasure: ErasureView(erasure)))
    }

    @Sendable func listKeys(_ request: Request, context: AppContext) async throws -> Response {
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
        let id = try context.parameters.require("id")
        guard try await accounts.revokeKey(accountID: try context.accountID(), keyID: id) else {
            throw Problem.notFound("API key \(id)")
        }
        return JSONResponse.noContent()
    }

    struct NumberView: Encodable {
        var number: String
        var createdAt: String?
    }

    @Sendable func listNumbers(_ request: Request, context: AppContext) async throws -> Response {
        let numbers = try await accounts.numbers(accountID: try context.accountID())
        return try JSONResponse.make(
            Page(
                data: numbers.map { NumberView(number: $0.number, createdAt: Timestamp.string($0.createdAt)) },
                nextCursor: nil))
    }

    @Sendable func claimNumber(_ request: Request, context: AppContext) async throws -> Response {
        var input = try await request.jsonInput(limit: limit, allowed: ["number"])
        let number = input.string("number", required: true)
        if let number, !PhoneNumber.isE164(number) { input.fail("number", PhoneNumber.e164Hint) }
        try input.finish()
        switch try await accounts.claimNumber(accountID: try context.accountID(), number: number!) {
        case .claimed(let claimed):
            return try JSONResponse.make(
                NumberView(number: claimed.number, createdAt: Timestamp.string(claimed.createdAt)), status: .created)
        case .takenByAnotherAccount:
            throw Problem(
                .conflict, "Number in use",
                detail: "number: \(number!) belongs to another account; choose another number",
                errors: [FieldError("number", "belongs to another account")])
        }
    }

    @Sendable func releaseNumber(_ request: Request, context: AppContext) async throws -> Response {
        let raw = try context.parameters.require("number")
        let number = raw.removingPercentEncoding ?? raw
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
        let optOuts = try await services.messages.optOuts(accountID: try context.accountID())
        return try JSONResponse.make(
            Page(
                data: optOuts.map {
                    OptOutView(number: $0.number, keyword: $0.keyword, createdAt: Timestamp.string($0.createdAt))
                }, nextCursor: nil))
    }
}
