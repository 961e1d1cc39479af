// libFuzzer entry for `Manifest.parse(_:file:)` (Sources/SwitchboardAddons/Addons/Manifest.swift).
// `scripts/fuzz build` compiles the SwitchboardCore files the parser uses (JSON, ConfigReader,
// FieldError, EventType) as a small module named SwitchboardCore, then this file with Manifest.swift
// and FieldCatalog.swift. Besides "no crash" it checks that a refusal is a `ManifestError` naming
// each problem, and that an accepted manifest obeys Manifests/schema.json.

import Foundation
import SwitchboardCore

func check(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError(message()) }
}

/// Bytes of lower-case ASCII letters, digits and dashes, for the schema's id pattern.
func isIDLabel(_ label: Substring, first: Bool) -> Bool {
    guard let head = label.utf8.first else { return false }
    if first, !(UInt8(ascii: "a")...UInt8(ascii: "z")).contains(head) { return false }
    return label.utf8.allSatisfy {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
            || $0 == UInt8(ascii: "-")
    }
}

/// Manifests/schema.json's rules, checked on a manifest the parser accepted.
func checkSchema(_ manifest: Manifest) {
    // "pattern": "^[a-z][a-z0-9-]*(\\.[a-z0-9-]+)+$"
    let labels = manifest.id.split(separator: ".", omittingEmptySubsequences: false)
    check(
        labels.count >= 2 && labels.enumerated().allSatisfy { isIDLabel($1, first: $0 == 0) },
        "accepted id \(manifest.id.debugDescription) does not match the schema's pattern")
    for (name, value) in [("name", manifest.name), ("vendor", manifest.vendor), ("version", manifest.version)] {
        check(!value.isEmpty, "accepted an empty \(name)")
    }
    check(!manifest.libraryPath.isEmpty, "accepted an empty library.path")
    // "pattern": "^[0-9a-fA-F]{64}$", kept lower-cased.
    if let pin = manifest.librarySHA256 {
        check(
            pin.utf8.count == 64
                && pin.utf8.allSatisfy {
                    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0)
                        || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains($0)
                },
            "accepted library.sha256 \(pin.debugDescription), not 64 hex digits")
    }
    // "minItems": 1, "uniqueItems": true
    check(!manifest.hooks.isEmpty, "accepted no hooks")
    check(Set(manifest.hooks).count == manifest.hooks.count, "accepted repeated hooks \(manifest.hooks)")
    check((1...10_000).contains(manifest.syncTimeoutMs), "accepted sync.timeout_ms \(manifest.syncTimeoutMs)")
    check(
        manifest.abiMajor <= 1000 && manifest.abiMinor <= 1000, "accepted abi \(manifest.abiMajor).\(manifest.abiMinor)"
    )
    var seen: Set<String> = []
    for field in manifest.fields {
        guard let entry = FieldCatalog.byID[field.id] else {
            fatalError("accepted unknown field \(field.id.debugDescription)")
        }
        check(seen.insert(field.id).inserted, "accepted field \(field.id) twice")
        check(entry.category == field.category, "accepted \(field.id) in category \(field.category)")
        check(!field.pseudonym || entry.pseudonymizable, "accepted a pseudonym of \(field.id)")
        check(field.purpose.count >= 10, "accepted purpose \(field.purpose.debugDescription)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzManifest(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Data(bytes: $0, count: size) } ?? Data()
    do {
        let manifest = try Manifest.parse(bytes, file: "fuzz.json")
        check(manifest.file == "fuzz.json", "the manifest forgot its file")
        checkSchema(manifest)
    } catch let error as ManifestError {
        check(error.file == "fuzz.json", "the error names file \(error.file)")
        check(!error.problems.isEmpty, "a ManifestError names no problem")
        // The field may be "": an unknown key "" is named as it is.
        for problem in error.problems { check(!problem.message.isEmpty, "a problem without a message") }
        _ = error.description
    } catch {
        fatalError("Manifest.parse threw \(type(of: error)), not a ManifestError: \(error)")
    }
    return 0
}
