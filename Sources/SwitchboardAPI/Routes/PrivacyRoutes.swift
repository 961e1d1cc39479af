import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Data-subject rights: what was shared about the account, consent receipts, and erasure requests.
struct PrivacyRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.get("account/shares", use: shares)
        group.get("account/consents/:id", use: consentReceipt)
        group.post("account/erasures", use: requestErasure)
        group.get("account/erasures", use: listErasures)
        group.get("account/erasures/:id", use: erasure)
    }

    func addAdmin(to group: RouterGroup<AppContext>) {
        group.get("erasures/:id", use: adminErasure)
    }

    struct SharesView: Encodable {
        var accountId: String
        var addons: [ShareSummary.AddonShares]
    }

    @Sendable func shares(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let accountID = try context.accountID()
        let addons = try await services.addons.writer.pool.read { db in
            try ShareSummary.forAccount(db, accountID: accountID)
        }
        return try JSONResponse.make(SharesView(accountId: accountID, addons: addons))
    }

    @Sendable func consentReceipt(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let id = try context.pathParameter("id")
        let accountID = try context.accountID()
        guard let record = try await services.addons.consents.record(id: id), record.accountID == accountID,
            let manifest = services.addons.registry.manifest(record.addonID)
        else { throw Problem.notFound("consent receipt \(id)") }
        return try JSONResponse.make(AddonRoutes(services: services).receipt(record, manifest: manifest))
    }

    @Sendable func requestErasure(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        var input = try await request.jsonInput(limit: services.settings.body, allowed: ["number", "addon"])
        if !input.given("addon"), !input.given("number") {
            input.fail(
                "number",
                "is required: give number (a phone number whose data to erase) or addon (an add-on to ask to erase what it received)"
            )
            try input.finish()
        }
        if input.given("addon") {
            let addon = input.string("addon", required: true, maxLength: 200)
            if input.given("number") {
                input.fail("number", "give number or addon, not both; send one request for each")
            }
            try input.finish()
            return try await eraseAtAddon(addon!, accountID: accountID, context: context)
        }
        let number = input.string("number", required: true, maxLength: 32)
        if let number, !PhoneNumber.isE164(number) { input.fail("number", PhoneNumber.e164Hint) }
        try input.finish()
        let outcome = try await services.erasures.eraseNumber(
            accountID: accountID, number: number!, origin: context.actor)
        guard case .requested(let requestID) = outcome,
            let status = try await services.addons.erasureStatus(id: requestID, accountID: accountID)
        else { throw Self.legalHold }
        return try JSONResponse.make(ErasureView(status), status: .accepted)
    }

    static let legalHold = Problem(
        .conflict, "Legal hold",
        detail: "an operator legal hold is set on this account; nothing is erased until it is lifted")

    /// `{"addon": id}`: asks one add-on to erase what it received about the account (subject
    /// `account`), whether or not it is still enabled, as `DELETE /v1/account/addons/{id}?erase=true`
    /// does at withdrawal (GDPR article 17: erasure may be asked after consent is withdrawn).
    private func eraseAtAddon(_ id: String, accountID: String, context: AppContext) async throws -> Response {
        guard let manifest = services.addons.registry.manifest(id) else {
            throw Problem.noSuchAddon(id, among: services.addons.registry.manifests)
        }
        guard
            case .requested(let requestID) = try await services.erasures.eraseAtAddon(
                accountID: accountID, addonID: manifest.id, origin: context.actor),
            let status = try await services.addons.erasureStatus(id: requestID, accountID: accountID)
        else { throw Self.legalHold }
        return try JSONResponse.make(ErasureView(status), status: .accepted)
    }

    /// `GET /v1/account/erasures`: the account's erasure requests (at most 50, newest first), each
    /// with every add-on's answer.
    @Sendable func listErasures(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let statuses = try await services.addons.erasureStatuses(accountID: try context.accountID())
        return try JSONResponse.make(Page(data: statuses.map(ErasureView.init), nextCursor: nil))
    }

    @Sendable func erasure(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let id = try context.pathParameter("id")
        guard let status = try await services.addons.erasureStatus(id: id, accountID: try context.accountID()) else {
            throw Problem.notFound("erasure request \(id)")
        }
        return try JSONResponse.make(ErasureView(status))
    }

    @Sendable func adminErasure(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let id = try context.pathParameter("id")
        guard let status = try await services.addons.erasureStatus(id: id, accountID: nil) else {
            throw Problem.notFound("erasure request \(id)")
        }
        return try JSONResponse.make(ErasureView(status))
    }
}

struct ErasureView: Encodable {
    struct TaskView: Encodable {
        var addonId: String
        var state: String
        var attempts: Int
        var detail: String?
        var updatedAt: String?
    }

    var id: String
    var accountId: String
    var subject: String
    var subjectValue: String?
    var origin: String
    var createdAt: String?
    /// pending until every add-on acknowledged; failed if any add-on could not erase.
    var state: String
    var addons: [TaskView]

    init(_ status: ErasureStatus) {
        id = status.id
        accountId = status.accountID
        subject = status.subjectKind.rawValue
        subjectValue = status.subjectValue
        origin = status.origin
        createdAt = Timestamp.string(status.createdAt)
        addons = status.tasks.map {
            TaskView(
                addonId: $0.addonID, state: $0.state.rawValue, attempts: $0.attempts, detail: $0.detail,
                updatedAt: Timestamp.string($0.updatedAt))
        }
        let states = Set(status.tasks.map(\.state))
        let overall: ErasureStatus.TaskState =
            states.contains(.failed) ? .failed : states.contains(.pending) ? .pending : .done
        state = overall.rawValue
    }
}
