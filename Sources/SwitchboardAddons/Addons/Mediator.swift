import SwitchboardCore

/// Builds each add-on's view of an event: requested ∩ granted ∩ the account's content mode, with
/// identifiers replaced by pseudonyms where the manifest says a pseudonym is enough.
public struct Mediator: Sendable {
    let pseudonyms: Pseudonymizer

    public func view(of event: DomainEvent, for manifest: Manifest, grant: ConsentRecord, contentMode: ContentMode)
        -> AddonView
    {
        var fields: [ViewField] = []
        fields.reserveCapacity(manifest.fields.count)
        // A grant names a handful of fields: scanning them beats hashing them into a set per event.
        for request in manifest.fields where grant.fields.contains(request.id) {
            guard let value = event.fields[request.id] else { continue }
            var treatment: ViewField.Treatment = request.pseudonym ? .pseudonym : .clear
            if request.id == "content.body" {
                switch contentMode {
                case .store: break
                case .hash: treatment = .digest
                case .hide: continue
                }
            }
            switch (value, treatment) {
            case (.text(let text), .pseudonym), (.text(let text), .digest):
                let token = pseudonyms.token(text, addonID: manifest.id, accountID: event.accountID)
                fields.append(ViewField(id: request.id, value: .text(token), treatment: treatment))
            default:
                fields.append(
                    ViewField(id: request.id, value: value, treatment: treatment == .digest ? .clear : treatment))
            }
        }
        return AddonView(
            eventID: event.id, type: event.type, accountID: event.accountID, timeMs: event.timeMs, fields: fields)
    }
}
