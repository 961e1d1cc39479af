import GRDB

/// A value carried by a domain event field.
public enum FieldValue: Sendable, Equatable, Codable {
    case text(String)
    case int(Int64)
}

/// Something that happened in the core, with every field the privacy policy knows about it. Add-ons
/// never see this: the mediator turns it into one view per add-on with only what that add-on may see.
public struct DomainEvent: Sendable, Equatable, Codable {
    public var id: String
    public var type: EventType
    public var accountID: String
    public var timeMs: Int64
    public var fields: [String: FieldValue]

    public init(
        id: String = Identifier.make("evt"), type: EventType, accountID: String, timeMs: Int64,
        fields: [String: FieldValue]
    ) {
        self.id = id
        self.type = type
        self.accountID = accountID
        self.timeMs = timeMs
        self.fields = fields
    }
}

/// Where the core publishes events, inside the transaction that made them true, so an event is
/// recorded exactly when its cause commits.
public protocol DomainEventSink: Sendable {
    /// Queues the event for the add-ons that receive `type` for this account; `event` is built only
    /// if there are any (most status changes go to none).
    func publish(_ db: Database, _ type: EventType, accountID: String, _ event: () -> DomainEvent) throws
    /// The account's `content_mode` changes in this transaction (add-ons must see the new one at once).
    func contentModeChanges(_ db: Database, accountID: String)
}

extension DomainEventSink {
    public func contentModeChanges(_ db: Database, accountID: String) {}
}

/// The synchronous pre-send check: add-ons may block an outbound message before it is accepted.
public protocol PreSendCheck: Sendable {
    func check(_ event: DomainEvent) async -> PreSendVerdict
    /// Whether any add-on would check this account's outbound messages; when none does, the send
    /// path skips the work done only for them.
    func wantsCheck(accountID: String) -> Bool
}

extension PreSendCheck {
    public func wantsCheck(accountID: String) -> Bool { true }
}

public enum PreSendVerdict: Sendable, Equatable {
    case allow
    case block(addonID: String, addonName: String, code: String, reason: String)
}

/// No add-ons: events go nowhere and every message is allowed.
public struct NoAddons: DomainEventSink, PreSendCheck {
    public init() {}
    public func publish(_ db: Database, _ type: EventType, accountID: String, _ event: () -> DomainEvent) throws {}
    public func check(_ event: DomainEvent) async -> PreSendVerdict { .allow }
    public func wantsCheck(accountID: String) -> Bool { false }
}
