import Foundation
import PluginAPI
import Testing

/// `switchboard addons validate`: the reference add-ons pass every rule, a well-behaved partner
/// add-on (the misbehaving fixture built as is) too, and each rule fails on the one fixture variant
/// that breaks it, with its reason.
@Suite struct ValidatorTests {
    static let source = AddonFixture.repoRoot.appendingPathComponent("Tests/Fixtures/misbehaving_addon.c")
    static let exportsMap = AddonFixture.repoRoot.appendingPathComponent("Plugins/exports.map")

    struct Report: Decodable {
        struct Rule: Decodable {
            var id: String
            var outcome: String
            var detail: String
        }
        var passed: Bool
        var rules: [Rule]

        func outcome(_ id: String) -> String { rules.first { $0.id == id }?.outcome ?? "absent" }
        func detail(_ id: String) -> String { rules.first { $0.id == id }?.detail ?? "" }
        var failed: [String] { rules.filter { $0.outcome == "failed" }.map(\.id) }
    }

    /// Runs the validator on `manifest`; its exit status and its JSON report.
    static func validate(_ manifest: URL, bundled: Bool = false) async throws -> (status: Int32, report: Report) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("sb-validate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try await AddonFixture.run(
            [
                "/bin/sh", "-c", "\"$0\" addons validate --json \(bundled ? "--bundled " : "")\"$1\" > \"$2\"",
                DaemonProcess.executable.path, manifest.path, output.path,
            ])
        let data = try Data(contentsOf: output)
        let report = try JSONDecoder().decode(Report.self, from: data)
        return (result.status, report)
    }

    /// Builds the fixture with `defines` into its own directory and writes its pinned manifest.
    static func fixture(
        _ defines: [String], exportOnlyEntry: Bool = true, abiMinor: Int = Int(SB_ABI_VERSION_MINOR)
    ) async throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-misbehaving-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let library = directory.appendingPathComponent("libmisbehaving.so")
        let result = try await AddonFixture.run(
            [
                "cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-fPIC", "-shared", "-fvisibility=hidden", "-pthread",
                "-I", AddonFixture.header.path,
            ]
                + (exportOnlyEntry ? ["-Wl,--version-script=\(exportsMap.path)"] : [])
                + defines.map { "-D" + $0 } + [source.path, "-o", library.path])
        guard result.status == 0 else { throw TestFailure("cc failed: \(result.output)") }
        let manifest: [String: Any] = [
            "manifest_version": 1, "id": "com.example.misbehaving", "name": "Misbehaving", "vendor": "Example Vendor",
            "version": "1.0.0", "description": "A fixture for the validator's rules.",
            "abi": ["major": Int(SB_ABI_VERSION_MAJOR), "minor": abiMinor],
            "library": ["path": "libmisbehaving.so", "sha256": try AddonFixture.sha256(library)],
            "hooks": ["message.submit", "message.status"],
            "fields": [
                [
                    "id": "usage.to", "category": "usage", "purpose": "Remember who was messaged", "required": true,
                    "pseudonym": true,
                ],
                [
                    "id": "usage.status", "category": "usage", "purpose": "Count outcomes", "required": true,
                    "pseudonym": false,
                ],
                [
                    "id": "usage.error_code", "category": "usage", "purpose": "Count carrier errors", "required": false,
                    "pseudonym": false,
                ],
                [
                    "id": "content.body", "category": "content", "purpose": "Block forbidden words", "required": false,
                    "pseudonym": false,
                ],
            ],
            "sync": ["timeout_ms": 50, "failure_mode": "fail_open"],
            "isolation": "isolated", "config": [:] as [String: String],
        ]
        let file = directory.appendingPathComponent("com.example.misbehaving.json")
        try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted]).write(to: file)
        return file
    }

    @Test(arguments: ["com.switchboard.compliance-scrub", "com.switchboard.reporting", "com.switchboard.monitoring"])
    func theReferenceAddonsPassEveryRule(id: String) async throws {
        let manifest = AddonFixture.repoRoot.appendingPathComponent("Manifests/\(id).json")
        let (status, report) = try await Self.validate(manifest, bundled: true)
        #expect(status == 0, "\(report.failed): \(report.rules.map { "\($0.id): \($0.detail)" })")
        #expect(report.passed && report.failed.isEmpty)
        #expect(report.outcome("exports") == "passed" && report.outcome("erase") == "passed")
    }

    @Test func aWellBehavedPartnerAddonPassesEveryRule() async throws {
        let manifest = try await Self.fixture([])
        defer { try? FileManager.default.removeItem(at: manifest.deletingLastPathComponent()) }
        let (status, report) = try await Self.validate(manifest)
        #expect(status == 0, "\(report.rules.map { "\($0.id) \($0.outcome): \($0.detail)" })")
        #expect(report.failed.isEmpty)
        // It has a pre-send hook, so its budget is measured; it is not flagged thread-safe.
        #expect(report.outcome("check-budget") == "passed")
        #expect(report.outcome("thread-safety") == "skipped")
        // It keeps state, so the restart and erasure rules had something to look at.
        #expect(report.detail("restart").contains("kept across a restart"))
        #expect(report.detail("erase").contains("held the subject before"))
    }

    @Test(arguments: [
        ("BREAK_EXPORTS", "exports", "more symbol"),
        ("BREAK_DESCRIPTOR", "descriptor", "9.9.9"),
        ("BREAK_LIFECYCLE", "lifecycle", "descriptors"),
        ("BREAK_OPTIONAL", "fields", "usage.error_code"),
        ("BREAK_ODD_VALUES", "odd-values", "1 MiB"),
        ("BREAK_SLOW_CHECK", "check-budget", "timeout_ms 50"),
        ("BREAK_THREADS", "thread-safety", "4 threads"),
        ("BREAK_RESTART", "restart", "read the state back"),
        ("BREAK_ERASE_KEEPS", "erase", "still holds it"),
        ("BREAK_ERASE_TWICE", "erase", "idempotent"),
        ("BREAK_REFUSALS", "host-refusals", "refused every record"),
        ("BREAK_CODES", "return-codes", "on_event answered 7"),
        ("BREAK_STDOUT", "stdout", "line(s) on stdout"),
        ("BREAK_FORK", "processes", "still running when its runner ended"),
        ("BREAK_FORK_SETSID", "processes", "still running when its runner ended"),
    ])
    func eachRuleFailsOnTheAddonThatBreaksIt(define: String, rule: String, reason: String) async throws {
        let manifest = try await Self.fixture([define], exportOnlyEntry: define != "BREAK_EXPORTS")
        defer { try? FileManager.default.removeItem(at: manifest.deletingLastPathComponent()) }
        let (status, report) = try await Self.validate(manifest)
        #expect(status == 1)
        #expect(report.outcome(rule) == "failed", "\(define): \(report.rules.map { "\($0.id) \($0.outcome)" })")
        #expect(report.detail(rule).contains(reason), "\(define): \(report.detail(rule))")
        if define == "BREAK_DESCRIPTOR" {
            #expect(report.outcome("lifecycle") == "skipped")
        }
    }

    /// The manifest must declare the ABI the library was built with: the descriptor rule names
    /// both and the fix, and the other rules still run.
    @Test func aManifestDeclaringAnotherABIThanTheLibraryFailsTheDescriptorRule() async throws {
        let manifest = try await Self.fixture([], abiMinor: Int(SB_ABI_VERSION_MINOR) - 1)
        defer { try? FileManager.default.removeItem(at: manifest.deletingLastPathComponent()) }
        let (status, report) = try await Self.validate(manifest)
        #expect(status == 1)
        #expect(report.failed == ["descriptor"], "\(report.rules.map { "\($0.id) \($0.outcome)" })")
        let built = "\(SB_ABI_VERSION_MAJOR).\(SB_ABI_VERSION_MINOR)"
        let declared = "\(SB_ABI_VERSION_MAJOR).\(SB_ABI_VERSION_MINOR - 1)"
        #expect(
            report.detail("descriptor").contains("descriptor says ABI \(built) but the manifest declares \(declared)"),
            "\(report.detail("descriptor"))")
        #expect(report.outcome("lifecycle") == "passed")
    }

    @Test func addonsCheckReportsAnAddonThatCrashesWhileLoadingAndSurvivesIt() async throws {
        let manifest = try await Self.fixture(["BREAK_CREATE"])
        defer { try? FileManager.default.removeItem(at: manifest.deletingLastPathComponent()) }
        let check = try await AddonFixture.run([DaemonProcess.executable.path, "addons", "check", manifest.path])
        #expect(check.status == 1, "\(check.output)")
        #expect(check.output.contains("cannot be loaded") && check.output.contains("signal 6"), "\(check.output)")
        let (status, report) = try await Self.validate(manifest)
        #expect(status == 1)
        #expect(report.outcome("descriptor") == "failed" && report.detail("descriptor").contains("signal 6"))
    }

    @Test func anUnreadableManifestFailsTheFirstRuleAndSkipsTheRest() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sb-bad-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"manifest_version": 1, "id": "Not A Valid Id"}"#.utf8).write(to: file)
        let (status, report) = try await Self.validate(file)
        #expect(status == 1)
        #expect(report.outcome("manifest") == "failed")
        #expect(report.rules.dropFirst().allSatisfy { $0.outcome == "skipped" })
    }
}
