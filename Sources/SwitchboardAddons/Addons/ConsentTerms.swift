import SwitchboardCore

/// The terms a customer agreed to, as they were shown at the moment of consent: who receives the
/// data (the vendor), with which events (the hooks), and field by field its category, the purpose
/// text and the treatment. GDPR article 7(1) asks the controller to be able to show what a data
/// subject consented to; article 6(1)(a) limits the processing to those purposes. A grant is bound
/// to these terms, not to field ids: a newer manifest can narrow them at once, never widen them.
public struct ConsentTerms: Sendable, Equatable, Codable {
    /// How a field may cross to the add-on. Order matters: a later case discloses less.
    public enum Treatment: String, Sendable, Codable, Comparable {
        case clear
        case pseudonym

        public static func < (lhs: Self, rhs: Self) -> Bool { lhs == .clear && rhs == .pseudonym }
    }

    public struct Field: Sendable, Equatable, Codable {
        public var id: String
        public var category: DataCategory
        public var purpose: String
        public var treatment: Treatment
    }

    public var vendor: String
    public var hooks: [EventType]
    /// The fields granted.
    public var fields: [Field]
    /// Fields the manifest offered that the customer left out; a field in neither list is new.
    public var declined: [String]

    /// The terms of `manifest` for the granted field ids.
    public init(manifest: Manifest, granting ids: [String]) {
        let granted = Set(ids)
        vendor = manifest.vendor
        hooks = manifest.hooks
        fields = manifest.fields.filter { granted.contains($0.id) }.map {
            Field(id: $0.id, category: $0.category, purpose: $0.purpose, treatment: $0.pseudonym ? .pseudonym : .clear)
        }
        declined = manifest.fields.map(\.id).filter { !granted.contains($0) }
    }

    public func field(_ id: String) -> Field? { fields.first { $0.id == id } }

    /// The terms a grant binds the add-on to. A grant recorded before terms were kept is read as
    /// the current manifest's terms only when it was given for the same version; otherwise nothing
    /// is known of what the customer saw, and the add-on receives nothing until they consent again.
    public static func inForce(_ grant: ConsentRecord, manifest: Manifest) -> ConsentTerms? {
        if let terms = grant.terms { return terms }
        guard grant.addonVersion == manifest.version else { return nil }
        return ConsentTerms(manifest: manifest, granting: grant.fields)
    }

    /// The treatment a requested field crosses with under these terms: the narrower of the granted
    /// and the current one; nil when the field was not granted, or its purpose or category changed.
    public func treatment(for request: Manifest.Field) -> Treatment? {
        guard let granted = field(request.id), granted.purpose == request.purpose,
            granted.category == request.category
        else { return nil }
        return max(granted.treatment, request.pseudonym ? .pseudonym : .clear)
    }

    /// Whether events of this kind may cross at all: the vendor and the hook are the ones agreed to.
    public func covers(_ type: EventType, vendor current: String) -> Bool {
        vendor == current && hooks.contains(type)
    }
}

/// One difference between the terms a customer agreed to and the add-on's current manifest.
public struct TermsChange: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// The data goes to another company.
        case vendor
        /// A new event would carry granted fields.
        case hookAdded = "hook_added"
        case hookRemoved = "hook_removed"
        /// The manifest asks for a field the customer was never asked about.
        case fieldAdded = "field_added"
        case fieldRemoved = "field_removed"
        case treatment
        case purpose
        case category
    }

    public var kind: Kind
    /// The field or hook concerned; nil for the vendor.
    public var subject: String?
    public var from: String?
    public var to: String?
    /// True when the change discloses more than was agreed: it waits for the customer's consent.
    /// False for a narrowing, which applies at once.
    public var needsConsent: Bool

    /// One line for people, e.g. `usage.to: pseudonym → clear`.
    public var summary: String {
        switch kind {
        case .vendor: "vendor: \(from ?? "") → \(to ?? "")"
        case .hookAdded: "new event \(subject ?? "") would carry the granted fields"
        case .hookRemoved: "event \(subject ?? "") no longer used"
        case .fieldAdded: "\(subject ?? ""): newly requested"
        case .fieldRemoved: "\(subject ?? ""): no longer requested"
        case .treatment: "\(subject ?? ""): \(from ?? "") → \(to ?? "")"
        case .purpose: "\(subject ?? ""): purpose changed from \"\(from ?? "")\" to \"\(to ?? "")\""
        case .category: "\(subject ?? ""): category \(from ?? "") → \(to ?? "")"
        }
    }

    /// Every difference between `terms` and `manifest`, widenings (which wait for consent) first.
    public static func between(_ terms: ConsentTerms, and manifest: Manifest) -> [TermsChange] {
        var changes: [TermsChange] = []
        if terms.vendor != manifest.vendor {
            changes.append(.init(kind: .vendor, from: terms.vendor, to: manifest.vendor, needsConsent: true))
        }
        for hook in manifest.hooks where !terms.hooks.contains(hook) {
            changes.append(.init(kind: .hookAdded, subject: hook.rawValue, needsConsent: true))
        }
        for hook in terms.hooks where !manifest.hooks.contains(hook) {
            changes.append(.init(kind: .hookRemoved, subject: hook.rawValue, needsConsent: false))
        }
        for request in manifest.fields {
            guard let granted = terms.field(request.id) else {
                if !terms.declined.contains(request.id) {
                    changes.append(.init(kind: .fieldAdded, subject: request.id, needsConsent: true))
                }
                continue
            }
            if granted.category != request.category {
                changes.append(
                    .init(
                        kind: .category, subject: request.id, from: granted.category.rawValue,
                        to: request.category.rawValue, needsConsent: true))
            }
            if granted.purpose != request.purpose {
                changes.append(
                    .init(
                        kind: .purpose, subject: request.id, from: granted.purpose, to: request.purpose,
                        needsConsent: true))
            }
            let now: ConsentTerms.Treatment = request.pseudonym ? .pseudonym : .clear
            if now != granted.treatment {
                changes.append(
                    .init(
                        kind: .treatment, subject: request.id, from: granted.treatment.rawValue, to: now.rawValue,
                        needsConsent: now < granted.treatment))
            }
        }
        for granted in terms.fields where manifest.field(granted.id) == nil {
            changes.append(.init(kind: .fieldRemoved, subject: granted.id, needsConsent: false))
        }
        return changes.filter(\.needsConsent) + changes.filter { !$0.needsConsent }
    }
}
