import AddonABI
import SwitchboardCore

extension EventType {
    /// The event type in the C ABI's table (`ABIEventType`, from `switchboard_addon.h`'s
    /// `SB_EVENT_*`), where its code and name are decided.
    package var abiType: ABIEventType {
        switch self {
        case .messageSubmit: .messageSubmit
        case .messageStatus: .messageStatus
        case .messageInbound: .messageInbound
        case .apiRequest: .apiRequest
        case .accountChanged: .accountChanged
        }
    }

    /// The event's `SB_EVENT_*` code, as `sb_event.type` carries it.
    package var abiCode: UInt32 { abiType.code }
}
