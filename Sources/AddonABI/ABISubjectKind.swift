import PluginAPI

/// The kinds of an erasure subject in the C ABI: the `SB_SUBJECT_*` codes that `sb_subject.kind`
/// carries (`switchboard_addon.h`, section "Erasure subjects").
public enum ABISubjectKind: CaseIterable, Sendable {
    /// `SB_SUBJECT_ACCOUNT`: everything held about `account_id`; `value` and `pseudonym` are NULL.
    case account
    /// `SB_SUBJECT_NUMBER`: everything held about one phone number within `account_id`.
    case number
    /// `SB_SUBJECT_CONTACT`: one phonebook contact (its number) within `account_id`.
    case contact

    /// The `SB_SUBJECT_*` code.
    public var code: UInt32 {
        switch self {
        case .account: UInt32(SB_SUBJECT_ACCOUNT)
        case .number: UInt32(SB_SUBJECT_NUMBER)
        case .contact: UInt32(SB_SUBJECT_CONTACT)
        }
    }

    /// The kind with this `SB_SUBJECT_*` code; nil for a code this host does not know.
    public init?(code: UInt32) {
        guard let match = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }
}
