import Foundation
import SwitchboardCore

/// The declarative way to enable add-ons: a JSON file listing, per account, the add-ons it enables
/// and what it grants. Applying it is idempotent: a grant that already matches is left alone.
///
/// ```json
/// {"accounts": [{"account_id": "acc_…", "addons": [
///     {"id": "com.switchboard.reporting", "categories": ["usage"]},
///     {"id": "com.switchboard.compliance-scrub", "fields": ["usage.to", "usage.from", "usage.opt_out"]},
///     {"id": "com.switchboard.monitoring", "enabled": false}]}]}
/// ```
public enum ConsentFile {
    public struct Change: Sendable, Equatable {
        public var accountID: String
        public var addonID: String
        public var receiptID: String
        public var action: String
    }

    public static func apply(file: String, accounts: AccountStore, addons: AddonPlatform, actor: String) async throws
        -> [Change]
    {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ConfigurationError(
                source: file, problems: [FieldError("file", FileReadProblem.reason(file, error))])
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse([UInt8](data))
        } catch {
            throw ConfigurationError(
                source: file, problems: [FieldError("file", "is not valid JSON at byte \(error.offset)")])
        }
        var reader = ConfigReader(value, path: "")
        reader.allow(["accounts"])
        guard case .array(let entries)? = reader.value("accounts") else {
            throw ConfigurationError(
                source: file, problems: [FieldError("accounts", "must be an array of {account_id, addons}")])
        }
        var plans: [(accountID: String, manifest: Manifest, request: GrantRequest?)] = []
        // Where each (account, add-on) was first named: named twice (by its id and its short id,
        // or in two entries of one account), applying would grant and withdraw on every run.
        var named: [String: String] = [:]
        for (index, entry) in entries.enumerated() {
            var account = ConfigReader(entry, path: "accounts[\(index)]")
            account.allow(["account_id", "addons"])
            var accountID = ""
            if account.required("account_id") { account.string("account_id", into: &accountID) }
            if !accountID.isEmpty, try await accounts.find(id: accountID)?.isActive != true {
                account.record("account_id", "\(accountID) is not an active account")
            }
            if case .array(let items)? = account.value("addons") {
                for (position, item) in items.enumerated() {
                    var addon = ConfigReader(item, path: "accounts[\(index)].addons[\(position)]")
                    addon.allow(["id", "fields", "categories", "enabled"])
                    var id = ""
                    var fields: [String] = []
                    var categories: [String] = []
                    var enabled = true
                    if addon.required("id") { addon.string("id", into: &id) }
                    addon.stringArray("fields", into: &fields)
                    addon.stringArray("categories", into: &categories)
                    addon.bool("enabled", into: &enabled)
                    guard let manifest = addons.registry.manifest(id) else {
                        if !id.isEmpty {
                            addon.record(
                                "id",
                                "\(id) is not a loaded add-on\(Manifest.suggestion(for: id, in: addons.registry.manifests)); see `switchboard addons list`"
                            )
                        }
                        reader.errors += account.errors + addon.errors
                        account.errors = []
                        continue
                    }
                    let place = "accounts[\(index)].addons[\(position)]"
                    if let first = named.updateValue(place, forKey: accountID + " " + manifest.id) {
                        named[accountID + " " + manifest.id] = first
                        addon.record(
                            "id",
                            "names \(manifest.id) for \(accountID) again (first at \(first)); list each add-on once per account"
                        )
                        account.errors += addon.errors
                        continue
                    }
                    if enabled {
                        switch GrantRequest.resolve(manifest: manifest, fields: fields, categories: categories) {
                        case .success(let request): plans.append((accountID, manifest, request))
                        case .failure(let problems):
                            for problem in problems.problems { addon.record(problem.field, problem.message) }
                        }
                    } else if !fields.isEmpty || !categories.isEmpty {
                        // Withdraw or grant: both at once leaves the reader unsure which was meant.
                        addon.record(
                            fields.isEmpty ? "categories" : "fields",
                            "is given with \"enabled\": false, which withdraws consent and grants nothing; leave it out to withdraw, or drop \"enabled\": false to grant"
                        )
                    } else {
                        plans.append((accountID, manifest, nil))
                    }
                    account.errors += addon.errors
                }
            } else {
                account.record("addons", "must be an array of {id, fields | categories, enabled}")
            }
            reader.errors += account.errors
        }
        if !reader.errors.isEmpty { throw ConfigurationError(source: file, problems: reader.errors) }
        var changes: [Change] = []
        for plan in plans {
            let current = addons.consents.current(accountID: plan.accountID, addonID: plan.manifest.id)
            if let request = plan.request {
                // The same terms are left alone; other terms (a newer manifest's) are agreed to afresh.
                if let current, current.terms == ConsentTerms(manifest: plan.manifest, granting: request.fields) {
                    continue
                }
                let receipt = try await addons.consents.grant(
                    accountID: plan.accountID, manifest: plan.manifest, fields: request.fields, actor: actor)
                changes.append(
                    Change(accountID: plan.accountID, addonID: plan.manifest.id, receiptID: receipt.id, action: "grant")
                )
            } else if current != nil {
                let receipt = try await addons.consents.withdraw(
                    accountID: plan.accountID, manifest: plan.manifest, actor: actor)
                changes.append(
                    Change(
                        accountID: plan.accountID, addonID: plan.manifest.id, receiptID: receipt.id, action: "withdraw")
                )
            }
        }
        return changes
    }
}
