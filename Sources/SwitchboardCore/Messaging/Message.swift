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
    /// When the delivery pipeline began handing the message to the carrier (ms since the epoch);
    /// nil until then. Internal bookkeeping, not shown by the API (see `DeliveryPipeline`).
    public var submitStartedAt: Int64?

    /// A new outbound message as `insertOutbound` stores it.
    package init(queued outbound: MessageStore.Outbound, seq: Int64, count: SegmentCount, now: Int64) {
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
}
