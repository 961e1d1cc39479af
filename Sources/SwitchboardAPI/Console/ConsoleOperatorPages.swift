import Crypto
import Foundation
import GRDB
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// The operator's console (`/console/admin`): add-ons and their state, reload; the audit query with
/// its filters and CSV/NDJSON downloads; ledger verification and checkpoints; accounts and legal
/// holds. The operator signs in with the daemon's operator token, throttled like the admin API.
struct ConsoleOperatorPages {
    let routes: ConsoleRoutes
    var services: HostServices { routes.services }
    var auditRoutes: AuditRoutes { AuditRoutes(services: services) }
    var adminRoutes: AdminRoutes { AdminRoutes(services: services) }

    func add(to open: RouterGroup<AppContext>) {
        open.get("admin/sign-in", use: signInPage)
        open.post("admin/sign-in", use: signIn)
        let admin = open.group("admin")
            .add(
                middleware: ConsoleSessionMiddleware(
                    console: routes.console, role: .operator, stages: [.active],
                    operatorTokenHash: routes.operatorToken.sha256Hex))
        admin.get("", use: { _, _ in ConsoleRenderer.redirect("/console/admin/addons") })
        admin.post("sign-out", use: ConsoleSignIn(routes: routes).signOut)
        admin.get("addons", use: addons)
        admin.post("addons/:id/reload", use: reload)
        admin.get("audit", use: audit)
        admin.get("audit/download", use: download)
        admin.get("verify", use: verify)
        admin.get("accounts", use: accounts)
        admin.post("accounts/:id/legal-hold", use: setLegalHold)
        admin.post("accounts/:id/legal-hold/lift", use: liftLegalHold)
    }

    @Sendable func signInPage(_ request: Request, context: AppContext) async throws -> Response {
        routes.preSessionPage(ConsolePage("admin_sign_in", title: "Operator sign-in"), request, context)
    }

    @Sendable func signIn(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.preSessionForm(request)
        let client = services.clientAddresses.clientAddress(of: request, context: context)
        let keys = [services.clientAddresses.throttleKey(for: client)]
        switch OperatorAuthMiddleware.check(
            Substring(form.raw("token") ?? ""), token: routes.operatorToken, throttle: services.authThrottle, keys: keys
        )
        {
        case nil:
            let wait = services.authThrottle.retryAfter(keys) ?? 1
            let page = ConsolePage(
                "admin_sign_in", title: "Operator sign-in", status: .tooManyRequests,
                errors: ["Too many failed sign-ins from this address: wait \(wait) seconds."])
            var response = routes.preSessionPage(page, request, context)
            response.headers[.retryAfter] = String(wait)
            return response
        case false?:
            let page = ConsolePage(
                "admin_sign_in", title: "Operator sign-in", status: .unauthorized,
                errors: [
                    "That is not the operator token (data_dir/secrets/operator-token, or operator_token in the config)."
                ])
            return routes.preSessionPage(page, request, context)
        case true?:
            break
        }
        let started = try await routes.console.sessions.start(
            accountID: nil, role: .operator, stage: .active, deviceHash: routes.operatorToken.sha256Hex,
            country: routes.console.countries.country(of: client), address: client)
        var response = ConsoleRenderer.redirect("/console/admin/addons")
        routes.cookies.setSession(started.token, role: .operator, on: &response)
        return response
    }

    // MARK: Add-ons

    @Sendable func addons(_ request: Request, context: AppContext) async throws -> Response {
        try await addonsPage(request, context, notice: routes.onceNotice(request, context), errors: [], status: .ok)
    }

    private func addonsPage(
        _ request: Request, _ context: AppContext, notice: String?, errors: [String], status: HTTPResponse.Status
    ) async throws -> Response {
        let list =
            try await routes.api(context).call(auditRoutes.addons, .get, "/v1/admin/addons") as? [String: Any] ?? [:]
        let loaded = list.rows("loaded").map { addon -> [String: Any] in
            var row = addon
            let runtime = addon["runtime"] as? [String: Any] ?? [:]
            row["state"] = runtime["state"] ?? "running"
            row["why"] = Self.why(runtime)
            row["waiting"] = runtime["outbox_depth"] ?? 0
            row["restarts"] = runtime["restarts"] ?? 0
            return row
        }
        let page = ConsolePage(
            "admin_addons", title: "Add-ons",
            data: ["loaded": loaded, "failed": list.rows("failed"), "anyFailed": !list.rows("failed").isEmpty],
            status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    /// Why an add-on is not simply running, from its runtime view: the last failure and, while it
    /// is quarantined, until when (both, since an operator deciding to reload needs both).
    static func why(_ runtime: [String: Any]) -> String {
        let failure = runtime["last_failure"] as? String
        let until = (runtime["quarantined_until"] as? String).map {
            "quarantined until \(ConsoleRenderer.readable($0))"
        }
        return [failure, until].compactMap { $0 }.joined(separator: "; ")
    }

    @Sendable func reload(_ request: Request, context: AppContext) async throws -> Response {
        _ = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        do {
            _ = try await routes.api(context).call(
                auditRoutes.reload, .post, "/v1/admin/addons/\(id)/reload", parameters: ["id": id])
            return routes.redirect("/console/admin/addons", context, showing: ["notice": "\(id) reloaded."])
        } catch let problem as Problem {
            return try await addonsPage(request, context, notice: nil, errors: [problem.detail], status: problem.status)
        }
    }

    // MARK: Audit

    static let filters = ["addon", "account", "field", "category", "since", "until"]
    /// Shares shown on one audit page.
    static let pageSize = 200

    private func filterQuery(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for name in Self.filters {
            if let value = request.uri.queryParameters[Substring(name)].map(String.init)?.trimmingCharacters(
                in: .whitespaces),
                !value.isEmpty
            {
                query[name] = value
            }
        }
        return query
    }

    @Sendable func audit(_ request: Request, context: AppContext) async throws -> Response {
        let query = filterQuery(request)
        var values: [String: Any] = query
        var errors: [String] = []
        var status = HTTPResponse.Status.ok
        var shares: [[String: Any]] = []
        var next = ""
        // A page of 200 shares at a time, in ledger order; the API's cursor leads to the next one.
        var pageQuery = query.merging(["limit": String(Self.pageSize)]) { $1 }
        if let cursor = request.uri.queryParameters["cursor"].map(String.init), !cursor.isEmpty {
            pageQuery["cursor"] = cursor
        }
        do {
            let page =
                try await routes.api(context).call(auditRoutes.audit, .get, "/v1/admin/audit", query: pageQuery)
                as? [String: Any] ?? [:]
            next = page["next_cursor"] as? String ?? ""
            shares = page.rows("data").map { share in
                var row = share
                row["fieldList"] = (share["fields"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }
                    .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
                return row
            }
        } catch let problem as Problem {
            errors = ConsoleCustomerPages.messages(of: problem)
            status = problem.status
        }
        let encoded = query.sorted { $0.key < $1.key }.map {
            "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&+="))) ?? "")"
        }.joined(separator: "&")
        values["shares"] = shares
        values["pageSize"] = Self.pageSize
        if !next.isEmpty {
            values["next"] =
                "/console/admin/audit?" + (encoded.isEmpty ? "" : encoded + "&") + "cursor="
                + (next.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")
        }
        values["empty"] = shares.isEmpty && errors.isEmpty
        values["csv"] = "/console/admin/audit/download?" + (encoded.isEmpty ? "" : encoded + "&") + "format=csv"
        values["ndjson"] = "/console/admin/audit/download?" + (encoded.isEmpty ? "" : encoded + "&") + "format=ndjson"
        values["categories"] = ["content", "account", "usage"].map { name -> [String: Any] in
            ["value": name, "selected": (query["category"] ?? "") == name]
        }
        let page = ConsolePage("admin_audit", title: "Audit", data: values, status: status, errors: errors)
        return routes.page(page, request, context)
    }

    /// The whole answer of `GET /v1/admin/audit` as a file, the API's own CSV or NDJSON, read
    /// `console.audit_download_page` shares at a time and streamed, so that a download of any
    /// length holds one page in memory and none is cut short.
    @Sendable func download(_ request: Request, context: AppContext) async throws -> Response {
        var query = filterQuery(request)
        let asked = request.uri.queryParameters["format"].map(String.init) ?? "csv"
        guard asked == "csv" || asked == "ndjson" else {
            throw Problem.invalid("format", "must be csv or ndjson")
        }
        let format = asked
        query["format"] = format
        query["limit"] = String(routes.console.settings.auditDownloadPage)
        let (filters, auditRoutes) = (query, self.auditRoutes)
        @Sendable func page(after cursor: String?) async throws -> (shares: [ShareView], next: String?) {
            var components = URLComponents()
            components.path = "/v1/admin/audit"
            components.queryItems = filters.merging(cursor.map { ["cursor": $0] } ?? [:]) { $1 }
                .sorted { $0.key < $1.key }.map { URLQueryItem(name: $0.key, value: $0.value) }
            let inner = Request(
                head: .init(method: .get, scheme: nil, authority: nil, path: components.string ?? "/v1/admin/audit"),
                body: .init(buffer: .init()))
            guard case .page(let shares, _, let next) = try await auditRoutes.auditAnswer(inner) else {
                return ([], nil)
            }
            return (shares, next)
        }
        @Sendable func text(_ shares: [ShareView], first: Bool) throws -> String {
            format == "csv"
                ? CSVResponse.text(AuditOutput.rows(shares), columns: AuditOutput.columns, header: first)
                : try AuditOutput.ndjson(shares)
        }
        // The first page before the answer starts: a bad filter is refused with a page that says so.
        let first = try await page(after: nil)
        let opening = try text(first.shares, first: true)
        var headers = HTTPFields()
        headers[.contentType] = format == "csv" ? "text/csv; charset=utf-8" : "application/x-ndjson"
        headers[.contentDisposition] = "attachment; filename=\"switchboard-audit.\(format)\""
        var response = Response(
            status: .ok, headers: headers,
            body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: opening))
                var next = first.next
                while let cursor = next {
                    let more = try await page(after: cursor)
                    try await writer.write(ByteBuffer(string: try text(more.shares, first: false)))
                    next = more.next
                }
                try await writer.finish(nil)
            })
        ConsoleRenderer.secure(&response)
        return response
    }

    // MARK: Verification

    @Sendable func verify(_ request: Request, context: AppContext) async throws -> Response {
        let outcome = try await routes.console.verifyLedger()
        let checkpoints = try await services.addons.writer.pool.read { db in try Checkpoint.latest(db, limit: 20) }
        return routes.page(
            ConsolePage(
                "admin_verify", title: "Ledger verification",
                data: [
                    "passed": outcome.failure == nil, "rows": outcome.rows, "checkpointCount": outcome.checkpoints,
                    "signingKeys": outcome.signingKeys, "retired": outcome.retiredSigningKeys,
                    "failureSeq": outcome.failure.map { String($0.seq) } ?? "",
                    "failureReason": outcome.failure?.reason ?? "", "hasCheckpoints": !checkpoints.isEmpty,
                    "checkpoints": checkpoints.map {
                        [
                            "seq": $0.seq, "kind": $0.kind.rawValue, "hash": $0.hash,
                            "at": Timestamp.string($0.at) ?? "", "key": $0.publicKey,
                        ] as [String: Any]
                    },
                ]), request, context)
    }

    // MARK: Accounts

    @Sendable func accounts(_ request: Request, context: AppContext) async throws -> Response {
        try await accountsPage(
            request, context, notice: routes.onceNotice(request, context), errors: [], status: .ok)
    }

    private func accountsPage(
        _ request: Request, _ context: AppContext, notice: String?, errors: [String], status: HTTPResponse.Status
    ) async throws -> Response {
        var query = ["limit": "100"]
        if let cursor = request.uri.queryParameters["cursor"].map(String.init) { query["cursor"] = cursor }
        let list =
            try await routes.api(context).call(adminRoutes.listAccounts, .get, "/v1/admin/accounts", query: query)
            as? [String: Any] ?? [:]
        let page = ConsolePage(
            "admin_accounts", title: "Accounts",
            data: [
                "accounts": list.rows("data").map { row -> [String: Any] in
                    var row = row
                    row["erased"] = (row["account"] as? [String: Any])?["status"] as? String == "erased"
                    return row
                },
                "next": (list["next_cursor"] as? String).map { "/console/admin/accounts?cursor=\($0)" } ?? "",
            ], status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    @Sendable func setLegalHold(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        do {
            _ = try await routes.api(context).call(
                adminRoutes.setLegalHold, .put, "/v1/admin/accounts/\(id)/legal-hold",
                body: ["reason": form["reason"] ?? ""], parameters: ["id": id])
        } catch let problem as Problem {
            return try await accountsPage(
                request, context, notice: nil, errors: ConsoleCustomerPages.messages(of: problem),
                status: problem.status)
        }
        return routes.redirect(
            "/console/admin/accounts", context,
            showing: ["notice": "Legal hold set on \(id): nothing of it is erased until it is lifted."])
    }

    @Sendable func liftLegalHold(_ request: Request, context: AppContext) async throws -> Response {
        _ = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        let lifted =
            try await routes.api(context).call(
                adminRoutes.liftLegalHold, .delete, "/v1/admin/accounts/\(id)/legal-hold", parameters: ["id": id])
            as? [String: Any]
        // The answer carries `addon_erasure` only when lifting carried out a deletion asked for under
        // the hold; the account's status alone would also say "erased" for one erased before.
        let carriedOut = lifted?["addon_erasure"] is [String: Any]
        let notice =
            carriedOut
            ? "Legal hold lifted on \(id); the deletion its customer asked for under the hold is carried out."
            : "Legal hold lifted on \(id)."
        return routes.redirect("/console/admin/accounts", context, showing: ["notice": notice])
    }
}
