import SwitchboardCore

/// The data categories of the privacy policy.
public enum DataCategory: String, Sendable, Codable, CaseIterable {
    /// Message bodies.
    case content
    /// Names, emails, company, billing details.
    case account
    /// Numbers, request logs, addresses, timestamps, routing, delivery outcomes.
    case usage
}

/// Every field id an add-on can ask for, its category and the events that carry it.
public enum FieldCatalog {
    public struct Entry: Sendable {
        public let id: String
        public let category: DataCategory
        public let description: String
        public let events: Set<EventType>
        /// Identifiers whose pseudonym is still useful for counting.
        public let pseudonymizable: Bool
    }

    static let messageEvents: Set<EventType> = [.messageSubmit, .messageStatus, .messageInbound]

    public static let entries: [Entry] = [
        Entry(
            id: "content.body", category: .content, description: "the text of a message", events: messageEvents,
            pseudonymizable: true),
        Entry(
            id: "account.name", category: .account, description: "the account holder's name", events: [.accountChanged],
            pseudonymizable: true),
        Entry(
            id: "account.email", category: .account, description: "the account's email address",
            events: [.accountChanged], pseudonymizable: true),
        Entry(
            id: "account.company", category: .account, description: "the account's company", events: [.accountChanged],
            pseudonymizable: true),
        Entry(
            id: "usage.to", category: .usage, description: "the recipient's number", events: messageEvents,
            pseudonymizable: true),
        Entry(
            id: "usage.from", category: .usage, description: "the sender's number or id", events: messageEvents,
            pseudonymizable: true),
        Entry(
            id: "usage.message_id", category: .usage, description: "the message's id", events: messageEvents,
            pseudonymizable: true),
        Entry(
            id: "usage.status", category: .usage, description: "the delivery outcome", events: [.messageStatus],
            pseudonymizable: false),
        Entry(
            id: "usage.error_code", category: .usage, description: "the carrier's error code", events: [.messageStatus],
            pseudonymizable: false),
        Entry(
            id: "usage.segments", category: .usage, description: "the number of SMS segments", events: messageEvents,
            pseudonymizable: false),
        Entry(
            id: "usage.opt_out", category: .usage, description: "whether an inbound message opted the sender out or in",
            events: [.messageInbound], pseudonymizable: false),
        Entry(
            id: "usage.timestamp", category: .usage, description: "when it happened", events: Set(EventType.allCases),
            pseudonymizable: false),
        Entry(
            id: "usage.method", category: .usage, description: "the API request's method", events: [.apiRequest],
            pseudonymizable: false),
        Entry(
            id: "usage.path", category: .usage, description: "the API request's path", events: [.apiRequest],
            pseudonymizable: false),
        Entry(
            id: "usage.status_code", category: .usage, description: "the API request's HTTP status",
            events: [.apiRequest], pseudonymizable: false),
        Entry(
            id: "usage.latency_ms", category: .usage, description: "the API request's latency", events: [.apiRequest],
            pseudonymizable: false),
        Entry(
            id: "usage.ip", category: .usage, description: "the IP address the request came from",
            events: [.apiRequest], pseudonymizable: true),
    ]

    public static let byID: [String: Entry] = Dictionary(uniqueKeysWithValues: entries.map { ($0.id, $0) })
}
