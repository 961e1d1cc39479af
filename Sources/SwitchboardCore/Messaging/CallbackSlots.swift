/// Which status callbacks may be in flight at once: at most `perReceiver` to one receiver
/// (`host:port`), `perAccount` for one account, and `total` in all.
///
/// Rationale: callbacks used to go out in batches of 64 that waited for their slowest member, so one
/// receiver that accepts connections and never answers held every other tenant's callbacks for
/// the whole timeout (measured: from 0.07 s to 15–22 s). Now a stalled receiver holds only its own
/// slots, and an account with many stalled receivers only the account's; everything else proceeds.
///
/// A pure state machine (no I/O, no clock): the deliverer claims a slot before an attempt and
/// releases it once the attempt's outcome is stored.
package struct CallbackSlots: Sendable {
    package struct Limits: Sendable, Equatable {
        package var perReceiver: Int
        package var perAccount: Int
        package var total: Int

        package init(perReceiver: Int, perAccount: Int, total: Int) {
            precondition(perReceiver > 0 && perAccount > 0 && total > 0, "every callback limit must be at least 1")
            self.perReceiver = perReceiver
            self.perAccount = perAccount
            self.total = total
        }
    }

    package let limits: Limits
    private var inFlight: [Int64: (receiver: String, account: String)] = [:]
    private var byReceiver: [String: Int] = [:]
    private var byAccount: [String: Int] = [:]

    package init(limits: Limits) {
        self.limits = limits
    }

    /// Takes a slot for callback `id`; false (and nothing taken) when its receiver, its account or
    /// the whole deliverer is at its limit, or the callback is already in flight.
    package mutating func claim(id: Int64, receiver: String, account: String) -> Bool {
        guard inFlight[id] == nil, inFlight.count < limits.total,
            byReceiver[receiver, default: 0] < limits.perReceiver, byAccount[account, default: 0] < limits.perAccount
        else { return false }
        inFlight[id] = (receiver, account)
        byReceiver[receiver, default: 0] += 1
        byAccount[account, default: 0] += 1
        return true
    }

    /// Gives back callback `id`'s slot; nothing when it holds none.
    package mutating func release(id: Int64) {
        guard let held = inFlight.removeValue(forKey: id) else { return }
        byReceiver[held.receiver]! -= 1
        if byReceiver[held.receiver] == 0 { byReceiver[held.receiver] = nil }
        byAccount[held.account]! -= 1
        if byAccount[held.account] == 0 { byAccount[held.account] = nil }
    }

    /// No slot is free at all.
    package var isFull: Bool { inFlight.count >= limits.total }
    package var count: Int { inFlight.count }
    package var inFlightIDs: [Int64] { inFlight.keys.sorted() }
    /// Receivers at their limit, whose due callbacks wait without being looked at.
    package var fullReceivers: [String] { byReceiver.filter { $0.value >= limits.perReceiver }.keys.sorted() }
    /// Accounts at their limit.
    package var fullAccounts: [String] { byAccount.filter { $0.value >= limits.perAccount }.keys.sorted() }
    package func inFlight(toReceiver receiver: String) -> Int { byReceiver[receiver, default: 0] }
    /// Some receiver or account is at its limit.
    package var hasFullReceiverOrAccount: Bool {
        byReceiver.values.contains { $0 >= limits.perReceiver } || byAccount.values.contains { $0 >= limits.perAccount }
    }
}
