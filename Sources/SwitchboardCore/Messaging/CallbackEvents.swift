/// Which status changes of a message are posted to its `status_callback` (`status_callback_events`
/// in the API). A sender that only acts on the outcome asks for the final statuses and gets one
/// request per message instead of two, as Kannel's `dlr-mask` allows.
public struct CallbackEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int

    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    public static let sent = CallbackEvents(rawValue: 1 << 0)
    public static let delivered = CallbackEvents(rawValue: 1 << 1)
    public static let undelivered = CallbackEvents(rawValue: 1 << 2)
    public static let failed = CallbackEvents(rawValue: 1 << 3)
    /// Every status an outbound message can move to; the default.
    public static let all: CallbackEvents = [.sent, .delivered, .undelivered, .failed]

    /// The API's names, in the order a message can reach them.
    package static let named: [(name: String, event: CallbackEvents)] = [
        ("sent", .sent), ("delivered", .delivered), ("undelivered", .undelivered), ("failed", .failed),
    ]

    package static let hint = "each entry must be one of sent, delivered, undelivered or failed"

    /// Nil when a name is unknown.
    package init?(names: [String]) {
        var events: CallbackEvents = []
        for name in names {
            guard let match = Self.named.first(where: { $0.name == name }) else { return nil }
            events.insert(match.event)
        }
        self = events
    }

    package var names: [String] {
        Self.named.filter { contains($0.event) }.map(\.name)
    }

    /// How the column stores it: NULL for every status, so rows from before the column read as all.
    var storedValue: Int? {
        self == .all ? nil : rawValue
    }

    init(storedValue: Int64?) {
        self = storedValue.map { CallbackEvents(rawValue: Int($0)) } ?? .all
    }

    func includes(_ status: MessageStatus) -> Bool {
        switch status {
        case .sent: contains(.sent)
        case .delivered: contains(.delivered)
        case .undelivered: contains(.undelivered)
        case .failed: contains(.failed)
        case .queued, .received: false
        }
    }
}
