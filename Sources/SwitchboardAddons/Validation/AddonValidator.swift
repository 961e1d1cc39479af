import AddonABI
import Crypto
import Foundation
import Logging
import RunnerProtocol
import SwitchboardCore
import Synchronization

/// The conformance validator behind `switchboard addons validate`: runs a partner's add-on in a
/// `switchboard-addon-runner`, as the daemon runs an isolated add-on, and through rules a partner
/// can act on (the contract of `switchboard_addon.h` and `docs/addons.md` §2, tested the way
/// `clap-validator` and `pluginval` test audio plug-ins). Each rule passes or fails with its reason.
public enum AddonValidator {
    public struct Options: Sendable {
        /// The `switchboard-addon-runner` executable.
        public var runner: String
        /// Whether the manifest must pin its library (false only for the add-ons bundled with the
        /// daemon, which load unpinned from its own directory).
        public var requirePin = true
        /// Where a relative `library.path` is also looked for, after beside the manifest.
        public var libraryDirectories: [URL] = []
        /// create/destroy cycles of the lifecycle rule.
        public var lifecycleCycles = 100
        /// Pre-send checks timed by the budget rule.
        public var checkCalls = 1000

        public init(runner: String) {
            self.runner = runner
        }
    }

    /// Validates the add-on of `manifestFile`. Never throws: every problem is a failed rule.
    public static func run(manifestFile: String, options: Options, logger: Logger) -> ValidationReport {
        var report = ValidationReport(manifest: manifestFile, rules: [])
        let manifest: Manifest
        let library: URL
        switch prepare(manifestFile: manifestFile, options: options) {
        case .unreadableManifest(let problems):
            report.add(.manifest, .failed, problems.joined(separator: "; "))
            report.skipRest(after: .manifest, because: "the manifest must be valid first")
            return report
        case .unusableLibrary(let read, var reason):
            report.addon = read.id
            report.version = read.version
            if read.librarySHA256 == nil && options.requirePin {
                reason += " (an add-on bundled with the daemon is validated with --bundled)"
            }
            report.add(.manifest, .failed, reason)
            report.skipRest(after: .manifest, because: "the library must exist and match its pin first")
            return report
        case .ready(let read, let found, let digest):
            (manifest, library) = (read, found)
            report.addon = manifest.id
            report.version = manifest.version
            report.add(
                .manifest, .passed,
                "\(manifest.id) \(manifest.version), ABI \(manifest.abiMajor).\(manifest.abiMinor); \(library.path), sha256 \(digest)"
                    + (manifest.librarySHA256 == nil ? " (not pinned: allowed for bundled add-ons only)" : ", pinned"))
        }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent(
            "switchboard-validate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let run = ValidationRun(
            manifest: manifest, library: library, state: work.appendingPathComponent("state"), options: options,
            logger: logger)
        run.exports(into: &report)
        run.behaviour(into: &report)
        return report
    }
}

extension AddonValidator {
    /// What the checks before any of the add-on's code runs found: shared by `validate` and `check`.
    enum Preparation {
        /// The manifest is valid; its library exists, matches its pin (or needs none) and its ABI.
        case ready(Manifest, library: URL, sha256: String)
        /// Not a regular file, not JSON, or not a valid manifest: each problem.
        case unreadableManifest([String])
        /// A valid manifest whose library is missing, unpinned, changed or of another ABI: why.
        case unusableLibrary(Manifest, String)
    }

    static func prepare(manifestFile: String, options: Options) -> Preparation {
        if let problem = ManifestFile.notRegular(manifestFile) { return .unreadableManifest([problem]) }
        let manifest: Manifest
        do {
            manifest = try Manifest.load(file: manifestFile)
        } catch {
            return .unreadableManifest(
                (error as? ManifestError)?.problems.map { "\($0.field): \($0.message)" } ?? ["\(error)"])
        }
        let library = AddonLibrary.resolveLibrary(manifest, searchDirectories: options.libraryDirectories)
        do {
            let digest = try AddonLibrary.preflight(
                manifest: manifest, library: library, requirePin: options.requirePin)
            return .ready(manifest, library: library, sha256: digest)
        } catch {
            return .unusableLibrary(manifest, (error as? AddonLoadError)?.reason ?? "\(error)")
        }
    }
}

/// The rules, in the order they run. Their ids are stable: scripts and docs use them.
enum ValidationRuleID: String, CaseIterable {
    case manifest, exports, descriptor, lifecycle, fields
    case oddValues = "odd-values"
    case checkBudget = "check-budget"
    case threadSafety = "thread-safety"
    case restart, erase
    case hostRefusals = "host-refusals"
    case returnCodes = "return-codes"
    case stdout, processes

    var title: String {
        switch self {
        case .manifest: "the manifest is valid, the library exists and matches its pin"
        case .exports: "the library exports only switchboard_addon_entry"
        case .descriptor: "the runner loads it: descriptor and manifest agree (id, version, ABI, hooks)"
        case .lifecycle: "create/destroy many times without leaking descriptors or threads"
        case .fields: "events with every granted field, none, and each subset of the optional ones"
        case .oddValues: "fields of unexpected kinds, empty, invalid UTF-8 and very long values"
        case .checkBudget: "the pre-send check answers within the manifest's timeout_ms at p99"
        case .threadSafety: "concurrent calls, when the descriptor sets SB_ADDON_THREAD_SAFE"
        case .restart: "state survives a restart"
        case .erase: "erase is idempotent and removes what the state directory holds about the subject"
        case .hostRefusals: "keeps working when the host refuses its records (emit < 0)"
        case .returnCodes: "answers only SB_OK, SB_RETRY or SB_ERROR; checks answer SB_OK with a valid action"
        case .stdout: "writes nothing to stdout"
        case .processes: "leaves no process of its own running once its runner ends"
        }
    }
}

extension ValidationReport {
    mutating func add(_ rule: ValidationRuleID, _ outcome: Rule.Outcome, _ detail: String) {
        rules.append(Rule(id: rule.rawValue, title: rule.title, outcome: outcome, detail: detail))
    }

    mutating func skipRest(after rule: ValidationRuleID, because reason: String) {
        let all = ValidationRuleID.allCases
        for later in all[(all.firstIndex(of: rule)! + 1)...] where !rules.contains(where: { $0.id == later.rawValue }) {
            add(later, .skipped, reason)
        }
    }
}

/// The manifest given on a command line: a regular file, not a directory, device or FIFO (reading
/// one of those gives Foundation's errors, which name neither the file nor the problem).
enum ManifestFile {
    static func notRegular(_ path: String) -> String? {
        guard let type = (try? FileManager.default.attributesOfItem(atPath: path))?[.type] as? FileAttributeType else {
            return "\(path) does not exist or cannot be read"
        }
        let kinds: [FileAttributeType: String] = [
            .typeDirectory: "a directory", .typeCharacterSpecial: "a character device",
            .typeBlockSpecial: "a block device",
            .typeSocket: "a socket", .typeSymbolicLink: "a broken symbolic link",
        ]
        return type == .typeRegular
            ? nil
            : "\(path) is \(kinds[type] ?? "not a regular file (a FIFO?)"); give the add-on's manifest, a JSON file"
    }
}
