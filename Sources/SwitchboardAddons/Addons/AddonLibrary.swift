import AddonABI
import Crypto
import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardCore
import Synchronization

/// An add-on library loaded in this process and its one instance.
///
/// Calls into the add-on go through one serial queue, so the add-on never sees two calls at once
/// (the ABI's threading rule) and a slow call never blocks a Swift concurrency thread.
package final class AddonLibrary: @unchecked Sendable {
    // @unchecked: the descriptor and instance are written once in `load` and only used on `queue`
    // afterwards.
    let manifest: Manifest
    let sha256: String
    /// Read once at load; the add-on is called only through its callbacks.
    private let descriptor: ValidatedDescriptor
    private let instance: UnsafeMutableRawPointer
    private let bridge: HostBridge
    package let queue: DispatchQueue
    /// When the host stops waiting for a pre-send check (the manifest's budget).
    private let deadlines = CheckDeadlines()

    package var hasCheck: Bool { descriptor.check != nil }
    package var hasEventHandler: Bool { descriptor.onEvent != nil }

    private init(
        manifest: Manifest, sha256: String, descriptor: ValidatedDescriptor,
        instance: UnsafeMutableRawPointer, bridge: HostBridge
    ) {
        self.manifest = manifest
        self.sha256 = sha256
        self.descriptor = descriptor
        self.instance = instance
        self.bridge = bridge
        queue = DispatchQueue(label: "switchboard.addon.\(manifest.id)")
    }

    /// The library file a manifest names: absolute, or relative to the manifest, or (for bundled
    /// add-ons) in one of `searchDirectories`, where the build puts the libraries it makes.
    static func resolveLibrary(_ manifest: Manifest, searchDirectories: [URL]) -> URL {
        if manifest.libraryPath.hasPrefix("/") { return URL(fileURLWithPath: manifest.libraryPath) }
        let besideManifest = URL(fileURLWithPath: manifest.file).deletingLastPathComponent()
            .appendingPathComponent(manifest.libraryPath).standardizedFileURL
        if FileManager.default.fileExists(atPath: besideManifest.path) { return besideManifest }
        for directory in searchDirectories {
            let candidate = directory.appendingPathComponent(manifest.libraryPath)
            if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
        }
        return besideManifest
    }

    package static func sha256(of url: URL) throws -> String {
        let data = try Data(contentsOf: url, options: .mappedIfSafe)
        return SHA256.hash(data: data).hexString
    }

    /// The checks made before any code of the library runs: it exists, matches its pin, and the
    /// manifest declares an ABI this host speaks (`HostABI.accepts`). Returns the library's SHA-256.
    static func preflight(manifest: Manifest, library: URL, requirePin: Bool, host: HostABI = .current) throws
        -> String
    {
        func failure(_ reason: String) -> AddonLoadError { AddonLoadError(file: manifest.file, reason: reason) }
        guard FileManager.default.fileExists(atPath: library.path) else {
            throw failure(
                "library \(library.path) does not exist; build it or fix library.path (relative paths are resolved beside the manifest)"
            )
        }
        guard
            (try? FileManager.default.attributesOfItem(atPath: library.path))?[.type] as? FileAttributeType
                == .typeRegular
        else {
            throw failure("library \(library.path) is not a regular file; library.path must name the built .so")
        }
        let digest: String
        do { digest = try sha256(of: library) } catch {
            throw failure("library \(library.path) cannot be read: \(error)")
        }
        if let pin = manifest.librarySHA256 {
            guard pin == digest else {
                throw failure(
                    "library \(library.path) has SHA-256 \(digest) but the manifest pins \(pin); rebuild from the pinned source or update library.sha256"
                )
            }
        } else if requirePin {
            throw failure(
                "library.sha256 is missing; add-ons outside the bundled directory must pin their library (`sha256sum \(library.lastPathComponent)`)"
            )
        }
        guard host.accepts(major: manifest.abiMajor, minor: manifest.abiMinor) else {
            throw failure(
                "the manifest declares ABI \(manifest.abiMajor).\(manifest.abiMinor); this host speaks \(host.acceptedRange)"
            )
        }
        return digest
    }

    /// Loads and instantiates the add-on, refusing it before any call when its pin, entry symbol,
    /// ABI version, descriptor size, identity or callbacks do not match (`ValidatedDescriptor`, the
    /// same checks the isolated runner makes). `host` is the ABI this host speaks.
    package static func load(
        manifest: Manifest, library: URL, requirePin: Bool, stateDirectory: URL, config: [String: String],
        logger: Logger, clock: any WallClock, onEmit: @escaping @Sendable (EmittedRecord) -> Bool,
        host: HostABI = .current
    ) throws -> AddonLibrary {
        func failure(_ error: DescriptorError) -> AddonLoadError {
            AddonLoadError(file: manifest.file, reason: error.message, cause: error)
        }
        let digest = try preflight(manifest: manifest, library: library, requirePin: requirePin, host: host)
        let descriptor: ValidatedDescriptor
        do throws(DescriptorError) {
            descriptor = try ValidatedDescriptor.load(
                library: library.path, expecting: manifest.descriptorExpectation, host: host)
        } catch {
            throw failure(error)
        }
        try? FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true)
        let bridge = HostBridge(
            addonID: manifest.id, stateDirectory: stateDirectory.path, config: config, logger: logger, clock: clock,
            onEmit: onEmit)
        let instance: UnsafeMutableRawPointer
        do throws(DescriptorError) {
            instance = try descriptor.instantiate(UnsafePointer(bridge.vtable))
        } catch {
            throw failure(error)
        }
        return AddonLibrary(
            manifest: manifest, sha256: digest, descriptor: descriptor, instance: instance, bridge: bridge)
    }

    /// Ends the instance; runs on the add-on's queue, after which nothing calls it again.
    func destroy() {
        dispatchPrecondition(condition: .onQueue(queue))
        descriptor.destroy(instance)
    }

    /// Delivers one asynchronous event; runs on the add-on's queue. Returns the add-on's code.
    package func deliver(_ view: AddonView) -> Int32 {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let onEvent = descriptor.onEvent else { return SB_ERROR }
        return view.wire.withCEvent { onEvent(instance, $0) }
    }

    /// Ends a delivery with the add-on's `end_batch` (ABI 1.1; see `ValidatedDescriptor.endBatch`).
    package func endBatch(_ codes: [Int32]) -> [Int32] {
        dispatchPrecondition(condition: .onQueue(queue))
        return descriptor.endBatch(instance, answering: codes)
    }

    /// The outcome of one pre-send check.
    package enum CheckOutcome: Sendable, Equatable {
        case allow
        case block(code: String, reason: String)
        /// The add-on received the view but gave no usable verdict (an error, a timeout, a crash
        /// after the request was written).
        case failed(String)
        /// The view never reached the add-on: its runner was down, quarantined or restarting, or
        /// the request could not be written. The verdict follows the failure mode as for `failed`,
        /// but nothing was shared, so the ledger records nothing.
        case undelivered(String)

        /// Whether the add-on received the view: every outcome but `undelivered`.
        package var delivered: Bool {
            if case .undelivered = self { false } else { true }
        }
    }

    /// The check as a plain call on the add-on's queue, without a time budget (benchmarks).
    func checkNow(_ view: AddonView) -> UInt32 {
        dispatchPrecondition(condition: .onQueue(queue))
        guard let check = descriptor.check else { return UInt32(SB_VERDICT_ALLOW) }
        var verdict = sb_verdict()
        verdict.struct_size = UInt32(MemoryLayout<sb_verdict>.size)
        _ = view.wire.withCEvent { check(instance, $0, &verdict) }
        return verdict.action
    }

    /// Runs the pre-send check with the manifest's time budget.
    func check(_ view: AddonView) async -> CheckOutcome {
        guard let check = descriptor.check else { return .allow }
        let budget = manifest.syncTimeoutMs
        return await withCheckedContinuation { (continuation: CheckedContinuation<CheckOutcome, Never>) in
            let once = ResumeOnce(continuation)
            let token = deadlines.watch(until: .now() + .milliseconds(budget)) {
                once.resume(.failed("no answer within \(budget) ms"))
            }
            queue.async {
                defer { self.deadlines.answered(token) }
                var verdict = sb_verdict()
                verdict.struct_size = UInt32(MemoryLayout<sb_verdict>.size)
                let code = view.wire.withCEvent { check(self.instance, $0, &verdict) }
                guard code == SB_OK else {
                    once.resume(.failed("check returned \(code)"))
                    return
                }
                switch verdict.action {
                case UInt32(SB_VERDICT_ALLOW):
                    once.resume(.allow)
                case UInt32(SB_VERDICT_BLOCK):
                    let reasonCode = withUnsafeBytes(of: verdict.reason_code) { Self.cString($0) }
                    let reason = withUnsafeBytes(of: verdict.reason) { Self.cString($0) }
                    once.resume(.block(code: reasonCode.isEmpty ? "blocked" : reasonCode, reason: reason))
                default:
                    once.resume(.failed("check returned an invalid verdict action \(verdict.action)"))
                }
            }
        }
    }

    /// Reads a NUL-terminated string from a fixed-size buffer, never past its end.
    private static func cString(_ bytes: UnsafeRawBufferPointer) -> String {
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// Asks the add-on to erase a subject; runs on the add-on's queue.
    package func erase(kind: UInt32, accountID: String, value: String?, pseudonym: String?) -> Int32 {
        dispatchPrecondition(condition: .onQueue(queue))
        // A NULL `erase` slot counts as SB_OK (docs/addons.md, "Erasure"): an add-on that keeps
        // nothing about people has nothing to erase. The runner answers the same.
        guard let erase = descriptor.erase else { return SB_OK }
        let subject = Requests.Subject(kind: kind, accountID: accountID, value: value, pseudonym: pseudonym)
        return subject.withCSubject { erase(instance, $0) }
    }
}

extension Manifest {
    /// What the library's descriptor must match: the manifest's id, version and hooks.
    package var descriptorExpectation: ValidatedDescriptor.Expectation {
        ValidatedDescriptor.Expectation(id: id, version: version, hooks: hooks.map(\.abiType))
    }
}

/// Resumes a continuation exactly once, whichever of the answer and the timeout comes first.
final class ResumeOnce<T: Sendable>: Sendable {
    private let continuation: Mutex<CheckedContinuation<T, Never>?>

    init(_ continuation: CheckedContinuation<T, Never>) {
        self.continuation = Mutex(continuation)
    }

    func resume(_ value: T) {
        continuation.withLock { stored in
            stored?.resume(returning: value)
            stored = nil
        }
    }
}
