import PluginAPI

/// The event types of the C ABI: the `SB_EVENT_*` codes and the type names that `sb_event.type_name`
/// carries and manifests subscribe to (`switchboard_addon.h`, section "Events").
///
/// This is the one table of codes and names; the daemon's `EventType.abiCode`, the runner's hook
/// checks and the descriptor validator all read it.
public enum ABIEventType: CaseIterable, Sendable {
    /// `SB_EVENT_MESSAGE_SUBMIT`, "message.submit": an outbound message before acceptance (sync).
    case messageSubmit
    /// `SB_EVENT_MESSAGE_STATUS`, "message.status": an outbound message changed status.
    case messageStatus
    /// `SB_EVENT_MESSAGE_INBOUND`, "message.inbound": a message arrived from a handset.
    case messageInbound
    /// `SB_EVENT_API_REQUEST`, "api.request": the account made an API request.
    case apiRequest
    /// `SB_EVENT_ACCOUNT_CHANGED`, "account.changed": the account's profile changed.
    case accountChanged

    /// The `SB_EVENT_*` code, as `sb_event.type` carries it.
    public var code: UInt32 {
        switch self {
        case .messageSubmit: UInt32(SB_EVENT_MESSAGE_SUBMIT)
        case .messageStatus: UInt32(SB_EVENT_MESSAGE_STATUS)
        case .messageInbound: UInt32(SB_EVENT_MESSAGE_INBOUND)
        case .apiRequest: UInt32(SB_EVENT_API_REQUEST)
        case .accountChanged: UInt32(SB_EVENT_ACCOUNT_CHANGED)
        }
    }

    /// The type name, as `sb_event.type_name` carries it and a manifest's `hooks` spell it.
    public var name: String {
        switch self {
        case .messageSubmit: "message.submit"
        case .messageStatus: "message.status"
        case .messageInbound: "message.inbound"
        case .apiRequest: "api.request"
        case .accountChanged: "account.changed"
        }
    }

    /// Whether the event goes to the descriptor's `check` (the synchronous pre-send hook) rather than
    /// to `on_event` (header, `sb_addon_descriptor.check` and `.on_event`).
    public var isPreSendCheck: Bool { self == .messageSubmit }

    /// The type with this `SB_EVENT_*` code; nil for a code this host does not know.
    public init?(code: UInt32) {
        guard let match = Self.allCases.first(where: { $0.code == code }) else { return nil }
        self = match
    }

    /// The type with this name; nil for a name that is not an event.
    public init?(name: String) {
        guard let match = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = match
    }
}
