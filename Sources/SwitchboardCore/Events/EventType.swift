/// The kinds of domain event. The raw value is the name an add-on's manifest lists under `hooks`;
/// the C ABI's code for each is in `EventType+ABI.swift`.
public enum EventType: String, Sendable, Codable, CaseIterable {
    case messageSubmit = "message.submit"
    case messageStatus = "message.status"
    case messageInbound = "message.inbound"
    case apiRequest = "api.request"
    case accountChanged = "account.changed"
}
