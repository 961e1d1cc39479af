import Synchronization

/// The customer binds open now, by account: how many an account holds (for its limit) and which
/// can take `deliver_sm` (receivers and transceivers).
final class BindRegistry: Sendable {
    struct Bind: Sendable {
        let id: Int
        let accountID: String
        let systemID: String
        let canReceive: Bool
        /// Whether the ESME reads optional parameters (it bound with interface_version 0x34 or
        /// later); an SMPP 3.3 one is sent none.
        let optionalParameters: Bool
        let connection: SMPPConnection
    }

    private struct State {
        var binds: [Int: Bind] = [:]
        var nextID = 1
        var turn = 0
    }

    private let state = Mutex(State())

    /// Registers a bind unless the account holds `limit` already; returns its id.
    func add(
        accountID: String, systemID: String, canReceive: Bool, optionalParameters: Bool = true,
        connection: SMPPConnection, limit: Int
    ) -> Int? {
        state.withLock { state in
            guard state.binds.values.filter({ $0.accountID == accountID }).count < limit else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.binds[id] = Bind(
                id: id, accountID: accountID, systemID: systemID, canReceive: canReceive,
                optionalParameters: optionalParameters, connection: connection)
            return id
        }
    }

    func remove(_ id: Int) {
        state.withLock { _ = $0.binds.removeValue(forKey: id) }
    }

    /// Whether bind `id` is still registered (a revoked credential's bind is removed before its
    /// `unbind` goes out, so that nothing more is accepted on it meanwhile).
    func contains(_ id: Int) -> Bool { state.withLock { $0.binds[id] != nil } }

    func all() -> [Bind] { state.withLock { Array($0.binds.values) } }

    func receivingAccounts() -> [String] {
        state.withLock { Array(Set($0.binds.values.filter(\.canReceive).map(\.accountID))) }
    }

    func receiverCount(for accountID: String) -> Int {
        state.withLock { $0.binds.values.filter { $0.canReceive && $0.accountID == accountID }.count }
    }

    /// The ids of the account's receiver binds.
    func receiverIDs(for accountID: String) -> Set<Int> {
        state.withLock { Set($0.binds.values.filter { $0.canReceive && $0.accountID == accountID }.map(\.id)) }
    }

    /// One of the account's receiver binds, in turn.
    func receiver(for accountID: String) -> Bind? {
        state.withLock { state in
            let receivers = state.binds.values.filter { $0.canReceive && $0.accountID == accountID }
                .sorted { $0.id < $1.id }
            guard !receivers.isEmpty else { return nil }
            state.turn &+= 1
            return receivers[state.turn % receivers.count]
        }
    }

    func unbindAll() async {
        for bind in all() { await bind.connection.unbind() }
    }
}
