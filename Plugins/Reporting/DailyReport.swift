import AddonKit
import Foundation

/// One account's delivery counters for one UTC day, and what keeps them exact when the host
/// delivers an event more than once.
struct DailyReport: Codable, Equatable, Sendable {
    private(set) var sent = 0
    private(set) var delivered = 0
    private(set) var undelivered = 0
    private(set) var failed = 0
    /// Pseudonyms of the day's recipients: enough to count them, useless for contacting anyone.
    private(set) var recipients: Set<String> = []
    /// Every (message, status) already counted, as 64-bit fingerprints (`CountedStatus`): a day
    /// with a million messages keeps 16 MB of them rather than a set of strings several times
    /// that. Kept per day rather than per event id so that a status reported twice under
    /// different event ids still counts once.
    private(set) var counted: Set<UInt64> = []
    /// SMS segments of the messages counted in `sent`, from updates that carried "usage.segments"
    /// (an optional field): 0 when the customer did not grant it.
    private(set) var segments = 0
    /// Carrier error code → how many undelivered or failed messages gave it, from updates that
    /// carried "usage.error_code" (an optional field): empty when the customer did not grant it.
    private(set) var errorCodes: [Int64: Int] = [:]

    /// delivered / (delivered + undelivered + failed), 0 before any final outcome.
    var deliveryRate: Double {
        let outcomes = delivered + undelivered + failed
        return outcomes == 0 ? 0 : (Double(delivered) / Double(outcomes)).rounded(toPlaces: 4)
    }

    /// Adds one status update; returns whether the report changed.
    ///
    /// "sent" counts only messages seen in the "sent" status, not inferred from a later "delivered":
    /// the two may fall on different days, and inferring would count the message on both.
    mutating func record(_ update: StatusUpdate) -> Bool {
        var changed = false
        if let recipient = update.recipient {
            changed = recipients.insert(recipient).inserted
        }
        guard let status = update.status, status.isCounted,
            counted.insert(CountedStatus.fingerprint(messageID: update.messageID, status: status)).inserted
        else { return changed }
        switch status {
        case .sent:
            sent += 1
            // Added with "sent" and its dedupe: every message that went out passes through "sent"
            // exactly once, so its segments count once, on the day it left. Added on a later
            // status they would count again when that falls on another day, and a message refused
            // at submission (only ever "failed") used none.
            if let count = update.segments, Self.segmentCounts.contains(count) { segments += Int(count) }
        case .delivered: delivered += 1
        case .undelivered:
            undelivered += 1
            if let code = update.errorCode { errorCodes[code, default: 0] += 1 }
        case .failed:
            failed += 1
            if let code = update.errorCode { errorCodes[code, default: 0] += 1 }
        case .queued: break
        }
        return true
    }

    /// A concatenated SMS has at most 255 parts (its header counts them in one octet); any other
    /// value is not a segment count, and adding it could overflow the sum.
    private static let segmentCounts: ClosedRange<Int64> = 1...255

    /// Drops a recipient's pseudonym (an erasure request); returns whether it was there.
    mutating func forget(recipient: String) -> Bool {
        recipients.remove(recipient) != nil
    }

    private enum CodingKeys: String, CodingKey {
        case sent, delivered, undelivered, failed, recipients, counted, segments
        case errorCodes = "error_codes"
    }

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        sent = try container.decode(Int.self, forKey: .sent)
        delivered = try container.decode(Int.self, forKey: .delivered)
        undelivered = try container.decode(Int.self, forKey: .undelivered)
        failed = try container.decode(Int.self, forKey: .failed)
        recipients = try container.decode(Set<String>.self, forKey: .recipients)
        // Format 2 packs the fingerprints into one base64 string; format 1 lists the pairs themselves.
        if let packed = try? container.decode(String.self, forKey: .counted) {
            guard let bytes = Data(base64Encoded: packed), bytes.count % 8 == 0 else {
                throw DecodingError.dataCorruptedError(
                    forKey: .counted, in: container, debugDescription: "not a packed list of 64-bit fingerprints")
            }
            counted = Set(
                stride(from: 0, to: bytes.count, by: 8).map { offset in
                    bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + 8)].reduce(UInt64(0)) {
                        $0 << 8 | UInt64($1)
                    }
                })
        } else {
            counted = Set(try container.decode([CountedStatus].self, forKey: .counted).map(\.fingerprint))
        }
        // Absent from files written before the optional fields existed, and whenever they are 0 or empty.
        segments = try container.decodeIfPresent(Int.self, forKey: .segments) ?? 0
        for (code, count) in try container.decodeIfPresent([String: Int].self, forKey: .errorCodes) ?? [:] {
            guard let code = Int64(code) else {
                throw DecodingError.dataCorruptedError(
                    forKey: .errorCodes, in: container, debugDescription: "error code \(code) is not an integer")
            }
            errorCodes[code] = count
        }
    }

    /// The fingerprints as one base64 string of big-endian 8-byte values: a million pairs make a
    /// 10 MB string, where a JSON array of numbers made the encoder build a node per pair and
    /// took the daemon's peak memory past 250 MB.
    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(sent, forKey: .sent)
        try container.encode(delivered, forKey: .delivered)
        try container.encode(undelivered, forKey: .undelivered)
        try container.encode(failed, forKey: .failed)
        try container.encode(recipients, forKey: .recipients)
        var bytes = Data(capacity: counted.count * 8)
        for fingerprint in counted {
            withUnsafeBytes(of: fingerprint.bigEndian) { bytes.append(contentsOf: $0) }
        }
        try container.encode(bytes.base64EncodedString(), forKey: .counted)
        // Written only when there is something to keep, so the state of an account that did not
        // grant the optional fields stays what the previous version wrote, and that version can
        // still read a newer file (it ignores keys it does not know).
        if segments > 0 { try container.encode(segments, forKey: .segments) }
        if !errorCodes.isEmpty {
            try container.encode(
                Dictionary(uniqueKeysWithValues: errorCodes.map { (String($0.key), $0.value) }), forKey: .errorCodes)
        }
    }

    /// The row the host stores and shows to the customer. `segments` and `error_codes` appear only
    /// when there is something in them, so an account that did not grant the optional fields gets
    /// the same row as before they existed.
    func row(date: String) -> String {
        var row =
            "{\"date\":\(jsonString(date)),\"sent\":\(sent),\"delivered\":\(delivered),"
            + "\"undelivered\":\(undelivered),\"failed\":\(failed),"
            + "\"delivery_rate\":\(jsonNumber(deliveryRate)),\"unique_recipients\":\(recipients.count)"
        if segments > 0 { row += ",\"segments\":\(segments)" }
        if !errorCodes.isEmpty {
            // Keys are strings in JSON; in numeric order, so that the same tally always makes the same row.
            row +=
                ",\"error_codes\":{"
                + errorCodes.sorted { $0.key < $1.key }.map { "\"\($0.key)\":\($0.value)" }.joined(separator: ",") + "}"
        }
        return row + "}"
    }
}
