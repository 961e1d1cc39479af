import Foundation
import SwitchboardCore

/// An add-on's consent manifest (`Manifests/<id>.json`): who it is, which library to load, which
/// events it wants and, field by field, which customer data it needs and why.
public struct Manifest: Sendable, Equatable {
    public struct Field: Sendable, Equatable, Codable {
        public var id: String
        public var category: DataCategory
        public var purpose: String
        public var required: Bool
        /// A keyed pseudonym instead of the real value is enough for this add-on.
        public var pseudonym: Bool
    }

    public enum FailureMode: String, Sendable, Codable, CaseIterable {
        /// A timeout or failure blocks the message.
        case failClosed = "fail_closed"
        /// A timeout or failure lets the message through (and is counted).
        case failOpen = "fail_open"
    }

    public enum Isolation: String, Sendable, Codable, CaseIterable {
        case inProcess = "in_process"
        case isolated
    }

    public var id: String
    public var name: String
    public var vendor: String
    public var version: String
    public var description: String
    public var abiMajor: UInt32
    public var abiMinor: UInt32
    public var libraryPath: String
    public var librarySHA256: String?
    public var hooks: [EventType]
    public var fields: [Field]
    public var syncTimeoutMs: Int
    public var failureMode: FailureMode
    public var isolation: Isolation
    public var config: [String: String]
    /// Where the manifest was read from.
    public var file: String

    /// The last component of the id (`reporting` for `com.switchboard.reporting`), accepted in URLs.
    public var shortID: String { Self.shortID(of: id) }

    /// The last component of an add-on id; also for ids only the ledger still knows.
    public static func shortID(of id: String) -> String { String(id.split(separator: ".").last ?? Substring(id)) }

    /// The manifest of `manifests` that `given` names: the one with that id, or the only one with
    /// that short id. A short id two add-ons share names neither: `reporting` must not resolve to
    /// whichever was found first when a partner's `com.example.reporting` sits beside the bundled
    /// one, or a customer could consent to the wrong vendor.
    public static func named(_ given: String, in manifests: [Manifest]) -> Manifest? {
        if let exact = manifests.first(where: { $0.id == given }) { return exact }
        let matches = manifests.filter { $0.shortID == given }
        return matches.count == 1 ? matches[0] : nil
    }

    /// For an id that names none of `manifests`: " (did you mean reporting?)" naming the handle
    /// (`handle(among:)`) of the add-on whose id or short id is at most two edits from `given`
    /// (ignoring case), or "" when none is that close.
    public static func suggestion(for given: String, in manifests: [Manifest]) -> String {
        let typed = given.lowercased()
        let scored = manifests.map { manifest in
            (
                manifest,
                min(
                    EditDistance.between(typed, manifest.id.lowercased()),
                    EditDistance.between(typed, manifest.shortID.lowercased()))
            )
        }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2 else { return "" }
        return " (did you mean \(best.0.handle(among: manifests))?)"
    }

    /// The short id when no other of `manifests` has it, else the full id.
    public func handle(among manifests: [Manifest]) -> String {
        manifests.contains { $0.id != id && $0.shortID == shortID } ? id : shortID
    }

    public var requiredFields: [String] { fields.filter(\.required).map(\.id) }

    public func field(_ id: String) -> Field? { fields.first { $0.id == id } }
}

/// A manifest that cannot be used, with every problem named.
public struct ManifestError: Error, CustomStringConvertible, Sendable {
    public var file: String
    public var problems: [FieldError]

    public var description: String {
        "manifest \(file) is invalid:\n" + problems.map { "  \($0.field): \($0.message)" }.joined(separator: "\n")
    }
}

extension Manifest {
    /// Reverse-DNS: lower-case labels of letters, digits and dashes, at least two of them.
    /// The longest id a manifest may have, as `switchboard addons new` allows.
    public static let maxIDLength = 100

    public static func isValidID(_ id: String) -> Bool {
        let labels = id.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, let first = labels.first?.first, first.isLetter else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "-" }
        }
    }

    public static func load(file: String) throws -> Manifest {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: file))
        } catch {
            throw ManifestError(
                file: file, problems: [FieldError("file", FileReadProblem.reason(file, error))])
        }
        return try parse(data, file: file)
    }

    public static func parse(_ data: Data, file: String) throws -> Manifest {
        let value: JSONValue
        do {
            value = try JSONParser.parse([UInt8](data))
        } catch {
            // The parser names the fault and, inside a value, its path (a key given twice, a number
            // that cannot be kept exactly, nesting too deep).
            throw ManifestError(file: file, problems: [FieldError(error.field ?? "file", error.description)])
        }
        var reader = ConfigReader(value, path: "")
        reader.allow([
            "manifest_version", "id", "name", "vendor", "version", "description", "abi", "library", "hooks", "fields",
            "sync", "isolation", "config",
        ])
        var manifestVersion = 0
        if reader.required("manifest_version") { reader.int("manifest_version", in: 1...1, into: &manifestVersion) }
        var manifest = Manifest(
            id: "", name: "", vendor: "", version: "", description: "", abiMajor: 0, abiMinor: 0, libraryPath: "",
            librarySHA256: nil, hooks: [], fields: [], syncTimeoutMs: 100, failureMode: .failClosed,
            isolation: .isolated,
            config: [:], file: file)
        for key in ["id", "name", "vendor", "version", "abi", "library", "hooks", "fields"] { _ = reader.required(key) }
        reader.string("id", into: &manifest.id)
        if manifest.id.count > Self.maxIDLength {
            reader.record("id", "must be at most \(Self.maxIDLength) characters (got \(manifest.id.count))")
        } else if !manifest.id.isEmpty, !isValidID(manifest.id) {
            reader.record("id", "must be a reverse-DNS id in lower case, e.g. com.example.reports")
        }
        reader.string("name", into: &manifest.name)
        reader.string("vendor", into: &manifest.vendor)
        reader.string("version", into: &manifest.version)
        reader.string("description", into: &manifest.description)
        for (key, text, limit) in [
            ("name", manifest.name, 100), ("vendor", manifest.vendor, 200), ("description", manifest.description, 2000),
        ] where !text.isEmpty {
            if let problem = ManifestText.problem(text, maxLength: limit) { reader.record(key, problem) }
        }
        if manifest.version.lengthInCodePoints > 64 {
            reader.record("version", "must be at most 64 characters (got \(manifest.version.lengthInCodePoints))")
        } else if let problem = ManifestText.edgeProblem(manifest.version)
            ?? ManifestText.problem(manifest.version, maxLength: 64)
        {
            reader.record("version", problem)
        }
        reader.object("abi") { abi in
            abi.allow(["major", "minor"])
            var major = 0
            var minor = 0
            if abi.required("major") { abi.int("major", in: 0...1000, into: &major) }
            if abi.required("minor") { abi.int("minor", in: 0...1000, into: &minor) }
            manifest.abiMajor = UInt32(major)
            manifest.abiMinor = UInt32(minor)
        }
        reader.object("library") { library in
            library.allow(["path", "sha256"])
            if library.required("path") { library.string("path", into: &manifest.libraryPath) }
            var pin: String?
            library.optionalString("sha256", into: &pin)
            // ASCII only: `Character.isHexDigit` also takes the fullwidth forms (U+FF10…), which no
            // digest printed by `sha256sum` contains and which would never match one.
            let hexDigits = Set("0123456789abcdefABCDEF".utf8)
            if let pin, pin.utf8.count != 64 || !pin.utf8.allSatisfy(hexDigits.contains) {
                library.record("sha256", "must be 64 hex digits, as printed by `sha256sum <library>`")
            }
            manifest.librarySHA256 = pin?.lowercased()
        }
        var hookNames: [String] = []
        reader.stringArray("hooks", into: &hookNames)
        for name in hookNames {
            if let hook = EventType(rawValue: name) {
                // Each listed hook is one subscription: a repeated one would queue every event twice.
                if manifest.hooks.contains(hook) {
                    reader.record("hooks", "lists \"\(name)\" twice; list each event once")
                } else {
                    manifest.hooks.append(hook)
                }
            } else {
                reader.record(
                    "hooks",
                    "\"\(name)\" is not an event; use \(EventType.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        if hookNames.isEmpty, reader.value("hooks") != nil { reader.record("hooks", "must name at least one event") }
        manifest.fields = parseFields(&reader)
        reader.object("sync") { sync in
            sync.allow(["timeout_ms", "failure_mode"])
            sync.int("timeout_ms", in: 1...10_000, into: &manifest.syncTimeoutMs)
            sync.enumeration("failure_mode", into: &manifest.failureMode)
        }
        if manifest.hooks.contains(.messageSubmit), reader.value("sync") == nil {
            reader.record(
                "sync",
                "is required with the message.submit hook: give timeout_ms and failure_mode (fail_closed or fail_open)")
        }
        reader.enumeration("isolation", into: &manifest.isolation)
        reader.stringMap("config", into: &manifest.config)
        if !reader.errors.isEmpty { throw ManifestError(file: file, problems: reader.errors) }
        return manifest
    }

    private static func parseFields(_ reader: inout ConfigReader) -> [Field] {
        guard let value = reader.value("fields") else { return [] }
        guard case .array(let items) = value else {
            reader.record("fields", "must be an array of field requests")
            return []
        }
        var fields: [Field] = []
        for (index, item) in items.enumerated() {
            var sub = ConfigReader(item, path: "fields[\(index)]")
            sub.allow(["id", "category", "purpose", "required", "pseudonym"])
            var field = Field(id: "", category: .usage, purpose: "", required: false, pseudonym: false)
            for key in ["id", "category", "purpose"] { _ = sub.required(key) }
            sub.string("id", into: &field.id)
            sub.enumeration("category", into: &field.category)
            sub.string("purpose", into: &field.purpose)
            sub.bool("required", into: &field.required)
            sub.bool("pseudonym", into: &field.pseudonym)
            if !field.id.isEmpty {
                if let entry = FieldCatalog.byID[field.id] {
                    if entry.category != field.category, sub.value("category") != nil {
                        sub.record("category", "\(field.id) belongs to category \(entry.category.rawValue)")
                    }
                    if field.pseudonym && !entry.pseudonymizable {
                        sub.record(
                            "pseudonym", "\(field.id) is not an identifier; a pseudonym of it would be meaningless")
                    }
                } else {
                    sub.record("id", "\"\(field.id)\" is not a known field; see docs/addons.md for the list")
                }
                if fields.contains(where: { $0.id == field.id }) { sub.record("id", "\(field.id) is requested twice") }
            }
            if sub.value("purpose") != nil, !field.purpose.isEmpty,
                let problem = ManifestText.problem(field.purpose, maxLength: 500, minimumVisible: 10)
            {
                sub.record(
                    "purpose",
                    problem.hasPrefix("must have at least")
                        ? "must tell the customer why the field is needed, in a sentence: \(problem)" : problem)
            }
            reader.errors.append(contentsOf: sub.errors)
            fields.append(field)
        }
        return fields
    }
}
