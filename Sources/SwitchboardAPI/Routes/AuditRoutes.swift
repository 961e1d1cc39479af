import Foundation
import GRDB
import HTTPTypes
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Operator endpoints for add-ons: what is loaded, and the ledger of shares.
struct AuditRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.get("addons", use: addons)
        group.post("addons/:id/reload", use: reload)
        group.get("audit", use: audit)
    }

    struct LoadedView: Encodable {
        var id: String
        var name: String
        var version: String
        var vendor: String
        var manifest: String
        var librarySha256: String?
        var hooks: [String]
        var isolation: String
        var enabledAccounts: Int
        var runtime: AddonRuntimeStatus?
    }

    struct ProblemView: Encodable {
        var file: String
        var reason: String
    }

    struct AddonsView: Encodable {
        var loaded: [LoadedView]
        var failed: [ProblemView]
    }

    @Sendable func addons(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let platform = services.addons
        let counts = try await platform.writer.pool.read { db in
            try [String: Int](
                uniqueKeysWithValues: Row.fetchAll(
                    db,
                    sql: """
                        SELECT addon_id, COUNT(*) AS n FROM addon_consents c
                        WHERE rev = (SELECT MAX(rev) FROM addon_consents d WHERE d.account_id = c.account_id AND d.addon_id = c.addon_id)
                        AND action = 'grant' GROUP BY addon_id
                        """
                ).map { ($0["addon_id"], $0["n"]) })
        }
        let backlog = (try? await platform.backlog()) ?? [:]
        let loaded = platform.registry.manifests.map {
            var runtime = platform.registry.runtimeStatus($0.id)
            runtime?.outboxDepth = backlog[$0.id]
            return LoadedView(
                id: $0.id, name: $0.name, version: $0.version, vendor: $0.vendor, manifest: $0.file,
                librarySha256: platform.registry.loadedSHA256($0.id), hooks: $0.hooks.map(\.rawValue),
                isolation: (platform.registry.isolation($0.id) ?? .inProcess).rawValue,
                enabledAccounts: counts[$0.id] ?? 0,
                runtime: runtime)
        }
        return try JSONResponse.make(
            AddonsView(
                loaded: loaded, failed: platform.registry.problems.map { ProblemView(file: $0.file, reason: $0.reason) }
            ))
    }

    /// `POST /v1/admin/addons/{id}/reload`: puts the add-on's current manifest and library in
    /// service without dropping or repeating events; on failure the running version stays.
    @Sendable func reload(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        do {
            return try JSONResponse.make(try await services.addons.registry.reload(id))
        } catch let error as AddonReloadError {
            throw Problem(
                error.unknown ? .notFound : .unprocessableContent,
                error.unknown ? "Unknown add-on" : "Add-on not reloaded",
                detail: error.unknown
                    ? "\(error.reason)." : "\(error.reason). The version in service keeps running.",
                extra: ["addon_id": error.id])
        }
    }

    /// `GET /v1/admin/audit?addon=&account=&field=&category=&since=&until=&format=json|csv|ndjson`
    @Sendable func audit(_ request: Request, context: AppContext) async throws -> Response {
        switch try await auditAnswer(request) {
        case .summary(let counts, let format):
            var headers = HTTPFields()
            headers[.contentType] =
                format == "csv"
                ? "text/csv; charset=utf-8" : format == "ndjson" ? "application/x-ndjson" : "application/json"
            return Response(
                status: .ok, headers: headers,
                body: .init(byteBuffer: ByteBuffer(string: AuditFormatter.render(summary: counts, format: format))))
        case .page(let shares, let format, let next):
            var response = try AuditOutput.response(shares, format: format, nextCursor: next)
            if let next { response.headers[HTTPField.Name("Link")!] = Self.nextLink(request, cursor: next) }
            return response
        }
    }

    /// What `GET /v1/admin/audit` answers, before it is written out.
    enum AuditAnswer {
        /// `summary=true`: shares counted per day.
        case summary([ShareSummary.DayCount], format: String)
        /// One page of shares in ledger order, and the cursor of the next when there may be one.
        case page([ShareView], format: String, next: String?)
    }

    /// Reads the request's filters (refusing a bad one with the field and the fix) and the page of
    /// the ledger they select. The console's download calls it page after page.
    /// - Throws: `Problem` 404 for an add-on neither loaded nor in the ledger or an account neither
    ///   in `accounts` nor in the ledger, 422 naming a bad parameter; what the database throws.
    func auditAnswer(_ request: Request) async throws -> AuditAnswer {
        var query = Ledger.Query()
        var parameters = request.queryInput()
        if let given = parameters.text("addon") {
            guard let id = try await services.addons.auditedAddonID(given) else {
                let known = try await services.addons.auditableAddonIDs()
                throw Problem(
                    .notFound, "No such add-on",
                    detail:
                        "addon: \(given) is neither loaded nor in the ledger; known add-ons: \(known.joined(separator: ", "))",
                    errors: [FieldError("addon", "is not a known add-on; use one of \(known.joined(separator: ", "))")])
            }
            query.addonID = id
        }
        query.accountID = parameters.text("account")
        query.field = parameters.value("field", hint: "must be a field id such as usage.to") {
            FieldCatalog.byID[$0] == nil ? nil : $0
        }
        query.category = parameters.value("category", hint: "must be content, account or usage") {
            DataCategory(rawValue: $0)
        }
        query.since = parameters.value("since", hint: Timestamp.hint, Timestamp.parseMillis)
        query.until = parameters.value("until", hint: Timestamp.hint, Timestamp.parseMillis)
        if let problem = query.rangeProblem { parameters.fail(problem.field, problem.message) }
        query.limit = parameters.limit(default: 1000, max: 10_000)
        query.afterSeq = parameters.value("cursor", hint: "must be a next_cursor value from an earlier page") {
            Cursor.sequence($0)
        }
        let format =
            parameters.value("format", hint: "must be json, csv or ndjson") {
                ["json", "csv", "ndjson"].contains($0) ? $0 : nil
            } ?? "json"
        let summary = parameters.value("summary", hint: "must be true or false") { ["true": true, "false": false][$0] }
        try parameters.finish()
        if let account = query.accountID, try await !services.addons.auditedAccountIsKnown(account) {
            throw Problem(
                .notFound, "No such account",
                detail:
                    "account: \(account) is neither an account nor in the ledger; check the id (`switchboard accounts list` lists them)",
                errors: [
                    FieldError("account", "is not a known account id; check it, e.g. acc_… as sign-up answered it")
                ])
        }
        if summary == true {
            let counts = try await services.addons.writer.pool.read { [query] db in try ShareSummary.perDay(db, query) }
            return .summary(counts, format: format)
        }
        let entries = try await services.addons.writer.pool.read { [query] db in try Ledger.query(db, query) }
        let next = entries.count == query.limit ? entries.last.map { Cursor.encode(String($0.seq)) } : nil
        return .page(ShareView.views(of: entries), format: format, next: next)
    }

    /// The next page's address as a `Link` header value (RFC 8288, `rel="next"`): the request's
    /// path and query with `cursor` set, so a CSV or NDJSON download, which has no `next_cursor`
    /// field, can be followed page by page.
    static func nextLink(_ request: Request, cursor: String) -> String {
        let kept = (request.uri.query ?? "").split(separator: "&").filter { !$0.hasPrefix("cursor=") }
        return "<\(request.uri.path)?\((kept + ["cursor=\(cursor)"]).joined(separator: "&"))>; rel=\"next\""
    }
}

/// Ledger rows as JSON, CSV or NDJSON (one JSON object a line, for SIEM ingestion).
enum AuditOutput {
    /// The CSV columns of ``rows(_:)``, in the order written: also the header of an answer with no row.
    static let columns = [
        "account_id", "addon_id", "addon_version", "at", "consent_receipt_id", "event_id", "event_type", "fields",
        "hash", "seq",
    ]

    static func rows(_ shares: [ShareView]) -> [[String: Any]] {
        shares.map { share in
            [
                "seq": share.seq, "at": share.at ?? "", "addon_id": share.addonId, "addon_version": share.addonVersion,
                "account_id": share.accountId, "event_id": share.eventId, "event_type": share.eventType,
                "fields": share.fields.keys.sorted().map { "\($0):\(share.fields[$0]!)" }.joined(separator: " "),
                "consent_receipt_id": share.consentReceiptId ?? "", "hash": share.hash,
            ]
        }
    }

    /// One NDJSON line per share.
    static func ndjson(_ shares: [ShareView]) throws -> String {
        let encoder = SnakeCaseJSON.encoder()
        var text = ""
        for share in shares { text += String(decoding: try encoder.encode(share), as: UTF8.self) + "\n" }
        return text
    }

    static func response(_ shares: [ShareView], format: String, nextCursor: String?) throws -> Response {
        switch format {
        case "csv":
            return CSVResponse.make(rows(shares), columns: columns, filename: "audit.csv")
        case "ndjson":
            var headers = HTTPFields()
            headers[.contentType] = "application/x-ndjson"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: try ndjson(shares))))
        default:
            return try JSONResponse.make(Page(data: shares, nextCursor: nextCursor))
        }
    }
}
