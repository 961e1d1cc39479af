import Foundation
import SwitchboardAddons
import SwitchboardCore
import Testing

/// Inputs that the fuzz harnesses (Fuzz/, `scripts/fuzz`) showed to be mishandled, each replayed here
/// so that the fix stays without a fuzzer build. The same inputs are kept in the harness's seed corpus.
@Suite struct FuzzRegressionTests {
    /// A valid manifest with `hooks` and `library` as given.
    static func manifest(hooks: String, library: String) -> Data {
        Data(
            """
            {"manifest_version": 1, "id": "com.example.reports", "name": "Reports", "vendor": "Example",
             "version": "1.0.0", "abi": {"major": 1, "minor": 0}, "library": \(library), "hooks": \(hooks),
             "fields": [{"id": "usage.status", "category": "usage",
                         "purpose": "Count messages by their delivery outcome.", "required": true}]}
            """.utf8)
    }

    static func problems(_ data: Data) -> [String: String] {
        do {
            _ = try Manifest.parse(data, file: "fuzz.json")
            return [:]
        } catch let error as ManifestError {
            return Dictionary(error.problems.map { ($0.field, $0.message) }) { first, _ in first }
        } catch {
            Issue.record("Manifest.parse threw \(error), not a ManifestError")
            return [:]
        }
    }

    /// Each hook is one subscription (`AddonRegistry` appends the add-on once per listed hook), so a
    /// repeated hook delivered every event twice. Manifests/schema.json says `uniqueItems`.
    /// Fuzz/manifest/corpus/repeated-hooks.json.
    @Test func aRepeatedHookIsRefused() throws {
        let library = #"{"path": "libReports.so"}"#
        let repeated = Self.problems(Self.manifest(hooks: #"["message.status", "message.status"]"#, library: library))
        #expect(repeated["hooks"] == "lists \"message.status\" twice; list each event once")
        #expect(repeated.count == 1)
        let once = try Manifest.parse(
            Self.manifest(hooks: #"["message.status", "message.inbound"]"#, library: library), file: "fuzz.json")
        #expect(once.hooks == [.messageStatus, .messageInbound])
    }

    /// `Character.isHexDigit` also accepts fullwidth digits and letters (U+FF10–U+FF19, U+FF21–U+FF26,
    /// U+FF41–U+FF46), so such a pin was accepted and could never match the library's digest. The
    /// schema's pattern is `^[0-9a-fA-F]{64}$`. Fuzz/manifest/corpus/fullwidth-pin.json.
    @Test func aPinWithFullwidthHexDigitsIsRefused() throws {
        let hooks = #"["message.status"]"#
        let fullwidth = "\u{FF21}" + String(repeating: "a", count: 63)
        let refused = Self.problems(
            Self.manifest(hooks: hooks, library: #"{"path": "libReports.so", "sha256": "\#(fullwidth)"}"#))
        #expect(refused["library.sha256"] == "must be 64 hex digits, as printed by `sha256sum <library>`")
        let upper = String(repeating: "AB", count: 32)
        let accepted = try Manifest.parse(
            Self.manifest(hooks: hooks, library: #"{"path": "libReports.so", "sha256": "\#(upper)"}"#),
            file: "fuzz.json")
        #expect(accepted.librarySHA256 == upper.lowercased())
    }

    /// A group that starts with a combining mark: `a ; \u{301}b` imported the groups `a` and `\u{301}b`
    /// (the space before the mark trimmed), but written back as `a;\u{301}b` the `;` and the mark are
    /// one character, so a split at `Character`s read the single group `a;\u{301}b`. Groups are split
    /// at the scalar `;`, and contacts read back as they were imported.
    /// Fuzz/csv/corpus/group-starting-with-combining-mark.
    @Test func groupsReadBackTheSameWhenWrittenAsCSV() throws {
        let imported = try ContactCSV.parse(Data("number,groups\n+15550100,a ; \u{301}b\n".utf8))
        #expect(imported.contacts.map(\.groups) == [["a", "\u{301}b"]])
        let written =
            "number,groups\n"
            + imported.contacts.map { "\($0.number),\"\($0.groups.joined(separator: ";"))\"" }
            .joined(separator: "\n")
        let again = try ContactCSV.parse(Data(written.utf8))
        #expect(again.contacts == imported.contacts)
        #expect(again.rowErrors.isEmpty)
    }

    /// A first group that, once trimmed, starts with a combining mark (`; \u{301}tm`) would be
    /// written back as `"\u{301}tm`, the mark one character with the quote: the row is refused.
    /// Fuzz/csv/corpus/group-with-space-before-combining-mark.
    @Test func aFirstGroupStartingWithACombiningMarkIsRefused() throws {
        let imported = try ContactCSV.parse(Data("number,groups\n+15550100,\"; \u{301}tm;sr\"\n".utf8))
        #expect(imported.contacts.isEmpty)
        #expect(imported.rowErrors.first?.errors.first?.field == "groups")
        #expect(imported.rowErrors.first?.errors.first?.message.contains("U+0301") == true)
    }

    /// A value that, once trimmed, starts with a combining mark: `"\t\u{301}"` imports as the name
    /// `\u{301}`, which written back quoted (`"\u{301}"`) joins the opening quote into one character
    /// and is refused as a quote inside an unquoted value. Whether such a value is refused or kept
    /// whole, contacts must read back as they were imported: it is refused as a row error naming the
    /// mark.
    /// Fuzz/csv/corpus/value-starting-with-combining-mark.
    @Test func aValueStartingWithACombiningMarkReadsBackTheSame() throws {
        let imported = try ContactCSV.parse(Data("number,name\n+15550100,\"\t\u{301}\"\n".utf8))
        let written =
            "number,name\n" + imported.contacts.map { "\($0.number),\"\($0.name ?? "")\"" }.joined(separator: "\n")
        let again = try ContactCSV.parse(Data(written.utf8))
        #expect(again.contacts == imported.contacts)
        #expect(imported.rowErrors.map(\.errors.first?.field) == ["name"])
        #expect(imported.rowErrors.first?.errors.first?.message.contains("U+0301") == true)
    }

    /// A value that ends with a prepended concatenation mark: `a\u{6DD}` imports as the name, but
    /// written back quoted (`"a\u{6DD}"`) the mark and the closing quote are one character (UAX #29
    /// rule GB9b), so the quote is never closed. The row is refused, naming the mark.
    /// Fuzz/csv/corpus/value-ending-with-prepended-mark.
    @Test func aValueEndingWithAPrependedMarkIsRefused() throws {
        let imported = try ContactCSV.parse(Data("number,name\n+15550100,a\u{6DD}\n+15550101,Ann\n".utf8))
        #expect(imported.contacts.map(\.number) == ["+15550101"])
        #expect(imported.rowErrors.map(\.row) == [2])
        #expect(imported.rowErrors.first?.errors.first?.field == "name")
        #expect(imported.rowErrors.first?.errors.first?.message.contains("ends with U+06DD") == true)
    }

    /// A prepended mark before a quote inside an unquoted value (`a\u{6DD}"b`) is one character for
    /// every CSV reader, so the value imports; written back with the quote doubled it would not read
    /// the same, so it is refused. The last group of `x\u{6DD} ;` ends with the mark once trimmed,
    /// and is refused for the same reason.
    /// Fuzz/csv/corpus/prepended-mark-before-quote.
    @Test func aPrependedMarkBeforeAQuoteIsRefused() throws {
        let name = try ContactCSV.parse(Data("number,name\n+15550100,a\u{6DD}\"b\n".utf8))
        #expect(name.contacts.isEmpty)
        #expect(name.rowErrors.first?.errors.first?.message.contains("U+06DD before a quote") == true)
        let groups = try ContactCSV.parse(Data("number,groups\n+15550100,\"y;x\u{6DD} ;\"\n".utf8))
        #expect(groups.contacts.isEmpty)
        #expect(groups.rowErrors.first?.errors.first?.field == "groups")
        #expect(groups.rowErrors.first?.errors.first?.message.contains("ends with U+06DD") == true)
    }
}
