import SwitchboardAddons
import SwitchboardCore

/// The JSON shapes the API returns. Keys are converted to snake_case by `JSONResponse`.
struct AccountView: Encodable {
    var id: String
    var name: String?
    var email: String?
    var company: String?
    var contentMode: String
    var status: String
    var legalHold: Bool
    var webhookSigningSecret: String?
    var inboundWebhook: String?
    var createdAt: String?
    var lastLoginAt: String?
    var lastLoginIp: String?
    /// Present while a deletion asked for under a legal hold waits for the hold to be lifted.
    var erasureRequestedAt: String?

    init(_ account: Account, showSecret: Bool = true) {
        id = account.id
        name = account.name
        email = account.email
        company = account.company
        contentMode = account.contentMode.rawValue
        status = account.status.rawValue
        legalHold = account.legalHoldReason != nil
        webhookSigningSecret = showSecret ? account.webhookSecret : nil
        inboundWebhook = account.inboundWebhook
        createdAt = Timestamp.string(account.createdAt)
        lastLoginAt = Timestamp.string(account.lastLoginAt)
        lastLoginIp = account.lastLoginIP
        erasureRequestedAt = account.status == .active ? Timestamp.string(account.erasureRequestedAt) : nil
    }
}

struct APIKeyView: Encodable {
    var id: String
    var name: String
    var prefix: String
    var createdAt: String?
    var lastUsedAt: String?
    var revokedAt: String?
    var secret: String?

    init(_ key: APIKeyInfo, secret: String? = nil) {
        id = key.id
        name = key.name
        prefix = key.prefix
        createdAt = Timestamp.string(key.createdAt)
        lastUsedAt = Timestamp.string(key.lastUsedAt)
        revokedAt = Timestamp.string(key.revokedAt)
        self.secret = secret
    }
}

package struct MessageView: Encodable {
    var id: String
    var direction: String
    var to: String
    var from: String
    var body: String?
    var bodyDigest: String?
    var encoding: String
    var segments: Int
    var status: String
    var errorCode: Int?
    var errorMessage: String?
    var statusCallback: String?
    /// Shown with the callback URL it belongs to.
    var statusCallbackEvents: [String]?
    var createdAt: String?
    var sentAt: String?
    var completedAt: String?
    var updatedAt: String?

    package init(_ message: Message) {
        id = message.id
        direction = message.direction.rawValue
        to = message.to
        from = message.from
        body = message.body
        bodyDigest = message.bodyDigest
        encoding = message.encoding
        segments = message.segments
        status = message.status.rawValue
        errorCode = message.errorCode
        errorMessage = message.errorMessage
        statusCallback = message.statusCallback
        statusCallbackEvents = message.statusCallback == nil ? nil : message.statusCallbackEvents.names
        createdAt = Timestamp.string(message.createdAt)
        sentAt = Timestamp.string(message.sentAt)
        completedAt = Timestamp.string(message.completedAt)
        updatedAt = Timestamp.string(message.updatedAt)
    }

    /// The same bytes `JSONResponse` would encode, written directly (keys in sorted order).
    package var json: [UInt8] {
        var writer = JSONWriter()
        writer.field("body", body)
        writer.field("body_digest", bodyDigest)
        writer.field("completed_at", completedAt)
        writer.field("created_at", createdAt)
        writer.field("direction", direction)
        writer.field("encoding", encoding)
        writer.field("error_code", errorCode)
        writer.field("error_message", errorMessage)
        writer.field("from", from)
        writer.field("id", id)
        writer.field("segments", segments)
        writer.field("sent_at", sentAt)
        writer.field("status", status)
        writer.field("status_callback", statusCallback)
        writer.field("status_callback_events", statusCallbackEvents)
        writer.field("to", to)
        writer.field("updated_at", updatedAt)
        return writer.finish()
    }
}

struct ContactView: Encodable {
    var id: String
    var number: String
    var name: String?
    var notes: String?
    var groups: [String]
    var createdAt: String?
    var updatedAt: String?

    init(_ contact: Contact) {
        id = contact.id
        number = contact.number
        name = contact.name
        notes = contact.notes
        groups = contact.groups
        createdAt = Timestamp.string(contact.createdAt)
        updatedAt = Timestamp.string(contact.updatedAt)
    }
}

struct Page<Item: Encodable>: Encodable {
    var data: [Item]
    var nextCursor: String?
}
