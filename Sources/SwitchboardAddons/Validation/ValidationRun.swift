import AddonABI
import Crypto
import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One validation: the add-on's runners (one at a time, over one state directory), the sample
/// events, and what was seen across the rules (return codes, stdout).
final class ValidationRun {
    let manifest: Manifest
    let library: URL
    let state: URL
    let options: AddonValidator.Options
    let logger: Logger
    let samples: ValidationSamples
    /// Lines the add-on printed on stdout, from every runner.
    let printed = PrintedLines()
    /// Answers outside the ABI's codes, with what was asked (the return-codes rule).
    var invalidAnswers: [String] = []
    /// How many calls crossed, for the summary lines.
    var calls = 0
    var flags: UInt32 = 0
    /// The descriptor's ABI version, as the runner reported it.
    var descriptorABI: (major: UInt32, minor: UInt32)?
    /// Every runner started, to count what each left behind (the processes rule).
    var sessions: [ValidationSession] = []

    init(manifest: Manifest, library: URL, state: URL, options: AddonValidator.Options, logger: Logger) {
        self.manifest = manifest
        self.library = library
        self.state = state
        self.options = options
        self.logger = logger
        samples = ValidationSamples(manifest: manifest, pseudonyms: Pseudonymizer(master: SymmetricKey(size: .bits256)))
    }

    /// Starts a runner over the state directory (created on first use), as the daemon would.
    func start(refusingEmits: Bool = false) throws(ValidationSession.Failure) -> ValidationSession {
        try? FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        var arguments = [
            "--as-mb", "2048", "--nofile", "256", "--spin-us", "0",
            "--hooks", manifest.hooks.map(\.rawValue).joined(separator: ","),
        ]
        if refusingEmits { arguments.append("--refuse-emits") }
        let setup = WireInit(
            libraryPath: library.path, addonID: manifest.id, version: manifest.version, stateDirectory: state.path,
            config: manifest.config.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        let printed = self.printed
        let session = try ValidationSession.start(
            runner: options.runner, arguments: arguments, setup: setup, logger: logger,
            stdout: { line in printed.lines.withLock { $0.append(line) } })
        flags = session.connection.flags
        descriptorABI = session.connection.abi
        sessions.append(session)
        return session
    }

    // MARK: Calls that record what they answered

    /// Delivers `event` alone; records an answer outside the ABI's codes.
    func deliver(_ event: WireEvent, on session: ValidationSession, context: @autoclosure () -> String)
        throws(ValidationSession.Failure)
    {
        let codes = try session.deliver([event])
        calls += 1
        for code in codes where !Self.isABICode(code) {
            invalidAnswers.append("on_event answered \(code) to \(context())")
        }
    }

    func check(_ event: WireEvent, on session: ValidationSession, context: @autoclosure () -> String)
        throws(ValidationSession.Failure)
    {
        let verdict = try session.check(event, timeoutMs: max(10_000, manifest.syncTimeoutMs * 20))
        calls += 1
        if verdict.code != SB_OK {
            invalidAnswers.append("check answered \(verdict.code) instead of SB_OK to \(context())")
        } else if verdict.action != UInt32(SB_VERDICT_ALLOW) && verdict.action != UInt32(SB_VERDICT_BLOCK) {
            invalidAnswers.append("check gave action \(verdict.action) (neither allow nor block) to \(context())")
        }
    }

    /// Sends `event` the way its type goes: a check for message.submit, an event otherwise.
    func send(_ event: WireEvent, type: EventType, on session: ValidationSession, context: @autoclosure () -> String)
        throws(ValidationSession.Failure)
    {
        if type == .messageSubmit {
            try check(event, on: session, context: context())
        } else {
            try deliver(event, on: session, context: context())
        }
    }

    /// Whether `code` is one of the answers `on_event` and `erase` may give (`switchboard_addon.h`).
    static func isABICode(_ code: Int32) -> Bool {
        code == SB_OK || code == SB_RETRY || code == SB_ERROR
    }

    /// Descriptors and threads of a live process, from /proc.
    static func resources(of pid: pid_t) -> (descriptors: Int, threads: Int) {
        let manager = FileManager.default
        let descriptors = (try? manager.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        let threads = (try? manager.contentsOfDirectory(atPath: "/proc/\(pid)/task").count) ?? -1
        return (descriptors, threads)
    }

    /// Every regular file under the state directory: its path relative to it, and its bytes.
    func stateFiles() -> [(path: String, bytes: Data)] {
        guard let walker = FileManager.default.enumerator(at: state, includingPropertiesForKeys: [.isRegularFileKey])
        else { return [] }
        var files: [(String, Data)] = []
        for case let url as URL in walker {
            guard (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true,
                let bytes = try? Data(contentsOf: url)
            else { continue }
            files.append((String(url.path.dropFirst(state.path.count + 1)), bytes))
        }
        return files.sorted { $0.0 < $1.0 }
    }

    /// The fields of `event` in words, for failure details.
    static func describe(_ event: WireEvent) -> String {
        let fields = event.fields.map(\.id)
        return "a \(event.typeName) event with \(fields.isEmpty ? "no fields" : fields.joined(separator: ", "))"
    }
}

/// What the add-on printed, appended from the runners' output threads.
final class PrintedLines: Sendable {
    let lines = Mutex<[String]>([])
}
