import GRDB

public enum MessageStatus: String, Sendable, Codable, CaseIterable {
    case queued, sent, delivered, undelivered, failed, received

    public var isFinal: Bool {
        switch self {
        case .delivered, .undelivered, .failed, .received: true
        case .queued, .sent: false
        }
    }
}

public enum MessageDirection: String, Sendable, Codable {
    case outbound, inbound
}

public struct Message: Sendable, Equatable, FetchableRecord {
    public var seq: Int64
    public var id: String
    public var accountID: String
    public var direction: MessageDirection
    public var to: String
    public var from: String
    public var body: String?
    public var bodyDigest: String?
    public var encoding: String
    public var segments: Int
    public var status: MessageStatus
    public var errorCode: Int?
    public var errorMessage: String?
    public var statusCallback: String?
    public var statusCallbackEvents: CallbackEvents = .all
    public var createdAt: Int64
    public var sentAt: Int64?
    public var completedAt: Int64?
    public var updatedAt: Int64

    /// A new outbound message as `insertOutbound` stores it.
    init(queued outbound: MessageStore.Outbound, seq: Int64, count: SegmentCount, now: Int64) {
        self.seq = seq
        id = outbound.id
        accountID = outbound.accountID
        direction = .outbound
        to = outbound.to
        from = outbound.from
        body = outbound.body
        encoding = count.encoding.rawValue
        segments = count.segments
        status = .queued
        statusCallback = outbound.statusCallback
        statusCallbackEvents = outbound.statusCallbackEvents
        createdAt = now
        updatedAt = now
    }

    /// The columns `init(columnsOf:)` reads, in its order.
    static let columns = """
        seq, id, account_id, direction, to_number, from_number, body, body_digest, encoding, segments, status, \
        error_code, error_message, status_callback, created_at, sent_at, completed_at, updated_at, \
        status_callback_events
        """

    public init(row: Row) throws {
        seq = row["seq"]
        id = row["id"]
        accountID = row["account_id"]
        direction = MessageDirection(rawValue: row["direction"]) ?? .outbound
        to = row["to_number"]
        from = row["from_number"]
        body = row["body"]
        bodyDigest = row["body_digest"]
        encoding = row["encoding"]
        segments = row["segments"]
        status = MessageStatus(rawValue: row["status"]) ?? .failed
        errorCode = row["error_code"]
        errorMessage = row["error_message"]
        statusCallback = row["status_callback"]
        statusCallbackEvents = CallbackEvents(storedValue: row["status_callback_events"])
        createdAt = row["created_at"]
        sentAt = row["sent_at"]
        completedAt = row["completed_at"]
        updatedAt = row["updated_at"]
    }
}
