/// The values of "usage.status" on a message.status event.
enum DeliveryStatus: String, Codable, Sendable {
    case queued, sent, delivered, undelivered, failed

    /// Whether the status has a counter in the daily report; "queued" only shows who was written to.
    var isCounted: Bool { self != .queued }
}

/// A (message, status) pair already counted in a day's report.
struct CountedStatus: Hashable, Codable, Sendable {
    let messageID: String
    let status: DeliveryStatus

    private enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
        case status
    }
}
