import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Operator endpoints under `/v1/admin`, behind the operator token.
struct AdminRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.get("accounts", use: listAccounts)
        group.get("accounts/:id", use: showAccount)
        group.put("accounts/:id/legal-hold", use: setLegalHold)
        group.delete("accounts/:id/legal-hold", use: liftLegalHold)
        group.post("simulator/inbound", use: injectInbound)
        group.post("retention/run", use: runRetention)
        group.get("metrics", use: accountMetrics)
        group.get("connectors", use: connectors)
    }

    /// `GET /v1/admin/connectors`: each carrier connector's bind state, window use, throughput and
    /// errors (`{"data": [...]}`, empty while the simulator is the carrier).
    @Sendable func connectors(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        return try JSONResponse.make(Page(data: await services.carrier.status(), nextCursor: nil))
    }

    struct AdminAccountView: Encodable {
        var account: AccountView
        var legalHoldReason: String?
        /// Only when lifting a hold carried out the deletion the customer asked for under it.
        var addonErasure: ErasureView? = nil
    }

    @Sendable func listAccounts(_ request: Request, context: AppContext) async throws -> Response {
        var parameters = request.queryInput()
        let limit = parameters.limit()
        let after = parameters.value(
            "cursor", hint: "must be a next_cursor value from an earlier page", Cursor.identifier("acc_"))
        try parameters.finish()
        let accounts = try await services.accounts.list(limit: limit, after: after)
        let next = accounts.count == limit ? accounts.last.map { Cursor.encode($0.id) } : nil
        return try JSONResponse.make(
            Page(
                data: accounts.map {
                    AdminAccountView(account: AccountView($0, showSecret: false), legalHoldReason: $0.legalHoldReason)
                }, nextCursor: next))
    }

    @Sendable func showAccount(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let id = try context.pathParameter("id")
        guard let account = try await services.accounts.find(id: id) else { throw Problem.noSuchAccount(id) }
        return try JSONResponse.make(
            AdminAccountView(account: AccountView(account, showSecret: false), legalHoldReason: account.legalHoldReason)
        )
    }

    @Sendable func setLegalHold(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        var input = try await request.jsonInput(limit: services.settings.body, allowed: ["reason"])
        let reason = input.string("reason", required: true, maxLength: 500)
        try input.finish()
        guard let account = try await services.accounts.setLegalHold(accountID: id, reason: reason!) else {
            throw Problem.noSuchAccount(id)
        }
        guard account.isActive else {
            throw Problem(
                .conflict, "Account erased",
                detail:
                    "account \(id) is already erased: no personal data is left to hold; its records kept by law stay as they are"
            )
        }
        return try JSONResponse.make(
            AdminAccountView(account: AccountView(account, showSecret: false), legalHoldReason: account.legalHoldReason)
        )
    }

    @Sendable func liftLegalHold(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        guard let lifted = try await services.erasures.liftLegalHold(accountID: id) else {
            throw Problem.noSuchAccount(id)
        }
        var erasure: ErasureView?
        if let requestID = lifted.erasure?.requestID,
            let status = try await services.addons.erasureStatus(id: requestID, accountID: id)
        {
            erasure = ErasureView(status)
        }
        return try JSONResponse.make(
            AdminAccountView(
                account: AccountView(lifted.account, showSecret: false), legalHoldReason: nil, addonErasure: erasure))
    }

    struct InboundView: Encodable {
        var message: MessageView
        var accountId: String
        var optOut: String?
    }

    @Sendable func injectInbound(_ request: Request, context: AppContext) async throws -> Response {
        var input = try await request.jsonInput(limit: services.settings.body, allowed: ["from", "to", "body"])
        let from = input.string("from", required: true, maxLength: 32)
        let to = input.string("to", required: true, maxLength: 32)
        let body = input.string("body", required: true, maxLength: SendService.maxBodyCharacters)
        if let from, !PhoneNumber.isE164(from) { input.fail("from", PhoneNumber.e164Hint) }
        if let to, !PhoneNumber.isE164(to) { input.fail("to", PhoneNumber.e164Hint) }
        try input.finish()
        do {
            let outcome = try await services.simulator.inject(InboundSMS(from: from!, to: to!, body: body!))
            return try JSONResponse.make(
                InboundView(
                    message: MessageView(outcome.message), accountId: outcome.message.accountID,
                    optOut: outcome.optOut?.rawValue),
                status: .created)
        } catch is UnroutableInbound {
            throw Problem(
                .notFound, "No account owns this number",
                detail:
                    "to: \(to!) is not a number of any active account; an account adds it with POST /v1/account/numbers",
                errors: [FieldError("to", "is not a number of any active account")])
        }
    }

    struct RetentionRun: Encodable {
        var purgedRows: Int
        var retentionDays: Int
    }

    /// `GET /v1/admin/metrics`: the series that name an account (metrics add-ons emit, labelled
    /// `addon` and `account`), in the Prometheus text format like `/metrics`. Behind the operator
    /// token because account ids are customer data; an erased account's series are gone.
    @Sendable func accountMetrics(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        return SystemRoutes.prometheusText(services.metrics.renderAccountSeries())
    }

    @Sendable func runRetention(_ request: Request, context: AppContext) async throws -> Response {
        let purged = try await services.usage.purge(retentionDays: services.settings.retentionDays)
        return try JSONResponse.make(RetentionRun(purgedRows: purged, retentionDays: services.settings.retentionDays))
    }
}
