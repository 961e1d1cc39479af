import GRDB

/// Whose data a deletion request (GDPR article 17, right to erasure) is about.
public enum ErasureSubject: Sendable, Equatable {
    /// Everything about the account.
    case account
    /// One phone number (E.164) of the account's recipients or senders.
    case number(String)
    /// One phonebook entry, deleted by the customer; add-ons hear of its number.
    case contact(id: String, number: String)

    /// The stored kind, as in `erasure_requests.subject_kind`.
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case account, number, contact
    }

    public var kind: Kind {
        switch self {
        case .account: .account
        case .number: .number
        case .contact: .contact
        }
    }

    /// The identifier the request names (the number); nil for a whole account.
    public var value: String? {
        switch self {
        case .account: nil
        case .number(let number): number
        case .contact(_, let number): number
        }
    }
}

/// Where the core hands a deletion request, inside the transaction that erases its own copy of the
/// data, so the request to every add-on that received the subject's data commits exactly when the
/// core's erasure does (both or neither).
///
/// The add-on platform implements it; it alone knows which add-ons received what, and alone touches
/// its own tables (pending events, stored records, erasure tasks).
public protocol ErasureRequestSink: Sendable {
    /// Records a deletion request about `subject` and returns its id (`er_…`). Throwing rolls the
    /// whole erasure back.
    func requestErasure(_ db: Database, accountID: String, subject: ErasureSubject, origin: String) throws -> String

    /// Records a deletion request of everything `addonID` received about the account, for that
    /// add-on alone and whether or not it is still enabled (GDPR article 17: erasure may be asked
    /// after consent is withdrawn); returns its id (`er_…`). Nothing else is touched.
    func requestErasure(_ db: Database, accountID: String, atAddon addonID: String, origin: String) throws -> String
}

/// No add-ons: requests are given an id and reach nobody.
extension NoAddons: ErasureRequestSink {
    public func requestErasure(_ db: Database, accountID: String, subject: ErasureSubject, origin: String) throws
        -> String
    {
        Identifier.make("er")
    }

    public func requestErasure(_ db: Database, accountID: String, atAddon addonID: String, origin: String) throws
        -> String
    {
        Identifier.make("er")
    }
}
