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
final class ReceiptMatcher: Sendable {
    private struct State {
        /// Normalised SMSC id → our message id, for recent submissions.
        var recent: [String: String] = [:]
        var order: [String] = []
        var orderStart = 0
        /// Receipts for ids not (yet) known, by normalised id.
        var early: [String: (receipt: DeliveryReceipt, at: ContinuousClock.Instant)] = [:]
    }

    private let state = Mutex(State())
    let format: SMPPConnectorSettings.ReceiptIDFormat
    /// Recent acceptances kept in memory, and receipts kept before their acceptance, at most.
    let capacity: Int

    init(format: SMPPConnectorSettings.ReceiptIDFormat, capacity: Int = 200_000) {
        self.format = format
        self.capacity = capacity
    }

    /// The form ids are compared in: uppercased, leading zeros dropped.
    static func normalise(_ id: String) -> String {
        let upper = id.trimmingCharacters(in: .whitespaces).uppercased()
        let trimmed = upper.drop { $0 == "0" }
        return trimmed.isEmpty ? (upper.isEmpty ? "" : "0") : String(trimmed)
    }

    /// The normalised ids a receipt's id may stand for, most likely first.
    func candidates(_ receiptID: String) -> [String] {
        var result: [String] = []
        let trimmed = receiptID.trimmingCharacters(in: .whitespaces)
        if format == .auto || format == .same { result.append(Self.normalise(trimmed)) }
        if format == .auto || format == .decimal, let number = UInt64(trimmed, radix: 10) {
            result.append(Self.normalise(String(number, radix: 16)))
        }
        if format == .auto || format == .hex, let number = UInt64(trimmed, radix: 16) {
            result.append(Self.normalise(String(number, radix: 10)))
        }
        var seen = Set<String>()
        return result.filter { seen.insert($0).inserted }
    }

    /// Records that the SMSC accepted our `messageID` as `carrierIDs`, and returns receipts that
    /// arrived for them before.
    func accepted(_ messageID: String, as carrierIDs: [String]) -> [DeliveryReceipt] {
        state.withLock { state in
            var overtaken: [DeliveryReceipt] = []
            for carrierID in carrierIDs {
                let key = Self.normalise(carrierID)
                if let early = state.early.removeValue(forKey: key) {
                    overtaken.append(early.receipt)
                    continue
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
    func recentMessage(for receiptID: String) -> (messageID: String, key: String)? {
        let keys = candidates(receiptID)
        return state.withLock { state in
            for key in keys {
                if let id = state.recent.removeValue(forKey: key) { return (id, key) }
            }
            return nil
        }
    }

    /// Keeps a receipt whose message is not known yet (its `submit_sm_resp` is still to come), or,
    /// when the acceptance was recorded meanwhile (the response and the receipt are handled
    /// concurrently), returns its message instead: checked under the same lock as `accepted`, so a
    /// receipt is never kept after its acceptance looked for it. Receipts older than `keep` are
    /// dropped first when full.
    func keepEarly(_ receipt: DeliveryReceipt, keep: Duration = .seconds(600)) -> String? {
        let now = ContinuousClock.now
        let keys = candidates(receipt.messageID)
        return state.withLock { state -> String? in
            for key in keys {
                if let id = state.recent.removeValue(forKey: key) { return id }
            }
            if state.early.count >= capacity {
                state.early = state.early.filter { now - $0.value.at < keep }
            }
            guard state.early.count < capacity else { return nil }
            for key in keys { state.early[key] = (receipt, now) }
            return nil
        }
    }

    var earlyCount: Int { state.withLock { $0.early.count } }
}
