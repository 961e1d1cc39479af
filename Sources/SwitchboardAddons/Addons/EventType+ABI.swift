import PluginAPI
import SwitchboardCore

extension EventType {
    /// The event's `SB_EVENT_*` code in the C ABI (`switchboard_addon.h`), the one place it is decided.
    var abiCode: UInt32 {
        switch self {
        case .messageSubmit: UInt32(SB_EVENT_MESSAGE_SUBMIT)
        case .messageStatus: UInt32(SB_EVENT_MESSAGE_STATUS)
        case .messageInbound: UInt32(SB_EVENT_MESSAGE_INBOUND)
        case .apiRequest: UInt32(SB_EVENT_API_REQUEST)
        case .accountChanged: UInt32(SB_EVENT_ACCOUNT_CHANGED)
        }
    }
}
