import AddonABI
import SwitchboardCore

/// One field of an add-on's view, and how it was treated on the way out.
public struct ViewField: Sendable, Equatable {
    public enum Treatment: String, Sendable, Codable {
        case clear
        case pseudonym
        case digest
    }

    public var id: String
    public var value: FieldValue
    public var treatment: Treatment

    package init(id: String, value: FieldValue, treatment: Treatment) {
        self.id = id
        self.value = value
        self.treatment = treatment
    }
}

/// The event as one add-on may see it.
public struct AddonView: Sendable, Equatable {
    public var eventID: String
    public var type: EventType
    public var accountID: String
    public var timeMs: Int64
    public var fields: [ViewField]

    package init(eventID: String, type: EventType, accountID: String, timeMs: Int64, fields: [ViewField]) {
        self.eventID = eventID
        self.type = type
        self.accountID = accountID
        self.timeMs = timeMs
        self.fields = fields
    }
}

extension ViewField {
    /// The field's kind in the C ABI (`SB_FIELD_*`): integers are INT; text is TEXT in the clear,
    /// PSEUDONYM or DIGEST as the mediator treated it.
    var abiKind: ABIFieldKind {
        switch (value, treatment) {
        case (.int, _): .int
        case (.text, .clear): .text
        case (.text, .pseudonym): .pseudonym
        case (.text, .digest): .digest
        }
    }
}
