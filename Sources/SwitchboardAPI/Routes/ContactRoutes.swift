import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// The phonebook: CRUD, search and CSV import.
struct ContactRoutes {
    let services: HostServices
    var contacts: ContactStore { services.contacts }

    func add(to group: RouterGroup<AppContext>) {
        group.post("contacts", use: create)
        group.get("contacts", use: list)
        group.post("contacts/import", use: importCSV)
        group.get("contacts/:id", use: show)
        group.put("contacts/:id", use: replace)
        group.patch("contacts/:id", use: patch)
        group.delete("contacts/:id", use: delete)
    }

    private func fields(_ request: Request, base: Contact?) async throws -> ContactFields {
        var input = try await request.jsonInput(
            limit: services.settings.body, allowed: ["number", "name", "notes", "groups"])
        let number = input.string("number", required: base == nil, maxLength: 32)
        let name = input.string("name", maxLength: 200)
        let notes = input.string("notes", maxLength: 2000)
        let groups = input.stringArray("groups", maxCount: ContactFields.maxGroups)
        try input.finish()
        let fields = ContactFields(
            number: number ?? base?.number ?? "",
            name: input.has("name") ? name : base?.name,
            notes: input.has("notes") ? notes : base?.notes,
            groups: groups ?? base?.groups ?? [])
        let problems = fields.problems
        if !problems.isEmpty { throw Problem.invalid(problems) }
        return fields
    }

    @Sendable func create(_ request: Request, context: AppContext) async throws -> Response {
        let contact = try await contacts.create(
            accountID: try context.accountID(), try await fields(request, base: nil))
        var response = try JSONResponse.make(ContactView(contact), status: .created)
        response.headers[.location] = "/v1/contacts/\(contact.id)"
        return response
    }

    private func existing(_ context: AppContext) async throws -> Contact {
        let id = try context.pathParameter("id")
        guard let contact = try await contacts.find(accountID: try context.accountID(), id: id) else {
            throw Problem.notFound("contact \(id)")
        }
        return contact
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        return try JSONResponse.make(ContactView(try await existing(context)))
    }

    @Sendable func replace(_ request: Request, context: AppContext) async throws -> Response {
        let current = try await existing(context)
        let fields = try await fields(request, base: nil)
        guard let updated = try await contacts.update(accountID: current.accountID, id: current.id, fields) else {
            throw Problem.notFound("contact \(current.id)")
        }
        return try JSONResponse.make(ContactView(updated))
    }

    @Sendable func patch(_ request: Request, context: AppContext) async throws -> Response {
        let current = try await existing(context)
        let fields = try await fields(request, base: current)
        guard let updated = try await contacts.update(accountID: current.accountID, id: current.id, fields) else {
            throw Problem.notFound("contact \(current.id)")
        }
        return try JSONResponse.make(ContactView(updated))
    }

    @Sendable func delete(_ request: Request, context: AppContext) async throws -> Response {
        let contact = try await existing(context)
        // Add-ons that saw this number hear of the deletion too, in the same transaction.
        guard
            try await services.erasures.deleteContact(
                accountID: contact.accountID, id: contact.id, origin: context.actor)
        else { throw Problem.notFound("contact \(contact.id)") }
        return JSONResponse.noContent()
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        var query = ContactStore.Query()
        var parameters = request.queryInput()
        query.limit = parameters.limit()
        query.search = parameters.text("q")
        query.group = parameters.text("group")
        query.afterID = parameters.value(
            "cursor", hint: "must be a next_cursor value from an earlier page", Cursor.identifier("con_"))
        try parameters.finish()
        let found = try await contacts.list(accountID: try context.accountID(), query)
        let next = found.count == query.limit ? found.last.map { Cursor.encode($0.id) } : nil
        return try JSONResponse.make(Page(data: found.map(ContactView.init), nextCursor: next))
    }

    struct ImportReport: Encodable {
        var imported: Int
        var rejected: Int
        var errors: [ContactCSV.RowError]
        var contacts: [ContactView]
    }

    /// `text/csv` body with a header row; good rows are stored, bad rows come back with their errors
    /// (record number, line and what is wrong), and a bad row never takes its neighbours with it.
    @Sendable func importCSV(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        let buffer = try await request.collectBody(limit: services.settings.body)
        let parsed: ContactCSV.Parsed
        let columns = ContactCSV.columns.joined(separator: ", ")
        do {
            parsed = try ContactCSV.parse(Data(buffer.readableBytesView))
        } catch .empty {
            throw Problem.invalid("body", "must be CSV with a header row, e.g. number,name,notes,groups")
        } catch .notUTF8(let byte, let line) {
            throw Problem.invalid("body", "is not UTF-8 at byte \(byte) (line \(line)); save the file as UTF-8")
        } catch .missingNumberColumn {
            throw Problem.invalid("header", "must include a number column; columns are \(columns)")
        } catch .unknownColumn(let name) {
            throw Problem.invalid("header", "column \"\(name)\" is unknown; columns are \(columns)")
        } catch .duplicateColumn(let name) {
            throw Problem.invalid("header", "column \"\(name)\" appears twice; name each column once")
        } catch .malformedHeader(let message) {
            throw Problem.invalid("header", message)
        }
        let created = parsed.contacts.isEmpty ? [] : try await contacts.create(accountID: accountID, parsed.contacts)
        let report = ImportReport(
            imported: created.count, rejected: parsed.rowErrors.count, errors: parsed.rowErrors,
            contacts: created.map(ContactView.init))
        return try JSONResponse.make(
            report, status: created.isEmpty && !parsed.rowErrors.isEmpty ? .unprocessableContent : .created)
    }
}
