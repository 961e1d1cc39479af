import SwitchboardCore

/// Builds each add-on's view of an event: requested ∩ granted ∩ the account's content mode, each
/// field at the narrower of the treatment the customer agreed to and the one the manifest asks for
/// now. A changed vendor, a hook or a purpose the customer never saw carries nothing.
public struct Mediator: Sendable {
    let pseudonyms: Pseudonymizer

    public func view(of event: DomainEvent, for manifest: Manifest, grant: ConsentRecord, contentMode: ContentMode)
        -> AddonView
    {
        var fields: [ViewField] = []
        if let terms = ConsentTerms.inForce(grant, manifest: manifest),
            terms.covers(event.type, vendor: manifest.vendor)
        {
            fields.reserveCapacity(manifest.fields.count)
            for request in manifest.fields {
                guard let value = event.fields[request.id], let agreed = terms.treatment(for: request) else {
                    continue
                }
                var treatment: ViewField.Treatment = agreed == .pseudonym ? .pseudonym : .clear
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
                case (.int, .pseudonym):
                    // Only text identifiers have pseudonyms; a number the customer agreed to see as a
                    // pseudonym is not sent in clear instead.
                    continue
                default:
                    fields.append(
                        ViewField(id: request.id, value: value, treatment: treatment == .digest ? .clear : treatment))
                }
            }
        }
        return AddonView(
            eventID: event.id, type: event.type, accountID: event.accountID, timeMs: event.timeMs, fields: fields)
    }
}
