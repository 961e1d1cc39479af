import Foundation
import Testing

/// The walk-through that opens `docs/addons.md`, run word for word: the blocks marked
/// `<!-- walkthrough: c -->`, `swift` and `load`, in an empty home directory with the kit installed
/// under `~/.local` and only it and the system on `PATH`. A change that breaks a documented command
/// breaks this test.
@Suite(.serialized) struct WalkthroughTests {
    static let guide = AddonFixture.repoRoot.appendingPathComponent("docs/addons.md")

    /// The ```sh block following `<!-- walkthrough: NAME -->`.
    static func block(_ name: String) throws -> String {
        let text = try String(contentsOf: guide, encoding: .utf8)
        guard let marker = text.range(of: "<!-- walkthrough: \(name) -->"),
            let open = text.range(of: "```sh\n", range: marker.upperBound..<text.endIndex),
            let close = text.range(of: "\n```", range: open.upperBound..<text.endIndex)
        else { throw TestFailure("docs/addons.md has no walkthrough block \(name)") }
        return String(text[open.upperBound..<close.lowerBound])
    }

    /// Runs `blocks` in one bash (stopping at the first failing command) in a fresh home with the
    /// kit installed; the output, and how long the blocks took.
    static func walk(_ blocks: [String], toolchain: [String] = []) async throws -> (
        status: Int32, output: String, seconds: Double
    ) {
        let home = try PartnerKitTests.scratch()
        defer { try? FileManager.default.removeItem(at: home) }
        _ = try await PartnerKitTests.install(into: home.appendingPathComponent(".local"))
        let script = home.appendingPathComponent("walkthrough.sh")
        // The harness, not the guide: stop at the first failure, and leave no daemon behind.
        let harness = "set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n"
        try Data((harness + blocks.joined(separator: "\n") + "\n").utf8).write(to: script)
        let search = ["\(home.path)/.local/bin"] + toolchain + ["/usr/bin", "/bin"]
        let started = Date()
        let result = try await AddonFixture.run([
            "/usr/bin/env", "-i", "-C", home.path, "HOME=\(home.path)", "TMPDIR=\(home.path)",
            "PATH=\(search.joined(separator: ":"))", "/bin/bash", script.path,
        ])
        return (result.status, result.output, Date().timeIntervalSince(started))
    }

    @Test func theCWalkthroughRunsAsWritten() async throws {
        let run = try await Self.walk([try Self.block("c"), try Self.block("load")])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("passed: 14 rules"), "\(run.output)")
        #expect(run.output.contains("switchboard_addon_metric_delivered_messages{"), "\(run.output)")
        print("the C walk-through took \(Int(run.seconds)) s")
    }

    @Test func theSwiftWalkthroughRunsAsWritten() async throws {
        let run = try await Self.walk(
            [try Self.block("swift"), try Self.block("load")], toolchain: [try PartnerKitTests.swiftDirectory()])
        #expect(run.status == 0, "\(run.output)")
        #expect(run.output.contains("passed: 14 rules"), "\(run.output)")
        #expect(run.output.contains("switchboard_addon_metric_delivered_messages{"), "\(run.output)")
        print("the Swift walk-through took \(Int(run.seconds)) s")
    }
}
