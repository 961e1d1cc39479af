import Foundation
import Hummingbird

/// Sending, reading and listing messages.
struct MessageRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.post("messages", use: send)
        group.get("messages", use: list)
        group.get("messages/:id", use: show)
    }

    static let maxBodyCharacters = 1600

    @Sendable func send(_ request: Request, context: AppContext) async throws -> Response {
        let accountID = try context.accountID()
        var input = try await request.jsonInput(
            limit: services.config.maxBodyBytes,
            allowed: ["to", "from", "body", "status_callback", "status_callback_events"])
        let to = input.string("to", required: true, maxLength: 32)
        let from = input.string("from", required: true, maxLength: 32)
        let body = input.string("body", required: true, maxLength: Self.maxBodyCharacters)
        let callback = input.string("status_callback", maxLength: 2000)
        let callbackEvents = Self.callbackEvents(&input, callback: callback)
        if let to, !PhoneNumber.isE164(to) { input.fail("to", PhoneNumber.e164Hint) }
        if let from, !PhoneNumber.isE164(from), !PhoneNumber.isAlphanumericSender(from) {
            input.fail(
                "from",
                "must be an E.164 number (e.g. +37255512345) or an alphanumeric sender id of 1 to 11 letters, digits or spaces"
            )
        }
        if let callback, !Self.isCallbackURL(callback) {
            input.fail("status_callback", "must be an absolute http or https URL, e.g. https://example.com/sms/status")
        }
        if !input.errors.isEmpty { services.metrics.messagesRefused.increment() }
        try input.finish()
        if let wait = services.sendLimiter.acquire(accountID) {
            services.metrics.messagesRefused.increment()
            throw Problem(
                .tooManyRequests, "Send rate exceeded",
                detail:
                    "This account may send \(services.config.rateLimits.sendPerSecond.formatted()) messages per second; retry after \(wait) s.",
                retryAfterSeconds: wait)
        }
        let outbound = MessageStore.Outbound(
            accountID: accountID, to: to!, from: from!, body: body!, statusCallback: callback,
            statusCallbackEvents: callbackEvents)
        let submit = DomainEvent.messageSubmit(
            id: outbound.id, accountID: accountID, to: outbound.to, from: outbound.from, body: outbound.body,
            segments: SegmentCount(body: outbound.body).segments, at: services.usage.clock.now().epochMillis)
        if case .block(let addonID, let addonName, let code, let reason) = await services.addons.check(submit) {
            services.metrics.messagesRefused.increment()
            throw Problem(
                .unprocessableContent, "Blocked by \(addonName)",
                detail: "\(reason) (add-on \(addonID), reason code \(code))",
                errors: [FieldError("to", "\(addonName): \(reason)")],
                extra: ["addon_id": addonID, "reason_code": code])
        }
        do {
            let message = try await services.messages.insertOutbound(outbound)
            services.pipeline.enqueue(message)
            services.metrics.messagesAccepted.increment()
            var response = JSONResponse.make(json: MessageView(message).json, status: .created)
            response.headers[.location] = "/v1/messages/\(message.id)"
            return response
        } catch let optedOut as MessageStore.OptedOut {
            services.metrics.messagesRefused.increment()
            let since = Timestamp.string(optedOut.since) ?? "earlier"
            throw Problem(
                .unprocessableContent, "Recipient opted out",
                detail:
                    "to: \(optedOut.number) replied \(optedOut.keyword) on \(since) and must not be messaged; it can opt back in by texting START",
                errors: [
                    FieldError(
                        "to",
                        "has opted out (replied \(optedOut.keyword)); they must text START before you can message them")
                ])
        }
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
        if events.isEmpty {
            input.fail(
                "status_callback_events",
                "must name at least one status; leave out status_callback to get no callbacks at all")
        } else if callback == nil, !input.errors.contains(where: { $0.field == "status_callback" }) {
            input.fail("status_callback_events", "needs a status_callback URL to post the statuses to")
        }
        return events
    }

    static func isCallbackURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
            let host = url.host, !host.isEmpty
        else { return false }
        return true
    }

    @Sendable func show(_ request: Request, context: AppContext) async throws -> Response {
        let id = try context.parameters.require("id")
        guard let message = try await services.messages.find(accountID: try context.accountID(), id: id) else {
            throw Problem.notFound("message \(id)")
        }
        return JSONResponse.make(json: MessageView(message).json)
    }

    @Sendable func list(_ request: Request, context: AppContext) async throws -> Response {
        var filter = MessageStore.Filter()
        filter.limit = try request.limitParameter()
        filter.status = try request.query(
            "status", hint: "must be one of \(MessageStatus.allCases.map(\.rawValue).joined(separator: ", "))"
        ) {
            MessageStatus(rawValue: $0)
        }
        filter.direction = try request.query("direction", hint: "must be outbound or inbound") {
            MessageDirection(rawValue: $0)
        }
        filter.to = try request.query("to", hint: PhoneNumber.e164Hint) { PhoneNumber.isE164($0) ? $0 : nil }
        filter.from = try request.query("from", hint: "must be a number or sender id") { $0.isEmpty ? nil : $0 }
        filter.since = try request.query(
            "since", hint: "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z", Timestamp.parse)
        filter.until = try request.query(
            "until", hint: "must be an RFC 3339 time, e.g. 2026-01-31T00:00:00Z", Timestamp.parse)
        filter.beforeSeq = try request.query("cursor", hint: "must be a next_cursor value from an earlier page") {
            Cursor.decode($0).flatMap { Int64($0) }
        }
        let messages = try await services.messages.list(accountID: try context.accountID(), filter)
        let next = messages.count == filter.limit ? messages.last.map { Cursor.encode(String($0.seq)) } : nil
        return try JSONResponse.make(Page(data: messages.map(MessageView.init), nextCursor: next))
    }
}
