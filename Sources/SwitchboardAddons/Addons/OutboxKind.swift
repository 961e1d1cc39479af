/// What an `addon_outbox` row carries (its `kind` column).
enum OutboxKind: String, Sendable {
    /// A domain event, mediated into a view when delivered.
    case event
    /// An erasure order (`ErasureOrder`), delivered through the add-on's `erase`.
    case erase
}
