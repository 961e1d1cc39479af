import Foundation
import Hummingbird
import SwitchboardCore

/// Rotating the webhook signing secret, with an overlap window in which status callbacks carry
/// signatures with both the new and the previous secret (`WebhookSecrets`).
struct WebhookSecretRoutes {
    let services: HostServices
    var secrets: WebhookSecrets { services.webhookSecrets }

    func add(to group: RouterGroup<AppContext>) {
        group.get("account/webhook-secret", use: show)
        group.post("account/webhook-secret/rotate", use: rotate)
        group.delete("account/webhook-secret/previous", use: endOverlap)
    }

    /// The overlap's state; never a secret (`GET /v1/account` shows the current one).
    struct StateView: Encodable {
        /// When callbacks stop carrying the previous secret's signature; absent without an overlap.
        var previousSecretExpiresAt: String?
    }

    /// The new secret, in this answer only.
    struct RotationView: Encodable {
        var webhookSigningSecret: String
        var previousSecretExpiresAt: String?
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let state = try await found { try await secrets.state(accountID: try context.accountID()) }
        return try JSONResponse.make(StateView(previousSecretExpiresAt: Timestamp.string(state.previousValidUntil)))
    }

    /// `POST /v1/account/webhook-secret/rotate`, with no body or `{"overlap_seconds": N}`.
    @Sendable func rotate(_ request: Request, context: AppContext) async throws -> Response {
        let overlap = try Self.overlapSeconds(try await request.collectBody(limit: services.settings.body))
        let rotation = try await found {
            try await secrets.rotate(accountID: try context.accountID(), overlapSeconds: overlap)
        }
        return try JSONResponse.make(
            RotationView(
                webhookSigningSecret: rotation.secret,
                previousSecretExpiresAt: Timestamp.string(rotation.previousValidUntil)))
    }

    /// Ends the overlap now; callbacks are signed with the current secret only. Idempotent.
    @Sendable func endOverlap(_ request: Request, context: AppContext) async throws -> Response {
        _ = try await found { try await secrets.endOverlap(accountID: try context.accountID()) }
        return JSONResponse.noContent()
    }

    private func found<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch is WebhookSecrets.AccountNotFound {
            throw Problem.notFound("account")
        }
    }

    /// `overlap_seconds` from an optional JSON body: nil (the configured default) when there is no
    /// body or no such field; otherwise a whole number from 0 to 7 days.
    static func overlapSeconds(_ body: ByteBuffer) throws -> Int? {
        guard body.readableBytes > 0 else { return nil }
        let hint =
            "must be a whole number of seconds from 0 (end the old secret now) to \(WebhookSecrets.maxOverlapSeconds) (7 days)"
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(Array(body.readableBytesView))
        } catch {
            // The one wording every body gets: the field, and why (a duplicate key, an inexact number).
            throw JSONInput.problem(error)
        }
        guard case .object(let object) = parsed else {
            throw Problem.invalid("body", "must be a JSON object such as {\"overlap_seconds\": 3600}, or empty")
        }
        let unknown = object.keys.sorted().filter { $0 != "overlap_seconds" }
        var errors = unknown.map { FieldError($0, "is not a known field; the only field is overlap_seconds") }
        var overlap: Int?
        switch object["overlap_seconds"] {
        case nil, .null?:
            break
        case .number(let number)?:
            if number.rounded() == number, let whole = Int(exactly: number),
                (0...WebhookSecrets.maxOverlapSeconds).contains(whole)
            {
                overlap = whole
            } else {
                errors.append(FieldError("overlap_seconds", hint))
            }
        case let other?:
            errors.append(FieldError("overlap_seconds", "\(hint), not \(other.typeName)"))
        }
        if !errors.isEmpty { throw Problem.invalid(errors) }
        return overlap
    }
}
