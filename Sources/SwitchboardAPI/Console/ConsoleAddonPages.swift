import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// The customer's add-on pages: the catalog; one add-on field by field in plain words, with a toggle
/// per optional field; the consent receipt; a pending manifest update as a difference to accept or
/// refuse; withdrawal with or without erasure; what the add-on received; its reports and alerts;
/// and the privacy page (every add-on's shares and the erasure requests with each add-on's answer).
struct ConsoleAddonPages {
    let routes: ConsoleRoutes
    var services: HostServices { routes.services }
    var addonRoutes: AddonRoutes { AddonRoutes(services: services) }
    var privacyRoutes: PrivacyRoutes { PrivacyRoutes(services: services) }

    func add(to group: RouterGroup<AppContext>) {
        group.get("addons", use: catalog)
        group.get("addons/:id", use: addon)
        group.post("addons/:id/grant", use: grant)
        group.post("addons/:id/withdraw", use: withdraw)
        group.get("addons/:id/shares", use: shares)
        group.get("receipts/:id", use: receipt)
        group.get("privacy", use: privacy)
        group.post("privacy/erasures", use: requestErasure)
    }

    @Sendable func catalog(_ request: Request, context: AppContext) async throws -> Response {
        let list = try await routes.api(context).call(addonRoutes.catalog, .get, "/v1/addons") as? [String: Any] ?? [:]
        return routes.page(
            ConsolePage(
                "addons", title: "Add-ons", data: ["addons": list.rows("data"), "empty": list.rows("data").isEmpty]),
            request, context)
    }

    /// When a field would reach the add-on, in words: from the events that carry it and that the
    /// add-on subscribes to.
    static func when(_ fieldID: String, hooks: [EventType]) -> String {
        let carried = FieldCatalog.byID[fieldID]?.events ?? []
        let moments: [(EventType, String)] = [
            (.messageSubmit, "with every message you send"),
            (.messageStatus, "when a message's delivery status changes"),
            (.messageInbound, "with every message you receive"), (.apiRequest, "with every API request you make"),
            (.accountChanged, "when your account details change"),
        ]
        let words = moments.filter { hooks.contains($0.0) && carried.contains($0.0) }.map(\.1)
        return words.isEmpty ? "never with the events this add-on receives" : words.joined(separator: ", ")
    }

    static func categoryLabel(_ raw: String) -> String {
        switch raw {
        case "content": "Customer Content"
        case "account": "Customer Account Data"
        case "usage": "Customer Usage Data"
        default: raw
        }
    }

    @Sendable func addon(_ request: Request, context: AppContext) async throws -> Response {
        try await addonPage(request, context, errors: [], status: .ok)
    }

    private func addonPage(
        _ request: Request, _ context: AppContext, errors: [String], status: HTTPResponse.Status
    ) async throws -> Response {
        let id = try context.pathParameter("id")
        let api = routes.api(context)
        let consent =
            try await api.call(addonRoutes.consent, .get, "/v1/account/addons/\(id)", parameters: ["id": id])
            as? [String: Any] ?? [:]
        let entry = consent["addon"] as? [String: Any] ?? [:]
        let manifest = services.addons.registry.manifest(entry["id"] as? String ?? id)
        let hooks = manifest?.hooks ?? []
        let fields = (entry["fields"] as? [[String: Any]] ?? []).map { field -> [String: Any] in
            var row = field
            let fieldID = field["id"] as? String ?? ""
            row["what"] = FieldCatalog.byID[fieldID]?.description ?? fieldID
            row["categoryLabel"] = Self.categoryLabel(field["category"] as? String ?? "")
            row["when"] = Self.when(fieldID, hooks: hooks)
            row["optional"] = !(field["required"] as? Bool ?? false)
            // Checked only when granted now: consent is given by ticking, never by leaving a box ticked.
            row["checked"] = field["granted"] as? Bool ?? false
            return row
        }
        var records: [String: Any] = [:]
        if entry["enabled"] as? Bool ?? false {
            for kind in ["reports", "alerts"] {
                let handler = kind == "reports" ? addonRoutes.reports : addonRoutes.alerts
                let rows =
                    (try? await api.call(handler, .get, "/v1/account/addons/\(id)/\(kind)", parameters: ["id": id]))
                    as? [String: Any]
                records[kind] = Self.table(rows?.rows("data").suffix(20).reversed() ?? [])
            }
        }
        let changes = entry["pending_changes"] as? [[String: Any]] ?? []
        return routes.page(
            ConsolePage(
                "addon", title: entry["name"] as? String ?? id,
                data: [
                    "addon": entry, "fields": fields, "history": consent.rows("history"),
                    "hasChanges": !changes.isEmpty, "changes": changes,
                    "reports": records["reports"] ?? [:], "alerts": records["alerts"] ?? [:],
                    "hasHistory": !consent.rows("history").isEmpty,
                ], status: status, errors: errors), request, context)
    }

    /// Rows of JSON objects as a table: the union of their keys as columns.
    static func table(_ rows: [[String: Any]]) -> [String: Any] {
        let columns = Array(Set(rows.flatMap(\.keys))).sorted()
        return [
            "columns": columns, "any": !rows.isEmpty,
            "rows": rows.map { row in columns.map { row[$0].map(CSVResponse.cell) ?? "" } },
        ]
    }

    @Sendable func grant(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        let record: [String: Any]
        do {
            record =
                try await routes.api(context).call(
                    addonRoutes.grant, .put, "/v1/account/addons/\(id)", body: ["fields": form.all("fields")],
                    parameters: ["id": id]) as? [String: Any] ?? [:]
        } catch let problem as Problem where problem.status == .unprocessableContent {
            return try await addonPage(
                request, context, errors: ConsoleCustomerPages.messages(of: problem), status: problem.status)
        }
        return ConsoleRenderer.redirect("/console/receipts/\(record["receipt_id"] as? String ?? "")")
    }

    @Sendable func withdraw(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        let id = try context.pathParameter("id")
        let erase = form["erase"] == "yes"
        let withdrawn =
            try await routes.api(context).call(
                addonRoutes.withdraw, .delete, "/v1/account/addons/\(id)", query: ["erase": erase ? "true" : "false"],
                parameters: ["id": id]) as? [String: Any] ?? [:]
        return ConsoleRenderer.redirect("/console/receipts/\(withdrawn["receipt_id"] as? String ?? "")")
    }

    @Sendable func receipt(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        let receipt =
            try await routes.api(context).call(
                privacyRoutes.consentReceipt, .get, "/v1/account/consents/\(id)", parameters: ["id": id])
            as? [String: Any] ?? [:]
        let fields = receipt.rows("fields").map { field -> [String: Any] in
            var row = field
            row["what"] = FieldCatalog.byID[field["id"] as? String ?? ""]?.description ?? ""
            row["categoryLabel"] = Self.categoryLabel(field["category"] as? String ?? "")
            row["how"] = field["treatment"] as? String == "pseudonym" ? "as a pseudonym" : "as it is"
            return row
        }
        let granted = receipt["action"] as? String == "grant"
        return routes.page(
            ConsolePage(
                "receipt", title: granted ? "Consent receipt" : "Withdrawal receipt",
                data: [
                    "receipt": receipt, "fields": fields, "granted": granted,
                    "json": ConsoleCustomerPages.pretty(receipt),
                ]), request, context)
    }

    @Sendable func shares(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.pathParameter("id")
        var query: [String: String] = ["limit": "200"]
        if let cursor = request.uri.queryParameters["cursor"].map(String.init) { query["cursor"] = cursor }
        let page =
            try await routes.api(context).call(
                addonRoutes.shares, .get, "/v1/account/addons/\(id)/shares", query: query, parameters: ["id": id])
            as? [String: Any] ?? [:]
        let rows = page.rows("data").map { share -> [String: Any] in
            var row = share
            row["fieldList"] = (share["fields"] as? [String: String] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key) (\($0.value))" }.joined(separator: ", ")
            return row
        }
        let name = services.addons.registry.manifest(id)?.name ?? id
        return routes.page(
            ConsolePage(
                "shares", title: "What \(name) received about you",
                data: [
                    "shares": rows, "empty": rows.isEmpty, "addonId": id,
                    "next": (page["next_cursor"] as? String).map { "/console/addons/\(id)/shares?cursor=\($0)" } ?? "",
                ]), request, context)
    }

    @Sendable func privacy(_ request: Request, context: AppContext) async throws -> Response {
        try await privacyPage(
            request, context, errors: [], status: .ok, notice: routes.onceNotice(request, context))
    }

    private func privacyPage(
        _ request: Request, _ context: AppContext, errors: [String], status: HTTPResponse.Status, notice: String?,
        number: String = ""
    ) async throws -> Response {
        let api = routes.api(context)
        let shares = try await api.call(privacyRoutes.shares, .get, "/v1/account/shares") as? [String: Any] ?? [:]
        let erasures =
            try await api.call(privacyRoutes.listErasures, .get, "/v1/account/erasures") as? [String: Any] ?? [:]
        let addons = shares.rows("addons").map { addon -> [String: Any] in
            var row = addon
            let id = addon["addon_id"] as? String ?? ""
            row["name"] = services.addons.registry.manifest(id)?.name ?? id
            row["shortId"] = services.addons.registry.manifest(id).map(services.addons.registry.handle) ?? id
            row["fieldList"] = (addon["fields"] as? [String: Int] ?? [:]).sorted { $0.key < $1.key }
                .map { "\($0.key) × \($0.value)" }.joined(separator: ", ")
            return row
        }
        let page = ConsolePage(
            "privacy", title: "Privacy",
            data: [
                "addons": addons, "noShares": addons.isEmpty, "erasures": erasures.rows("data"),
                "noErasures": erasures.rows("data").isEmpty, "number": number,
            ], status: status, errors: errors, notice: notice)
        return routes.page(page, request, context)
    }

    @Sendable func requestErasure(_ request: Request, context: AppContext) async throws -> Response {
        let form = try await routes.form(request, context)
        do {
            _ = try await routes.api(context).call(
                privacyRoutes.requestErasure, .post, "/v1/account/erasures", body: ["number": form["number"] ?? ""])
        } catch let problem as Problem {
            return try await privacyPage(
                request, context, errors: ConsoleCustomerPages.messages(of: problem), status: problem.status,
                notice: nil, number: form["number"] ?? "")
        }
        return routes.redirect(
            "/console/privacy", context,
            showing: ["notice": "Erasure requested: every add-on that received the number is asked to delete it."])
    }
}
