import Foundation
import Hummingbird
import SwitchboardCore

/// `/v1/account/smpp-credentials`: the system_id and password a customer's ESME binds to the SMPP
/// server with. The password is shown once, when made.
struct SMPPCredentialRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.get("account/smpp-credentials", use: list)
        group.post("account/smpp-credentials", use: create)
        group.delete("account/smpp-credentials/:system_id", use: revoke)
    }

    struct CredentialView: Encodable {
        var systemId: String
        var password: String?
        var createdAt: String?
        var revokedAt: String?

        init(_ credential: SMPPCredentials.Credential, password: String? = nil) {
            systemId = credential.systemID
            self.password = password
            createdAt = Timestamp.string(credential.createdAt)
            revokedAt = Timestamp.string(credential.revokedAt)
        }
    }

    private var credentials: SMPPCredentials {
        get throws {
            guard let credentials = services.smppCredentials else {
                throw Problem(
                    .notFound, "SMPP not offered",
                    detail: "This server has no SMPP server configured; use the HTTP API, or ask the operator.")
            }
            return credentials
        }
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        let listed = try await credentials.list(accountID: try context.accountID())
        return try JSONResponse.make(Page(data: listed.map { CredentialView($0) }, nextCursor: nil))
    }

    @Sendable func create(_ request: Request, context: AppContext) async throws -> Response {
        // The server makes the system_id and password (SMPP's 15 and 8 characters): a body may be
        // empty or `{}`, and a field in it is refused rather than silently ignored.
        let credentials = try self.credentials
        let body = try await request.collectBody(limit: services.settings.body)
        if body.readableBytes > 0 {
            let input = try JSONInput(bytes: body, allowed: [])
            try input.finish()
        }
        do {
            let made = try await credentials.create(accountID: try context.accountID())
            return try JSONResponse.make(CredentialView(made.credential, password: made.password), status: .created)
        } catch SMPPCredentials.Failure.tooMany(let limit) {
            throw Problem(
                .conflict, "Too many SMPP credentials",
                detail: "An account holds at most \(limit) active SMPP credentials; revoke one first.")
        } catch let busy as PasswordHashingPool.Busy {
            throw Problem.hashingBusy(busy)
        }
    }

    @Sendable func revoke(_ request: Request, context: AppContext) async throws -> Response {
        let systemID = try context.pathParameter("system_id")
        guard try await credentials.revoke(accountID: try context.accountID(), systemID: systemID) else {
            throw Problem.notFound("SMPP credential \(systemID)")
        }
        return JSONResponse.noContent()
    }
}
