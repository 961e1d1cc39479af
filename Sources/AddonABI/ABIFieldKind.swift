import PluginAPI

/// The kinds of an event field in the C ABI: the `SB_FIELD_*` codes that `sb_field.kind` carries
/// (`switchboard_addon.h`, section "Events").
public enum ABIFieldKind: CaseIterable, Sendable {
    /// `SB_FIELD_TEXT`: UTF-8 text in `bytes`/`length`, not NUL-terminated.
    case text
    /// `SB_FIELD_INT`: a signed integer in `int_value`; `bytes` is NULL.
    case int
    /// `SB_FIELD_PSEUDONYM`: a keyed token standing for the real value, stable per (add-on, account).
    case pseudonym
    /// `SB_FIELD_DIGEST`: a keyed digest of content (account `content_mode` "hash").
    case digest

    /// The `SB_FIELD_*` code.
    public var code: UInt32 {
        switch self {
        case .text: UInt32(SB_FIELD_TEXT)
        case .int: UInt32(SB_FIELD_INT)
        case .pseudonym: UInt32(SB_FIELD_PSEUDONYM)
        case .digest: UInt32(SB_FIELD_DIGEST)
        }
    }

    /// The kind with this `SB_FIELD_*` code; nil for a code this host does not know.
    public init?(code: UInt32) {
        guard let match = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }
}
