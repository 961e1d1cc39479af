import Foundation
import Hummingbird
import SwitchboardCore

/// A sign-in session as listed to its account; the token itself is never shown again.
struct SessionView: Encodable {
    var id: String
    var createdAt: String?
    var expiresAt: String?
    var lastUsedAt: String?
    /// True for the session that authenticated this request.
    var current: Bool

    init(_ session: SessionInfo, current: Bool) {
        id = session.id
        createdAt = Timestamp.string(session.createdAt)
        expiresAt = Timestamp.string(session.expiresAt)
        lastUsedAt = Timestamp.string(session.lastUsedAt)
        self.current = current
    }
}

extension AccountRoutes {
    /// `GET /v1/account/sessions`: the account's live sign-in sessions, newest first.
    @Sendable func listSessions(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let sessions = try await accounts.sessions(accountID: try context.accountID())
        let currentID = context.principal?.credential == .session ? context.principal?.keyID : nil
        return try JSONResponse.make(
            Page(data: sessions.map { SessionView($0, current: $0.id == currentID) }, nextCursor: nil))
    }

    /// `DELETE /v1/account/sessions/{id}`: ends a session at once (signs it out).
    @Sendable func endSession(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        guard try await accounts.endSession(accountID: try context.accountID(), sessionID: id) else {
            throw Problem.notFound("session \(id)")
        }
        return JSONResponse.noContent()
    }
}

extension Problem {
    /// 429 for an address whose sign-ups are spent for the window.
    static func tooManySignUps(retryAfter: Int) -> Problem {
        Problem(
            .tooManyRequests, "Too many sign-ups",
            detail:
                "This address has made too many sign-up attempts; wait \(retryAfter) seconds, or sign in with POST /v1/login if the account exists.",
            retryAfterSeconds: retryAfter)
    }
}
