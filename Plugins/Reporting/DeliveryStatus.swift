/// The values of "usage.status" on a message.status event.
enum DeliveryStatus: String, Codable, Sendable {
    case queued, sent, delivered, undelivered, failed

    /// Whether the status has a counter in the daily report; "queued" only shows who was written to.
    var isCounted: Bool { self != .queued }
}

/// A (message, status) pair already counted in a day's report, as format 1 state files list it.
struct CountedStatus: Hashable, Codable, Sendable {
    let messageID: String
    let status: DeliveryStatus

    var fingerprint: UInt64 { Self.fingerprint(messageID: messageID, status: status) }

    /// FNV-1a over the message id and the status: stable across processes (Swift's own hashing is
    /// seeded per process), and a collision among a day's pairs is about as likely as 1 in 10^7.
    static func fingerprint(messageID: String, status: DeliveryStatus) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in messageID.utf8 + [0x1F] + status.rawValue.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }

    private enum CodingKeys: String, CodingKey {
        case messageID = "message_id"
        case status
    }
}
