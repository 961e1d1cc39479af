import SwitchboardCore

/// The consent use cases (GDPR articles 6(1)(a) and 7): granting an add-on access to named fields or
/// whole categories, and withdrawing it, optionally with erasure of what it already received. Every
/// front door (HTTP, the consent file, the console) goes through these rules.
public struct ConsentService: Sendable {
    let platform: AddonPlatform

    public init(platform: AddonPlatform) {
        self.platform = platform
    }

    /// Why a consent change was refused.
    public enum Refusal: Error, Sendable, Equatable {
        /// No add-on with this id is available.
        case unknownAddon(String)
        /// The grant names fields or categories the manifest does not request, or leaves out a required one.
        case invalid([FieldError])
        /// There is no grant in force to withdraw.
        case notEnabled(addonName: String)
    }

    /// A withdrawal, and the erasure request sent to the add-on when one was asked for.
    public struct Withdrawal: Sendable {
        public var record: ConsentRecord
        public var erasure: ErasureStatus?
    }

    /// The manifest of an available add-on.
    /// - Throws: `Refusal.unknownAddon`.
    public func manifest(_ addonID: String) throws(Refusal) -> Manifest {
        guard let manifest = platform.registry.manifest(addonID) else { throw .unknownAddon(addonID) }
        return manifest
    }

    /// Grants the add-on the named fields and categories under its current manifest, and returns the
    /// consent receipt. `actor` says who consented (`api:KEY`, `config:FILE`).
    /// - Throws: `Refusal` for an unknown add-on or a grant the manifest does not allow; storage errors.
    public func grant(accountID: String, addonID: String, fields: [String], categories: [String], actor: String)
        async throws -> ConsentRecord
    {
        let manifest = try manifest(addonID)
        switch GrantRequest.resolve(manifest: manifest, fields: fields, categories: categories) {
        case .success(let request):
            return try await platform.consents.grant(
                accountID: accountID, manifest: manifest, fields: request.fields, actor: actor)
        case .failure(let problems):
            throw Refusal.invalid(problems.problems)
        }
    }

    /// The manifest of an add-on the account has a grant in force for.
    /// - Throws: `Refusal.unknownAddon`, `Refusal.notEnabled`.
    public func enabledManifest(accountID: String, addonID: String) throws(Refusal) -> Manifest {
        let manifest = try manifest(addonID)
        guard platform.consents.current(accountID: accountID, addonID: manifest.id) != nil else {
            throw .notEnabled(addonName: manifest.name)
        }
        return manifest
    }

    /// Withdraws the grant in force, effective at once (also for events already queued); with
    /// `erase`, the add-on is also asked to delete what it received about the account (GDPR article 17).
    /// - Throws: `Refusal.unknownAddon`, `Refusal.notEnabled`; storage errors.
    public func withdraw(accountID: String, addonID: String, actor: String, erase: Bool) async throws -> Withdrawal {
        let manifest = try enabledManifest(accountID: accountID, addonID: addonID)
        let record = try await platform.consents.withdraw(accountID: accountID, manifest: manifest, actor: actor)
        guard erase else { return Withdrawal(record: record, erasure: nil) }
        let erasure = try await platform.requestErasure(
            accountID: accountID, subject: .account, origin: actor, onlyAddon: manifest.id)
        return Withdrawal(record: record, erasure: erasure)
    }
}
