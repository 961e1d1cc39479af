import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Sending, reading and listing messages.
struct MessageRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.post("messages", use: send)
        group.get("messages", use: list)
        group.get("messages/:id", use: show)
    }

    @Sendable func send(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        var input = try await request.jsonInput(
            limit: services.settings.body,
            allowed: ["to", "from", "body", "status_callback", "status_callback_events"])
        let to = input.string("to", required: true, maxLength: 32)
        let from = input.string("from", required: true, maxLength: 32)
        let body = input.string("body", required: true, maxLength: SendService.maxBodyCharacters)
        let callback = input.string("status_callback", maxLength: 2000)
        let callbackEvents = Self.callbackEvents(&input, callback: callback)
        // The send rules are the service's; they are checked here too so one 422 names every field.
        for problem in SendService.problems(to: to, from: from, body: nil, statusCallback: callback) {
            input.fail(problem.field, problem.message)
        }
        if !input.errors.isEmpty { services.metrics.messagesRefused.increment() }
        try input.finish()
        // The body's rule (1 to 1600 characters) is the required string of at most that length above.
        var outbound = SendService.Request(
            accountID: accountID, to: to!, from: from!, body: body!, statusCallback: callback,
            statusCallbackEvents: callbackEvents)
        outbound.fieldsChecked = true
        let message: Message
        do {
            message = try await services.sending.send(outbound)
        } catch let refusal as SendService.Refusal {
            services.metrics.messagesRefused.increment()
            throw Problem(refusal)
        }
        services.metrics.messagesAccepted.increment()
        var response = JSONResponse.make(json: MessageView(message).json, status: .created)
        response.headers[.location] = "/v1/messages/\(message.id)"
        return response
    }

    /// `status_callback_events`: which statuses to post, every one when absent.
    static func callbackEvents(_ input: inout JSONInput, callback: String?) -> CallbackEvents {
        guard let names = input.stringArray("status_callback_events", maxCount: CallbackEvents.named.count) else {
            return .all
        }
        guard let events = CallbackEvents(names: names) else {
            let unknown = names.first { CallbackEvents(names: [$0]) == nil } ?? ""
            input.fail(
                "status_callback_events",
                "'\(unknown)' is not a status: \(CallbackEvents.hint), e.g. [\"delivered\", \"undelivered\", \"failed\"]"
            )
            return .all
        }
        if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
            // Stored as a set, so a repeated status would come back once: refused, as every
            // field is either stored as given or refused.
            input.fail(
                "status_callback_events",
                "names '\(repeated)' \(names.filter { $0 == repeated }.count) times; name each status once")
        } else if events.isEmpty {
            input.fail(
                "status_callback_events",
                "must name at least one status; leave out status_callback to get no callbacks at all")
        } else if callback == nil, !input.errors.contains(where: { $0.field == "status_callback" }) {
            input.fail("status_callback_events", "needs a status_callback URL to post the statuses to")
        }
        return events
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        try request.refuseQueryParameters()
        let id = try context.pathParameter("id")
        guard let message = try await services.messages.find(accountID: try context.accountID(), id: id) else {
            throw Problem.notFound("message \(id)")
        }
        return JSONResponse.make(json: MessageView(message).json)
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        var filter = MessageStore.Filter()
        var parameters = request.queryInput()
        filter.limit = parameters.limit()
        filter.status = parameters.value(
            "status", hint: "must be one of \(MessageStatus.allCases.map(\.rawValue).joined(separator: ", "))"
        ) {
            MessageStatus(rawValue: $0)
        }
        filter.direction = parameters.value("direction", hint: "must be outbound or inbound") {
            MessageDirection(rawValue: $0)
        }
        filter.to = parameters.value("to", hint: PhoneNumber.e164Hint) { PhoneNumber.isE164($0) ? $0 : nil }
        filter.from = parameters.value("from", hint: "must be a number or sender id") { $0.isEmpty ? nil : $0 }
        filter.since = parameters.value("since", hint: Timestamp.hint, Timestamp.parse)
        filter.until = parameters.value("until", hint: Timestamp.hint, Timestamp.parse)
        if let since = filter.since, let until = filter.until, until <= since {
            // An empty page would read as "no messages then".
            parameters.fail(
                "until",
                "must be later than since (since is \(Timestamp.string(since)), until \(Timestamp.string(until))); swap them if they are the wrong way round"
            )
        }
        filter.beforeSeq = parameters.value("cursor", hint: "must be a next_cursor value from an earlier page") {
            Cursor.sequence($0)
        }
        let accountID = try context.accountID()
        // A number that decodes but names none of the account's messages was not given by this list.
        if let before = filter.beforeSeq, !(try await services.messages.isPosition(before, accountID: accountID)) {
            parameters.fail("cursor", "must be a next_cursor value from an earlier page")
        }
        try parameters.finish()
        let messages = try await services.messages.list(accountID: accountID, filter)
        let next = messages.count == filter.limit ? messages.last.map { Cursor.encode(String($0.seq)) } : nil
        return try JSONResponse.make(Page(data: messages.map(MessageView.init), nextCursor: next))
    }
}
