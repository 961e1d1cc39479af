import Foundation
import Hummingbird
import SwitchboardCore

/// The customer's pages other than add-ons: messages, numbers and opt-outs, API keys, settings
/// (privacy, webhook secret, second factors, sessions), usage and account deletion. Each reads and
/// writes through the API's own handler (``ConsoleAPI``).
struct ConsoleCustomerPages {
    let routes: ConsoleRoutes
    var services: HostServices { routes.services }
    var accountRoutes: AccountRoutes { AccountRoutes(services: services) }

    func add(to group: RouterGroup<AppContext>) {
        group.get("messages", use: messages)
        group.post("messages", use: sendMessage)
        group.get("messages/:id", use: message)
        group.get("numbers", use: numbers)
        group.post("numbers", use: claimNumber)
        group.get("keys", use: keys)
        group.post("keys", use: createKey)
        group.post("keys/:id/revoke", use: revokeKey)
        group.get("settings", use: settings)
        group.post("settings/privacy", use: setContentMode)
        group.post("settings/profile", use: updateProfile)
        group.post("settings/password", use: changePassword)
        group.post("settings/webhook-secret", use: rotateWebhookSecret)
        group.post("settings/recovery-codes", use: newRecoveryCodes)
        group.get("settings/recovery-codes", use: recoveryCodes)
        group.get("usage", use: usage)
        group.get("delete", use: deletePage)
        group.post("delete", use: deleteAccount)
    }

    // MARK: Messages

    @Sendable func messages(_ request: Request, context: AppContext) async throws -> Response {
        try await messagesPage(request, context, errors: [], values: [:], status: .ok)
    }

    private func messagesPage(
        _ request: Request, _ context: AppContext, errors: [String], values: [String: String],
        status: HTTPResponse.Status
    ) async throws -> Response {
        var query: [String: String] = [:]
        for name in ["status", "direction", "cursor"] {
            if let value = request.uri.queryParameters[Substring(name)].map(String.init), !value.isEmpty {
                query[name] = value
            }
        }
        query["limit"] = "50"
        var errors = errors
        var status = status
        var list: [String: Any] = [:]
        do {
            list =
                try await routes.api(context).call(
                    MessageRoutes(services: services).list, .get, "/v1/messages", query: query) as? [String: Any]
                ?? [:]
        } catch let problem as Problem {
            // A filter the API refuses is said on the page, which keeps the send form and the filters.
            errors += Self.messages(of: problem)
            status = problem.status
        }
        let statuses = MessageStatus.allCases.map { status -> [String: Any] in
            ["value": status.rawValue, "selected": (query["status"] ?? "") == status.rawValue]
        }
        let directions = ["outbound", "inbound"].map { name -> [String: Any] in
            ["value": name, "selected": (query["direction"] ?? "") == name]
        }
        let page = ConsolePage(
            "messages", title: "Messages",
            data: [
                "messages": list.rows("data"), "empty": list.rows("data").isEmpty, "statuses": statuses,
                "directions": directions,
                "next": (list["next_cursor"] as? String).map { cursor in
                    "/console/messages?"
                        + query.merging(["cursor": cursor]) { $1 }.filter { $0.key != "limit" }
                        .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "&")
                } ?? "",
                "to": values["to"] ?? "", "from": values["from"] ?? "", "body": values["body"] ?? "",
            ], status: status, errors: errors)
        return routes.page(page, request, context)
    }

    @Sendable func sendMessage(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context, allowingBadText: true)
        let values = ["to": form["to"] ?? "", "from": form["from"] ?? "", "body": form.raw("body") ?? ""]
            .mapValues(ConsoleForm.shown)
        do {
            // Text the API would refuse is refused here with what was typed kept on the page.
            try form.requireCleanText()
            let sent =
                try await routes.api(context).call(
                    MessageRoutes(services: services).send, .post, "/v1/messages",
                    body: ["to": values["to"]!, "from": values["from"]!, "body": values["body"]!]) as? [String: Any]
            return ConsoleRenderer.redirect("/console/messages/\(sent?["id"] as? String ?? "")")
        } catch let problem as Problem {
            return try await messagesPage(
                request, context, errors: Self.messages(of: problem), values: values, status: problem.status)
        }
    }

    /// What a refusal says, field by field when it names fields.
    static func messages(of problem: Problem) -> [String] {
        problem.errors.isEmpty ? [problem.detail] : problem.errors.map { "\($0.field): \($0.message)" }
    }

    @Sendable func message(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        let shown =
            try await routes.api(context).call(
                MessageRoutes(services: services).show, .get, "/v1/messages/\(id)", parameters: ["id": id])
            as? [String: Any] ?? [:]
        // The status history, from the moments the message keeps.
        var history: [[String: Any]] = [["status": "queued", "at": shown["created_at"] ?? ""]]
        if let sent = shown["sent_at"] { history.append(["status": "sent", "at": sent]) }
        if let done = shown["completed_at"] { history.append(["status": shown["status"] ?? "", "at": done]) }
        return routes.page(
            ConsolePage("message", title: "Message \(id)", data: ["message": shown, "history": history]), request,
            context)
    }

    // MARK: Numbers

    @Sendable func numbers(_ request: Request, context: AppContext) async throws -> Response {
        try await numbersPage(
            request, context, errors: [], status: .ok, notice: routes.onceNotice(request, context))
    }

    private func numbersPage(
        _ request: Request, _ context: AppContext, errors: [String], status: HTTPResponse.Status, notice: String?,
        typed: [String: String] = [:]
    ) async throws -> Response {
        let api = routes.api(context)
        let numbers =
            try await api.call(accountRoutes.listNumbers, .get, "/v1/account/numbers") as? [String: Any] ?? [:]
        let optOuts =
            try await api.call(accountRoutes.listOptOuts, .get, "/v1/account/opt-outs") as? [String: Any] ?? [:]
        let page = ConsolePage(
            "numbers", title: "Numbers and opt-outs",
            data: [
                "numbers": numbers.rows("data"), "noNumbers": numbers.rows("data").isEmpty,
                "optOuts": optOuts.rows("data"), "noOptOuts": optOuts.rows("data").isEmpty,
                "number": typed["number"] ?? "", "webhook": typed["inbound_webhook"] ?? "",
            ], status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    @Sendable func claimNumber(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        var body: [String: Any] = ["number": form["number"] ?? ""]
        if let webhook = form["inbound_webhook"] { body["inbound_webhook"] = webhook }
        do {
            _ = try await routes.api(context).call(accountRoutes.claimNumber, .post, "/v1/account/numbers", body: body)
            return routes.redirect("/console/numbers", context, showing: ["notice": "Number added."])
        } catch let problem as Problem {
            return try await numbersPage(
                request, context, errors: Self.messages(of: problem), status: problem.status, notice: nil,
                typed: ["number": form["number"] ?? "", "inbound_webhook": form["inbound_webhook"] ?? ""])
        }
    }

    // MARK: API keys

    @Sendable func keys(_ request: Request, context: AppContext) async throws -> Response {
        let shown = routes.once(request, context)
        var notice = shown?["notice"] as? String
        if shown == nil, request.uri.queryParameters["once"].map({ !$0.isEmpty }) == true {
            notice =
                "A key's secret is shown only once, and this one has been: the key is listed below. If you did not copy it, revoke it and create another."
        }
        return try await keysPage(
            request, context, created: shown?["created"] as? [String: Any], errors: [], status: .ok, notice: notice)
    }

    private func keysPage(
        _ request: Request, _ context: AppContext, created: [String: Any]?, errors: [String],
        status: HTTPResponse.Status, notice: String?, typedName: String = ""
    ) async throws -> Response {
        let keys =
            try await routes.api(context).call(accountRoutes.listKeys, .get, "/v1/account/keys") as? [String: Any]
            ?? [:]
        let page = ConsolePage(
            "keys", title: "API keys",
            data: [
                "keys": keys.rows("data"), "created": created ?? [:], "hasCreated": created != nil,
                "accountId": context.principal?.accountID ?? "", "name": typedName,
            ], status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    @Sendable func createKey(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        do {
            let created =
                try await routes.api(context).call(
                    accountRoutes.createKey, .post, "/v1/account/keys", body: ["name": form["name"] ?? ""])
                as? [String: Any]
            return routes.redirect("/console/keys", context, showing: ["created": created ?? [:]])
        } catch let problem as Problem {
            return try await keysPage(
                request, context, created: nil, errors: Self.messages(of: problem), status: problem.status, notice: nil,
                typedName: form.raw("name") ?? "")
        }
    }

    @Sendable func revokeKey(_ request: Request, context: AppContext) async throws -> Response {
        _ = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        _ = try await routes.api(context).call(
            accountRoutes.revokeKey, .delete, "/v1/account/keys/\(id)", parameters: ["id": id])
        return routes.redirect("/console/keys", context, showing: ["notice": "Key \(id) revoked."])
    }

    // MARK: Settings

    @Sendable func settings(_ request: Request, context: AppContext) async throws -> Response {
        try await settingsPage(
            request, context, notice: routes.onceNotice(request, context), extra: [:])
    }

    private func settingsPage(
        _ request: Request, _ context: AppContext, notice: String?, extra: [String: Any],
        errors: [String] = [], status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let api = routes.api(context)
        let account = try await api.call(accountRoutes.show, .get, "/v1/account") as? [String: Any] ?? [:]
        let secret =
            try await api.call(
                WebhookSecretRoutes(services: services).show, .get, "/v1/account/webhook-secret") as? [String: Any]
            ?? [:]
        let accountID = context.principal!.accountID
        let factors = try await routes.console.factors.status(accountID: accountID)
        let sessions = try await routes.console.sessions.list(accountID: accountID).map { session -> [String: Any] in
            [
                "id": session.id, "current": session.id == context.console?.id,
                "country": session.country == CountryLookup.unknown ? "unknown" : session.country,
                "pending": session.stage != .active,
                "started": Timestamp.string(session.createdAt) ?? "",
                "seen": Timestamp.string(session.lastSeenAt) ?? "",
            ]
        }
        let mode = account["content_mode"] as? String ?? "store"
        // A refused profile form shows what was typed, not the stored values.
        let typed = extra["typedProfile"] as? [String: String] ?? [:]
        var data: [String: Any] = [
            "account": account.merging(typed) { $1 }, "webhookSecret": secret,
            "modes": [
                ["value": "store", "label": "Keep message bodies", "checked": mode == "store"],
                ["value": "hash", "label": "Keep only a SHA-256 digest of each body", "checked": mode == "hash"],
                ["value": "hide", "label": "Keep no bodies at all", "checked": mode == "hide"],
            ],
            "totp": factors.totp, "sms": factors.smsNumber ?? "", "hasSMS": factors.smsNumber != nil,
            "recoveryLeft": factors.recoveryCodesLeft, "sessions": sessions,
        ]
        data.merge(extra) { $1 }
        let page = ConsolePage(
            "settings", title: "Settings", data: data, status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    @Sendable func setContentMode(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        do {
            _ = try await routes.api(context).call(
                accountRoutes.update, .patch, "/v1/account", body: ["content_mode": form["content_mode"] ?? ""])
        } catch let problem as Problem {
            return try await settingsPage(
                request, context, notice: nil, extra: [:], errors: Self.messages(of: problem), status: problem.status)
        }
        return routes.redirect("/console/settings", context, showing: ["notice": "Privacy setting saved."])
    }

    /// Name, email and company, through `PATCH /v1/account`; an empty company removes it.
    @Sendable func updateProfile(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        let company = form["company"] ?? ""
        let typed = [
            "name": form.raw("name") ?? "", "email": form.raw("email") ?? "", "company": form.raw("company") ?? "",
        ]
        do {
            _ = try await routes.api(context).call(
                accountRoutes.update, .patch, "/v1/account",
                body: [
                    "name": form["name"] ?? "", "email": form["email"] ?? "",
                    "company": company.isEmpty ? NSNull() : company,
                ])
        } catch let problem as Problem {
            return try await settingsPage(
                request, context, notice: nil, extra: ["typedProfile": typed], errors: Self.messages(of: problem),
                status: problem.status)
        }
        return routes.redirect("/console/settings", context, showing: ["notice": "Profile saved."])
    }

    /// A new password, through `PATCH /v1/account` with the present one. It ends every sign-in of
    /// the account, this session's too, so the answer leads to the sign-in page.
    @Sendable func changePassword(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        do {
            _ = try await routes.api(context).call(
                accountRoutes.update, .patch, "/v1/account",
                body: ["password": form.raw("password") ?? "", "current_password": form.raw("current_password") ?? ""])
        } catch let problem as Problem {
            return try await settingsPage(
                request, context, notice: nil, extra: [:], errors: Self.messages(of: problem), status: problem.status)
        }
        var response = ConsoleRenderer.redirect("/console/sign-in?after=password")
        routes.cookies.clearSession(role: .customer, on: &response)
        return response
    }

    @Sendable func rotateWebhookSecret(_ request: Request, context: AppContext) async throws -> Response {
        _ = try await routes.form(request, context)
        // A reload of the answer must not rotate again: that would end the overlap of the secret
        // the customer's receiver still uses.
        _ = try await routes.api(context).call(
            WebhookSecretRoutes(services: services).rotate, .post, "/v1/account/webhook-secret/rotate")
        return routes.redirect(
            "/console/settings", context,
            showing: [
                "notice":
                    "A new webhook signing secret is in force; the previous one keeps working until the overlap ends."
            ])
    }

    /// New recovery codes need the password again: with a session alone, whoever holds it could
    /// make themselves a lasting way past the second factor.
    @Sendable func newRecoveryCodes(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        let accountID = context.principal!.accountID
        guard let email = try await services.accounts.find(id: accountID)?.email else {
            throw Problem.notFound("account")
        }
        // An empty field is a form left blank, not a wrong guess: said so, and not counted.
        guard let password = form.raw("password"), !password.isEmpty else {
            return try await settingsPage(
                request, context, notice: nil, extra: [:],
                errors: ["Password: is required to make new recovery codes; enter your present password."],
                status: .unprocessableContent)
        }
        do {
            _ = try await accountRoutes.verifyPassword(
                email: email, password: password,
                client: services.clientAddresses.clientAddress(of: request, context: context))
        } catch let problem as Problem {
            return try await settingsPage(
                request, context, notice: nil, extra: [:],
                errors: ["Password: \(problem.status == .unauthorized ? "is not your password" : problem.detail)"],
                status: problem.status)
        }
        let codes = try await routes.console.factors.regenerateRecoveryCodes(accountID: context.principal!.accountID)
        return routes.redirect("/console/settings/recovery-codes", context, showing: ["codes": codes])
    }

    /// The new recovery codes, shown once after ``newRecoveryCodes(_:context:)``; afterwards the
    /// settings page, saying so.
    @Sendable func recoveryCodes(_ request: Request, context: AppContext) async throws -> Response {
        let shown = routes.once(request, context)
        guard let codes = shown?["codes"] as? [String] else {
            return try await settingsPage(
                request, context,
                notice:
                    "Recovery codes are shown only once. If you did not keep them, make new ones below (the old ones then stop working).",
                extra: [:])
        }
        return routes.page(
            ConsolePage(
                "recovery_codes", title: shown?["title"] as? String ?? "Your new recovery codes",
                data: ["codes": codes, "next": shown?["next"] as? String ?? "/console/settings"]),
            request, context)
    }

    // MARK: Usage

    @Sendable func usage(_ request: Request, context: AppContext) async throws -> Response {
        var query: [String: String] = [:]
        for name in ["from", "to"] {
            if let value = request.uri.queryParameters[Substring(name)].map(String.init), !value.isEmpty {
                query[name] = value
            }
        }
        var daily: [String: Any] = [:]
        var errors: [String] = []
        var status = HTTPResponse.Status.ok
        do {
            daily =
                try await routes.api(context).call(
                    UsageRoutes(services: services).daily, .get, "/v1/usage", query: query)
                as? [String: Any] ?? [:]
        } catch let problem as Problem {
            // A range the API refuses (the end before the start…) is said on the page, as typed.
            errors = Self.messages(of: problem)
            status = problem.status
            daily = ["from": query["from"] ?? "", "to": query["to"] ?? ""]
        }
        let days = daily.rows("days").map { day -> [String: Any] in
            var row = day
            let counts = day["messages"] as? [String: Int] ?? [:]
            row["count"] = counts.values.reduce(0, +)
            row["breakdown"] = counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            row["segmentCount"] = (day["segments"] as? [String: Int] ?? [:]).values.reduce(0, +)
            return row
        }
        let most = days.compactMap { $0["count"] as? Int }.max() ?? 0
        let rows = days.map { day -> [String: Any] in
            var row = day
            let count = day["count"] as? Int ?? 0
            // A text bar, so the page needs neither script nor image.
            row["bar"] = most == 0 || count == 0 ? "" : String(repeating: "▇", count: max(1, count * 20 / most))
            return row
        }
        return routes.page(
            ConsolePage(
                "usage", title: "Usage",
                data: [
                    "days": rows, "from": daily["from"] ?? "", "to": daily["to"] ?? "",
                    "total": days.compactMap { $0["count"] as? Int }.reduce(0, +),
                ], status: status, errors: errors),
            request, context)
    }

    // MARK: Deletion

    @Sendable func deletePage(_ request: Request, context: AppContext) async throws -> Response {
        let account = try await routes.api(context).call(accountRoutes.show, .get, "/v1/account") as? [String: Any]
        var plan = Self.deletionPlan(services)
        plan["held"] = account?["legal_hold"] as? Bool ?? false
        plan["requested"] = account?["erasure_requested_at"] as? String ?? ""
        return routes.page(
            ConsolePage(
                "delete", title: "Delete your account", data: plan,
                notice: routes.onceNotice(request, context)), request, context)
    }

    @Sendable func deleteAccount(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        guard form["confirm"] == "DELETE" else {
            let page = ConsolePage(
                "delete", title: "Delete your account", data: Self.deletionPlan(services),
                status: .unprocessableContent, errors: ["Confirmation: type DELETE in capitals to delete the account."])
            return routes.page(page, request, context)
        }
        let report =
            try await routes.api(context).call(accountRoutes.erase, .delete, "/v1/account") as? [String: Any] ?? [:]
        if report["status"] as? String == "held" {
            // Accepted, not refused: the request is recorded and carried out when the hold is lifted.
            return routes.redirect(
                "/console/delete", context,
                showing: [
                    "notice":
                        "Nothing was erased yet: an operator legal hold is set on this account. Your request is recorded, and the account is erased as soon as the hold is lifted."
                ])
        }
        var response = routes.renderer.render(
            ConsolePage(
                "deleted", title: "Your account is deleted", data: ["report": report, "json": Self.pretty(report)]),
            session: nil, path: request.uri.path)
        routes.cookies.clearSession(role: .customer, on: &response)
        return response
    }

    /// What deletion erases and keeps, and why: the erasure service's own report of it.
    static func deletionPlan(_ services: HostServices) -> [String: Any] {
        let plan = services.erasures.preview()
        return ["erased": plan.erased, "kept": plan.kept.map { ["data": $0.data, "reason": $0.reason] }]
    }

    /// A JSON value as indented text, for showing a report as it is.
    static func pretty(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys])
        else {
            return ""
        }
        return String(decoding: data, as: UTF8.self)
    }
}
