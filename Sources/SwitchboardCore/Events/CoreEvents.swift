/// The domain events the core publishes, with every field the privacy policy names for them.
extension DomainEvent {
    static func messageFields(_ message: Message) -> [String: FieldValue] {
        // Sized for the fields the message events add, so none of them grows it again.
        var fields = [String: FieldValue](minimumCapacity: 8)
        fields["usage.message_id"] = .text(message.id)
        fields["usage.to"] = .text(message.to)
        fields["usage.from"] = .text(message.from)
        fields["usage.segments"] = .int(Int64(message.segments))
        fields["usage.timestamp"] = .int(message.updatedAt)
        if let body = message.body { fields["content.body"] = .text(body) }
        return fields
    }

    /// An outbound message about to be accepted (the pre-send check).
    static func messageSubmit(
        id: String, accountID: String, to: String, from: String, body: String, segments: Int, at: Int64
    )
        -> DomainEvent
    {
        DomainEvent(
            type: .messageSubmit, accountID: accountID, timeMs: at,
            fields: [
                "usage.message_id": .text(id), "usage.to": .text(to), "usage.from": .text(from),
                "content.body": .text(body),
                "usage.segments": .int(Int64(segments)), "usage.timestamp": .int(at),
            ])
    }

    static func messageStatus(_ message: Message) -> DomainEvent {
        var fields = messageFields(message)
        fields["usage.status"] = .text(message.status.rawValue)
        if let code = message.errorCode { fields["usage.error_code"] = .int(Int64(code)) }
        return DomainEvent(
            type: .messageStatus, accountID: message.accountID, timeMs: message.updatedAt, fields: fields)
    }

    static func messageInbound(_ message: Message, optOut: OptOutKeyword.Action?) -> DomainEvent {
        var fields = messageFields(message)
        if let optOut { fields["usage.opt_out"] = .text(optOut.rawValue) }
        return DomainEvent(
            type: .messageInbound, accountID: message.accountID, timeMs: message.createdAt, fields: fields)
    }

    static func apiRequest(_ record: UsageStore.RequestRecord, accountID: String) -> DomainEvent {
        var fields: [String: FieldValue] = [
            "usage.method": .text(record.method), "usage.path": .text(record.path),
            "usage.status_code": .int(Int64(record.status)), "usage.latency_ms": .int(record.latencyMicros / 1000),
            "usage.timestamp": .int(record.at.epochMillis),
        ]
        if let ip = record.ip { fields["usage.ip"] = .text(ip) }
        return DomainEvent(type: .apiRequest, accountID: accountID, timeMs: record.at.epochMillis, fields: fields)
    }

    static func accountChanged(_ account: Account) -> DomainEvent {
        var fields: [String: FieldValue] = ["usage.timestamp": .int(account.updatedAt)]
        if let name = account.name { fields["account.name"] = .text(name) }
        if let email = account.email { fields["account.email"] = .text(email) }
        if let company = account.company { fields["account.company"] = .text(company) }
        return DomainEvent(type: .accountChanged, accountID: account.id, timeMs: account.updatedAt, fields: fields)
    }
}
