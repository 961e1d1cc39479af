/// What Reporting takes from one message.status event.
struct StatusUpdate: Codable, Sendable {
    /// The carrier status word; nil when it is not one Reporting knows, so newer host statuses
    /// still record the recipient without guessing at a counter.
    var status: DeliveryStatus?
    var messageID: String
    /// The recipient's pseudonym ("usage.to"), never the number itself.
    var recipient: String?
    /// When the status happened, milliseconds since 1970 UTC; decides the report's day.
    var timestampMs: Int64
    /// The message's SMS segments ("usage.segments"); nil unless the customer granted the field.
    /// Optional in the journal too, so lines written before the field existed still decode.
    var segments: Int64? = nil
    /// The carrier's error code ("usage.error_code"); nil unless granted and the carrier gave one.
    var errorCode: Int64? = nil
}
