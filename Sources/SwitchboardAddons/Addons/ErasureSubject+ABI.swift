import AddonABI
import SwitchboardCore

extension ErasureSubject.Kind {
    /// The subject kind in the C ABI's table (`ABISubjectKind`, from `switchboard_addon.h`'s
    /// `SB_SUBJECT_*`).
    package var abiSubjectKind: ABISubjectKind {
        switch self {
        case .account: .account
        case .number: .number
        case .contact: .contact
        }
    }

    /// The `SB_SUBJECT_*` code, as `sb_subject.kind` carries it.
    package var abiKind: UInt32 { abiSubjectKind.code }
}
