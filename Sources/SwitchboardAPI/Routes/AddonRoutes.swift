import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// The customer's side of add-ons: the catalog, consent, and what each add-on received and produced.
struct AddonRoutes {
    let services: HostServices
    var addons: AddonPlatform { services.addons }

    func add(to group: RouterGroup<AppContext>) {
        group.get("addons", use: catalog)
        group.get("addons/:id", use: catalogEntry)
        group.get("account/addons/:id", use: consent)
        group.put("account/addons/:id", use: grant)
        group.delete("account/addons/:id", use: withdraw)
        group.get("account/addons/:id/shares", use: shares)
        group.get("account/addons/:id/reports", use: reports)
        group.get("account/addons/:id/alerts", use: alerts)
    }

    struct FieldView: Encodable {
        var id: String
        var category: String
        var purpose: String
        var required: Bool
        var pseudonym: Bool
        var granted: Bool
        /// How the field crosses now (`clear` or `pseudonym`), nil when it does not cross: the
        /// narrower of what was agreed and what the manifest asks for.
        var sharedAs: String?
    }

    /// One difference between the terms agreed to and the current manifest.
    struct ChangeView: Encodable {
        var kind: String
        var field: String?
        var from: String?
        var to: String?
        /// `after_consent` for a widening (nothing of it crosses until the customer consents again),
        /// `now` for a narrowing.
        var applies: String
        var summary: String

        init(_ change: TermsChange) {
            kind = change.kind.rawValue
            field = change.subject
            from = change.from
            to = change.to
            applies = change.needsConsent ? "after_consent" : "now"
            summary = change.summary
        }
    }

    struct CatalogEntry: Encodable {
        var id: String
        var shortId: String
        var name: String
        var vendor: String
        var version: String
        var description: String
        var hooks: [String]
        var fields: [FieldView]
        var enabled: Bool
        var consentReceiptId: String?
        /// The manifest version the grant in force was given for.
        var consentVersion: String?
        /// The current manifest differs from the terms agreed to in a way that discloses more: what
        /// is new carries nothing until the customer consents again.
        var needsReconsent: Bool
        /// Field by field, how the current manifest differs from the terms agreed to.
        var pendingChanges: [ChangeView]
    }

    func entry(_ manifest: Manifest, accountID: String) -> CatalogEntry {
        let grant = addons.consents.current(accountID: accountID, addonID: manifest.id)
        let terms = grant.flatMap { ConsentTerms.inForce($0, manifest: manifest) }
        let changes = terms.map { TermsChange.between($0, and: manifest) } ?? []
        return CatalogEntry(
            id: manifest.id, shortId: addons.registry.handle(of: manifest), name: manifest.name,
            vendor: manifest.vendor,
            version: manifest.version,
            description: manifest.description, hooks: manifest.hooks.map(\.rawValue),
            fields: manifest.fields.map { field in
                let sharedAs = terms.flatMap { $0.vendor == manifest.vendor ? $0.treatment(for: field) : nil }
                return FieldView(
                    id: field.id, category: field.category.rawValue, purpose: field.purpose, required: field.required,
                    pseudonym: field.pseudonym, granted: terms?.field(field.id) != nil, sharedAs: sharedAs?.rawValue)
            },
            enabled: grant != nil, consentReceiptId: grant?.id, consentVersion: grant?.addonVersion,
            // A grant whose terms are unknown (given for another version before terms were kept)
            // carries nothing until the customer consents again.
            needsReconsent: grant != nil && (terms == nil || changes.contains(where: \.needsConsent)),
            pendingChanges: changes.map(ChangeView.init))
    }

    func manifest(_ context: AppContext) throws -> Manifest {
        let id = try context.pathParameter("id")
        guard let manifest = addons.registry.manifest(id) else {
            throw Problem.noSuchAddon(id, among: addons.registry.manifests)
        }
        return manifest
    }

    @Sendable func catalog(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let accountID = try context.accountID()
        return try JSONResponse.make(
            Page(data: addons.registry.manifests.map { entry($0, accountID: accountID) }, nextCursor: nil))
    }

    @Sendable func catalogEntry(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        return try JSONResponse.make(entry(try manifest(context), accountID: try context.accountID()))
    }

    /// A consent receipt (after the Kantara Consent Receipt): who consented to what, for whom, when,
    /// on the terms shown at the time (vendor, events, and per field the purpose and treatment).
    struct Receipt: Encodable {
        var receiptId: String
        var action: String
        var timestamp: String?
        var principal: String
        var controller: String
        var thirdParty: String
        var addonId: String
        var addonName: String
        var addonVersion: String
        var hooks: [String]
        var fields: [ReceiptField]
        var categories: [String]
        var actor: String
    }

    struct ReceiptField: Encodable {
        var id: String
        var category: String
        var purpose: String
        var treatment: String
    }

    func receipt(_ record: ConsentRecord, manifest: Manifest) -> Receipt {
        // The terms recorded with the grant; a record from before terms were kept shows the fields
        // it names with the current manifest's words.
        let terms = record.terms ?? ConsentTerms(manifest: manifest, granting: record.fields)
        let fields = terms.fields.map {
            ReceiptField(
                id: $0.id, category: $0.category.rawValue, purpose: $0.purpose, treatment: $0.treatment.rawValue)
        }
        return Receipt(
            receiptId: record.id, action: record.action.rawValue, timestamp: Timestamp.string(record.at),
            principal: record.accountID, controller: "Switchboard", thirdParty: terms.vendor, addonId: manifest.id,
            addonName: manifest.name, addonVersion: record.addonVersion,
            hooks: record.action == .grant ? terms.hooks.map(\.rawValue) : [],
            fields: record.action == .grant ? fields : [],
            categories: record.action == .grant ? Array(Set(fields.map(\.category))).sorted() : [],
            actor: record.actor)
    }

    /// A withdrawal receipt, with the erasure request when `?erase=true` asked the add-on to delete too.
    struct Withdrawn: Encodable {
        var receipt: Receipt
        var erasure: ErasureView?

        func encode(to encoder: any Encoder) throws {
            try receipt.encode(to: encoder)
            var container = encoder.container(keyedBy: Keys.self)
            try container.encodeIfPresent(erasure, forKey: .erasure)
        }

        enum Keys: String, CodingKey { case erasure }
    }

    struct ConsentView: Encodable {
        var addon: CatalogEntry
        var history: [Receipt]
    }

    @Sendable func consent(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let manifest = try manifest(context)
        let accountID = try context.accountID()
        let history = try await addons.consents.history(accountID: accountID, addonID: manifest.id)
        return try JSONResponse.make(
            ConsentView(
                addon: entry(manifest, accountID: accountID), history: history.map { receipt($0, manifest: manifest) }))
    }

    @Sendable func grant(_ request: Request, context: AppContext) async throws -> Response {
        let manifest = try manifest(context)
        let accountID = try context.accountID()
        var input = try await request.jsonInput(
            limit: services.settings.body, allowed: ["fields", "categories"])
        let fields = input.stringArray("fields") ?? []
        let categories = input.stringArray("categories") ?? []
        try input.finish()
        let record: ConsentRecord
        do {
            record = try await ConsentService(platform: addons).grant(
                accountID: accountID, addonID: manifest.id, fields: fields, categories: categories,
                actor: context.actor)
        } catch let refusal as ConsentService.Refusal {
            throw Problem(refusal, manifests: addons.registry.manifests)
        }
        return try JSONResponse.make(receipt(record, manifest: manifest), status: .created)
    }

    @Sendable func withdraw(_ request: Request, context: AppContext) async throws -> Response {
        let manifest = try manifest(context)
        let accountID = try context.accountID()
        let consent = ConsentService(platform: addons)
        let withdrawal: ConsentService.Withdrawal
        do {
            // "Not enabled" is answered before the query is read, as documented.
            _ = try consent.enabledManifest(accountID: accountID, addonID: manifest.id)
            let eraseToo =
                try request.query("erase", hint: "must be true or false") { ["true": true, "false": false][$0] }
                ?? false
            withdrawal = try await consent.withdraw(
                accountID: accountID, addonID: manifest.id, actor: context.actor,
                erase: eraseToo)
        } catch let refusal as ConsentService.Refusal {
            throw Problem(refusal, manifests: addons.registry.manifests)
        }
        return try JSONResponse.make(
            Withdrawn(
                receipt: receipt(withdrawal.record, manifest: manifest),
                erasure: withdrawal.erasure.map(ErasureView.init)
            ))
    }

    @Sendable func shares(_ request: Request, context: AppContext) async throws -> Response {
        let manifest = try manifest(context)
        var query = Ledger.Query()
        query.addonID = manifest.id
        query.accountID = try context.accountID()
        var parameters = request.queryInput()
        query.limit = parameters.limit(default: 100, max: 1000)
        query.afterSeq = parameters.value("cursor", hint: "must be a next_cursor value from an earlier page") {
            Cursor.sequence($0)
        }
        if let after = query.afterSeq,
            !(try await services.addons.writer.pool.read { [query] db in try Ledger.isPosition(db, after, of: query) })
        {
            parameters.fail("cursor", "must be a next_cursor value from an earlier page")
        }
        try parameters.finish()
        let entries = try await services.addons.writer.pool.read { [query] db in try Ledger.query(db, query) }
        let next = entries.count == query.limit ? entries.last.map { Cursor.encode(String($0.seq)) } : nil
        return try JSONResponse.make(Page(data: ShareView.views(of: entries), nextCursor: next))
    }

    @Sendable func reports(_ request: Request, context: AppContext) async throws -> Response {
        try await records(kind: "report", request: request, context: context)
    }

    @Sendable func alerts(_ request: Request, context: AppContext) async throws -> Response {
        try await records(kind: "alert", request: request, context: context)
    }

    private func records(kind: String, request: Request, context: AppContext) async throws -> Response {
        let manifest = try manifest(context)
        var parameters = request.queryInput()
        let format = parameters.value("format", hint: "must be json or csv") {
            ["json", "csv"].contains($0) ? $0 : nil
        }
        try parameters.finish()
        let rows = try await addons.records.records(
            accountID: try context.accountID(), addonID: manifest.id, kind: kind)
        let objects = rows.compactMap { try? JSONSerialization.jsonObject(with: Data($0.json.utf8)) as? [String: Any] }
        if format == "csv" {
            return CSVResponse.make(objects, filename: "\(manifest.shortID)-\(kind)s.csv")
        }
        let data = try JSONSerialization.data(withJSONObject: ["data": objects], options: [.sortedKeys])
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

struct ShareView: Encodable, Sendable {
    var seq: Int64
    var at: String?
    var addonId: String
    var addonVersion: String
    var accountId: String
    var eventId: String
    var eventType: String
    var fields: [String: String]
    var consentReceiptId: String?
    var hash: String

    /// One view per event the record covers: a record of a batch lists as many shares as it has
    /// events, each with the record's `seq` and `hash`, so answers read the same per event whether
    /// the events were recorded one a row or batched.
    static func views(of entries: [LedgerEntry]) -> [ShareView] {
        entries.flatMap { entry in
            let record = ShareView(entry)
            return entry.eventIDs.map { eventID in
                var view = record
                view.eventId = eventID
                return view
            }
        }
    }

    init(_ entry: LedgerEntry) {
        seq = entry.seq
        at = Timestamp.string(entry.at)
        addonId = entry.addonID
        addonVersion = entry.addonVersion
        accountId = entry.accountID
        eventId = entry.eventID
        eventType = entry.eventType
        fields = Dictionary(
            uniqueKeysWithValues: entry.fields.map {
                let parts = $0.split(separator: ":", maxSplits: 1)
                return (String(parts[0]), parts.count > 1 ? String(parts[1]) : "clear")
            })
        consentReceiptId = entry.consentID
        hash = entry.hash
    }
}

/// CSV output with a header row, RFC 4180 quoting.
enum CSVResponse {
    /// - Parameter columns: the columns when the rows have a fixed set (then an empty answer still
    ///   has its header line); nil for the union of the rows' keys, sorted.
    static func make(_ rows: [[String: Any]], columns: [String]? = nil, filename: String) -> Response {
        let text = self.text(rows, columns: columns ?? Array(Set(rows.flatMap(\.keys))).sorted(), header: true)
        var headers = HTTPFields()
        headers[.contentType] = "text/csv; charset=utf-8"
        headers[.contentDisposition] = "attachment; filename=\"\(filename)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// `rows` as CSV lines (RFC 4180: CRLF, quoted where a cell needs it), `columns` in that
    /// order, after a header line of the column names when `header`.
    static func text(_ rows: [[String: Any]], columns: [String], header: Bool) -> String {
        var text = header ? columns.map(quote).joined(separator: ",") + "\r\n" : ""
        for row in rows {
            text += columns.map { column in row[column].map { quote(cell($0)) } ?? "" }.joined(separator: ",") + "\r\n"
        }
        return text
    }

    /// A JSON value as one cell: text and numbers as they are, objects and lists as compact JSON
    /// with sorted keys (a tally such as `{"30008":4}` reads the same in every export).
    static func cell(_ value: Any) -> String {
        guard value is [String: Any] || value is [Any],
            let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys])
        else { return "\(value)" }
        return String(decoding: data, as: UTF8.self)
    }

    static func quote(_ value: String) -> String {
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
