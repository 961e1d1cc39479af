import Foundation
import SMPP
import Synchronization

/// Matches delivery receipts to the messages they are about, by the SMSC's message id.
///
/// Ids are compared normalised (letter case and leading zeros aside), and, as `format` says, also
/// as the same number in the other base: an SMSC may write `submit_sm_resp` ids in hex and receipt
/// ids in decimal, or pad them with zeros. Recent acceptances are kept in memory; older ones are
/// found in `carrier_submissions` through the pipeline. A receipt that arrives before its
/// `submit_sm_resp` (the SMSC answered out of order) is kept until that response comes.
///
/// With `auto`, the first receipt that finds its message tells how this SMSC writes ids (as in
/// its responses, or converted), and from then on only that reading is tried: trying every
/// reading of every receipt would let a receipt sent twice for `10` (its message already
/// settled) finalise the message the SMSC accepted as `16`, 10 in hex. A receipt kept early is
/// kept under its own id only, for the same reason.
package final class ReceiptMatcher: Sendable {
    private struct State {
        /// Normalised SMSC id → our message id, for recent submissions.
        var recent: [String: String] = [:]
        var order: [String] = []
        var orderStart = 0
        /// Receipts for ids not (yet) known, by normalised id, until they expire.
        var early: [String: (receipt: DeliveryReceipt, expires: ContinuousClock.Instant)] = [:]
        /// With `auto`: how this SMSC's receipts were seen to write ids, once one matched.
        var learned: Learned = .unknown
    }

    /// How receipts write ids, as learned by `auto`.
    enum Learned: Equatable { case unknown, same, converted }

    private let state = Mutex(State())
    let format: SMPPConnectorSettings.ReceiptIDFormat
    /// Recent acceptances kept in memory, and receipts kept before their acceptance, at most.
    let capacity: Int

    package init(format: SMPPConnectorSettings.ReceiptIDFormat, capacity: Int = 200_000) {
        self.format = format
        self.capacity = capacity
    }

    /// The form ids are compared in: uppercased, leading zeros dropped.
    static func normalise(_ id: String) -> String {
        let upper = id.trimmingCharacters(in: .whitespaces).uppercased()
        let trimmed = upper.drop { $0 == "0" }
        return trimmed.isEmpty ? (upper.isEmpty ? "" : "0") : String(trimmed)
    }

    /// The normalised ids a receipt's id may stand for, most likely first: its own first, unless
    /// `auto` learned that this SMSC converts.
    package func candidates(_ receiptID: String) -> [String] {
        let learned = format == .auto ? state.withLock { $0.learned } : .unknown
        let trimmed = receiptID.trimmingCharacters(in: .whitespaces)
        let same = Self.normalise(trimmed)
        var converted: [String] = []
        if format == .auto || format == .decimal, let number = UInt64(trimmed, radix: 10) {
            converted.append(Self.normalise(String(number, radix: 16)))
        }
        if format == .auto || format == .hex, let number = UInt64(trimmed, radix: 16) {
            converted.append(Self.normalise(String(number, radix: 10)))
        }
        let result: [String]
        switch (format, learned) {
        case (.same, _), (.auto, .same): result = [same]
        case (.auto, .converted): result = converted + [same]
        case (.auto, .unknown): result = [same] + converted
        default: result = converted
        }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    /// Notes, with `auto`, that the receipt `receiptID` found its message under `key`.
    package func matched(_ receiptID: String, under key: String) {
        guard format == .auto else { return }
        let same = Self.normalise(receiptID) == key
        state.withLock { state in
            if state.learned == .unknown { state.learned = same ? .same : .converted }
        }
    }

    /// The ids under which a receipt kept early for `carrierID` was filed: its own, and once
    /// `auto` learned that this SMSC converts, the same number in the other bases.
    private func earlyKeys(_ carrierID: String, learned: Learned) -> [String] {
        let key = Self.normalise(carrierID)
        let convertsHere = format == .hex || format == .decimal || (format == .auto && learned == .converted)
        guard convertsHere else { return [key] }
        var keys: [String] = []
        // The receipt wrote in the other base: decimal of a hex id, hex of a decimal one.
        if format != .hex, let number = UInt64(carrierID, radix: 16) { keys.append(String(number, radix: 10)) }
        if format != .decimal, let number = UInt64(carrierID, radix: 10) {
            keys.append(Self.normalise(String(number, radix: 16)))
        }
        return [key] + keys.map(Self.normalise)
    }

    /// Records that the SMSC accepted our `messageID` as `carrierIDs`, and returns receipts that
    /// arrived for them before.
    package func accepted(_ messageID: String, as carrierIDs: [String]) -> [DeliveryReceipt] {
        let now = ContinuousClock.now
        return state.withLock { state in
            var overtaken: [DeliveryReceipt] = []
            for carrierID in carrierIDs {
                let key = Self.normalise(carrierID)
                if let earlyKey = earlyKeys(carrierID, learned: state.learned).first(where: { state.early[$0] != nil }),
                    let early = state.early.removeValue(forKey: earlyKey)
                {
                    // One kept past its time is about some earlier use of the id: never this message.
                    if early.expires > now {
                        overtaken.append(early.receipt)
                        continue
                    }
                }
                state.recent[key] = messageID
                state.order.append(key)
            }
            // Forget the oldest beyond capacity; they are still found in the database.
            while state.order.count - state.orderStart > capacity {
                state.recent.removeValue(forKey: state.order[state.orderStart])
                state.orderStart += 1
            }
            if state.orderStart > capacity {
                state.order.removeFirst(state.orderStart)
                state.orderStart = 0
            }
            return overtaken
        }
    }

    /// Our message id for a receipt's id, from memory; nil when not there.
    package func recentMessage(for receiptID: String) -> (messageID: String, key: String)? {
        let keys = candidates(receiptID)
        let found = state.withLock { state -> (messageID: String, key: String)? in
            for key in keys {
                if let id = state.recent.removeValue(forKey: key) { return (id, key) }
            }
            return nil
        }
        if let found { matched(receiptID, under: found.key) }
        return found
    }

    /// Keeps a receipt whose message is not known yet (its `submit_sm_resp` is still to come), or,
    /// when the acceptance was recorded meanwhile (the response and the receipt are handled
    /// concurrently), returns its message instead: checked under the same lock as `accepted`, so a
    /// receipt is never kept after its acceptance looked for it. Receipts older than `keep` are
    /// dropped first when full. A receipt kept again under the same id replaces the one kept.
    package func keepEarly(_ receipt: DeliveryReceipt, keep: Duration = .seconds(600)) -> String? {
        let now = ContinuousClock.now
        let keys = candidates(receipt.messageID)
        return state.withLock { state -> String? in
            for key in keys {
                if let id = state.recent.removeValue(forKey: key) { return id }
            }
            if state.early.count >= capacity {
                state.early = state.early.filter { $0.value.expires > now }
            }
            guard state.early.count < capacity else { return nil }
            state.early[Self.normalise(receipt.messageID)] = (receipt, now + keep)
            return nil
        }
    }

    var earlyCount: Int { state.withLock { $0.early.count } }
}
