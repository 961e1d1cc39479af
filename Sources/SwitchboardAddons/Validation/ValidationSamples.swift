import AddonABI
import RunnerProtocol
import SwitchboardCore

/// The events the validator sends: each hook of the manifest with a chosen subset of its fields,
/// each field in the shape the daemon sends it (`CoreEvents`: the same value types) and with the
/// treatment the manifest asks for (a pseudonym token where it asks for one, as the mediator makes
/// it). The values are made up; no customer data is involved.
struct ValidationSamples {
    let manifest: Manifest
    let pseudonyms: Pseudonymizer

    /// The data subject the erasure rule follows: an account and one recipient number in it.
    static let accountID = "acct_validator_subject"
    static let otherAccountID = "acct_validator_other"
    static let number = "+37255500123"

    /// The fields the manifest asks for that `type` carries.
    func fields(of type: EventType) -> [Manifest.Field] {
        manifest.fields.filter { FieldCatalog.byID[$0.id]?.events.contains(type) ?? false }
    }

    /// The asynchronous hooks (all but the pre-send check).
    var asyncHooks: [EventType] { manifest.hooks.filter { $0 != .messageSubmit } }

    /// An event of `type` for `accountID` carrying the fields in `granted` (field ids).
    func event(
        _ type: EventType, granted: Set<String>, index: Int, accountID: String = Self.accountID,
        number: String = Self.number
    ) -> WireEvent {
        var wire: [WireField] = []
        for field in fields(of: type) where granted.contains(field.id) {
            let value = Self.value(of: field.id, type: type, index: index, number: number)
            switch value {
            case .int(let int):
                wire.append(WireField(id: field.id, kind: ABIFieldKind.int.code, bytes: [], intValue: int))
            case .text(let text) where field.pseudonym:
                let token = pseudonyms.token(text, addonID: manifest.id, accountID: accountID)
                wire.append(
                    WireField(id: field.id, kind: ABIFieldKind.pseudonym.code, bytes: Array(token.utf8), intValue: 0))
            case .text(let text):
                wire.append(WireField(id: field.id, kind: ABIFieldKind.text.code, bytes: Array(text.utf8), intValue: 0))
            }
        }
        return WireEvent(
            type: type.abiCode, typeName: type.rawValue, eventID: "evt_validator_\(type.rawValue)_\(index)",
            accountID: accountID, timeMs: 1_767_225_600_000 + Int64(index) * 1000, fields: wire)
    }

    /// Every granted field: the required ones and all optional ones.
    var allFields: Set<String> { Set(manifest.fields.map(\.id)) }
    var requiredFields: Set<String> { Set(manifest.fields.filter(\.required).map(\.id)) }
    var optionalFields: [String] { manifest.fields.filter { !$0.required }.map(\.id) }

    /// The grants a customer can make: the required fields plus each subset of the optional ones
    /// (every subset up to 6 optional fields; beyond, none, all, each one alone and all but each one).
    var grants: [Set<String>] {
        let optional = optionalFields
        if optional.count <= 6 {
            return (0..<(1 << optional.count)).map { mask in
                requiredFields.union(optional.indices.filter { mask & (1 << $0) != 0 }.map { optional[$0] })
            }
        }
        var grants: [Set<String>] = [requiredFields, allFields]
        for field in optional {
            grants.append(requiredFields.union([field]))
            grants.append(allFields.subtracting([field]))
        }
        return grants
    }

    /// The value the core would put in `field` (`CoreEvents`), made up.
    static func value(of field: String, type: EventType, index: Int, number: String) -> FieldValue {
        switch field {
        case "content.body": .text("Your code is \(100_000 + index % 900_000). Reply STOP to opt out.")
        case "account.name": .text("Vera Validator")
        case "account.email": .text("vera.validator@example.com")
        case "account.company": .text("Validator Test Ltd")
        case "usage.to": .text(type == .messageInbound ? "+37255500999" : number)
        case "usage.from": .text(type == .messageInbound ? number : "ACME")
        case "usage.message_id": .text("msg_validator_\(index)")
        case "usage.status": .text(["queued", "sent", "delivered", "undelivered", "failed"][index % 5])
        case "usage.error_code": .int(index % 5 >= 3 ? 34 : 0)
        case "usage.segments": .int(1 + Int64(index % 3))
        case "usage.opt_out": .text(index % 2 == 0 ? "out" : "in")
        case "usage.timestamp": .int(1_767_225_600_000 + Int64(index) * 1000)
        case "usage.method": .text("POST")
        case "usage.path": .text("/v1/messages")
        case "usage.status_code": .int(index % 7 == 0 ? 429 : 202)
        case "usage.latency_ms": .int(Int64(3 + index % 40))
        case "usage.ip": .text("192.0.2.\(1 + index % 200)")
        default: .text("value \(index)")
        }
    }
}
