import Crypto
import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// Builds the recording test add-on from the C header alone and writes its pinned manifest.
enum AddonFixture {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    static let header = repoRoot.appendingPathComponent("Sources/PluginAPI/include")
    static let recorderSource = repoRoot.appendingPathComponent("Tests/Fixtures/recording_addon.c")

    /// Runs a command and returns its exit status and combined output. It waits with `Task.sleep`:
    /// a blocking wait would hold one of the few threads every test's daemon shares, and a handful
    /// of CLI runs at once stalled other tests' daemons for 30 s (an SMPP bind answered too late).
    @discardableResult
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("sb-run-\(UUID().uuidString).log")
        defer { try? FileManager.default.removeItem(at: log) }
        let process = try ChildProcess(arguments[0], Array(arguments.dropFirst()), output: log.path, errors: log.path)
        while process.isRunning { try await Task.sleep(for: .milliseconds(10)) }
        let output = (try? Data(contentsOf: log)) ?? Data()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    /// Compiles the recorder into `directory` with plain cc, as a partner would.
    static func buildRecorder(in directory: URL, name: String, defines: [String] = []) async throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("lib\(name).so")
        let result = try await run(
            ["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fPIC", "-shared", "-I", header.path]
                + defines.map { "-D" + $0 } + [recorderSource.path, "-o", output.path])
        guard result.status == 0 else { throw TestFailure("cc failed: \(result.output)") }
        return output
    }

    static func sha256(_ url: URL) throws -> String {
        SHA256.hash(data: try Data(contentsOf: url)).map { String(format: "%02x", $0) }.joined()
    }

    /// Builds a recorder and writes a manifest for it; returns the add-ons directory.
    @discardableResult
    static func recorder(
        in directory: URL, id: String = "com.example.recorder", version: String = "1.0.0",
        fields: [(id: String, required: Bool, pseudonym: Bool)],
        hooks: [String] = ["message.submit", "message.status", "message.inbound", "api.request", "account.changed"],
        failureMode: String = "fail_closed", pin: String? = nil, defines: [String] = [], manifestID: String? = nil,
        isolation: String = "in_process", timeoutMs: Int = 200
    ) async throws -> URL {
        let name = id.replacingOccurrences(of: ".", with: "_") + "_" + version.replacingOccurrences(of: ".", with: "_")
        let library = try await buildRecorder(
            in: directory, name: name, defines: ["ADDON_ID=\"\(id)\"", "ADDON_VERSION=\"\(version)\""] + defines)
        let manifestFields: [[String: Any]] = fields.map {
            [
                "id": $0.id, "category": String($0.id.split(separator: ".")[0]),
                "purpose": "Needed by the test recorder",
                "required": $0.required, "pseudonym": $0.pseudonym,
            ]
        }
        let manifest: [String: Any] = [
            "manifest_version": 1, "id": manifestID ?? id, "name": "Recorder \(id)", "vendor": "Example Vendor",
            "version": version, "description": "Records what it receives", "abi": ["major": 1, "minor": 0],
            "library": ["path": library.lastPathComponent, "sha256": try pin ?? sha256(library)],
            "hooks": hooks, "fields": manifestFields,
            "sync": ["timeout_ms": timeoutMs, "failure_mode": failureMode], "isolation": isolation,
        ]
        let data = try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys])
        try data.write(to: directory.appendingPathComponent("\(manifestID ?? id).json"))
        return directory
    }

    /// One recorded call: kind (event or check), event id, type, account, and fields by id.
    struct Recorded: Equatable {
        var what: String
        var eventID: String
        var type: String
        var accountID: String
        var fields: [String: String]
    }

    static func recorded(dataDir: URL, addonID: String) -> [Recorded] {
        let path = dataDir.appendingPathComponent("addons/\(addonID)/events.log")
        guard let text = try? String(contentsOf: path, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").map { line in
            let parts = line.split(separator: "|", omittingEmptySubsequences: false).map(String.init)
            var fields: [String: String] = [:]
            for part in parts.dropFirst(4) {
                let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
                fields[pair[0]] = pair.count > 1 ? pair[1] : ""
            }
            return Recorded(what: parts[0], eventID: parts[1], type: parts[2], accountID: parts[3], fields: fields)
        }
    }
}
