import AddonABI
import AddonKit
import Foundation
import Logging
import PluginAPI
import RunnerProtocol
import SwitchboardAddons
import SwitchboardCore
import Synchronization
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The ABI's rules in one place (`AddonABI`): the constant tables against the header, the descriptor
/// validator, descriptors shaped like an older minor, and the in-process loader and the isolated
/// runner refusing the same libraries with the same messages.
@Suite struct ABITests {
    // MARK: The tables match the header

    @Test func theEventTableMatchesTheHeader() throws {
        let header = try ABIFixture.defines("SB_EVENT_")
        #expect(header.count == ABIEventType.allCases.count)
        // The header gives each code's type name in the comment after it: /* "message.submit": … */
        var fromHeader: [String: UInt32] = [:]
        for define in header { fromHeader[try quoted(define.comment)] = define.value }
        let fromTable = Dictionary(uniqueKeysWithValues: ABIEventType.allCases.map { ($0.name, $0.code) })
        #expect(fromHeader == fromTable)
        for type in ABIEventType.allCases {
            #expect(ABIEventType(code: type.code) == type)
            #expect(ABIEventType(name: type.name) == type)
        }
        #expect(ABIEventType(code: 0) == nil)
        #expect(ABIEventType(name: "sms.sent") == nil)
    }

    @Test func theDaemonsEventTypesForwardToTheTable() {
        for type in EventType.allCases {
            #expect(type.abiType.name == type.rawValue, "\(type)")
            #expect(type.abiCode == ABIEventType(name: type.rawValue)?.code, "\(type)")
        }
        #expect(Set(EventType.allCases.map(\.abiCode)).count == EventType.allCases.count)
    }

    @Test func theFieldSubjectAndLogTablesMatchTheHeader() throws {
        func table<Case>(_ cases: [Case], _ value: (Case) -> UInt32) -> [String: UInt32] {
            Dictionary(uniqueKeysWithValues: cases.map { ("\($0)", value($0)) })
        }
        func header(_ prefix: String) throws -> [String: UInt32] {
            Dictionary(uniqueKeysWithValues: try ABIFixture.defines(prefix).map { ($0.name.lowercased(), $0.value) })
        }
        #expect(try header("SB_FIELD_") == table(ABIFieldKind.allCases, \.code))
        #expect(try header("SB_SUBJECT_") == table(ABISubjectKind.allCases, \.code))
        #expect(try header("SB_LOG_") == table(ABILogLevel.allCases, \.abiLevel))
        for kind in ABIFieldKind.allCases { #expect(ABIFieldKind(code: kind.code) == kind) }
        for kind in ABISubjectKind.allCases { #expect(ABISubjectKind(code: kind.code) == kind) }
        // The daemon's erasure kinds forward to the table.
        for kind in ErasureSubject.Kind.allCases {
            #expect("\(kind.abiSubjectKind)" == kind.rawValue)
            #expect(kind.abiKind == kind.abiSubjectKind.code)
        }
        // AddonKit's levels are the header's values too.
        let kit: [HostHandle.Level] = [.debug, .info, .warning, .error]
        #expect(kit.map(\.rawValue) == ABILogLevel.allCases.map(\.abiLevel))
        #expect(kit.map { HostHandle.Level(rawValue: $0.rawValue) } == kit)
    }

    @Test func anUnknownLogLevelCountsAsAnError() {
        #expect(ABILogLevel(abiLevel: 7) == .error)
        #expect(ABILogLevel(abiLevel: .max) == .error)
        #expect(ABILogLevel.allCases.map { Logger.Level($0) } == [.debug, .info, .warning, .error])
    }

    // MARK: The validator

    @Test func theValidatorAcceptsTheCurrentDescriptor() throws {
        let validated = try SwiftDescriptor.validate(
            SwiftDescriptor.make(), expecting: SwiftDescriptor.expectation(hooks: ABIEventType.allCases)
        ).get()
        #expect(validated.abiMajor == UInt32(SB_ABI_VERSION_MAJOR))
        #expect(validated.abiMinor == UInt32(SB_ABI_VERSION_MINOR))
        #expect(validated.structSize == MemoryLayout<sb_addon_descriptor>.size)
        #expect(validated.id == SwiftDescriptor.id && validated.version == "1.0.0")
        #expect(validated.name == "Shaped" && validated.vendor == "Example Vendor")
        #expect(validated.onEvent != nil && validated.check != nil && validated.erase != nil)
        // Only 1.0 is published, so its descriptor is both the smallest and the host's own.
        #expect(HostABI.current.minor > 0 || HostABI.current.minimumDescriptorSize == validated.structSize)
    }

    /// One way a descriptor can be wrong, and what the validator must say about it.
    struct Refusal: Sendable, CustomTestStringConvertible {
        var name: String
        var change: @Sendable (inout sb_addon_descriptor) -> Void = { _ in }
        var expecting = SwiftDescriptor.expectation(hooks: [])
        var code: DescriptorError.Code
        var field: String
        /// Each must appear in the message: what is wrong, and the fix where there is one.
        var says: [String]

        var testDescription: String { name }
    }

    static let refusals: [Refusal] = [
        Refusal(
            name: "another major", change: { $0.abi.major = UInt32(SB_ABI_VERSION_MAJOR) + 1 }, code: .otherMajor,
            field: "abi.major",
            says: ["ABI major \(SB_ABI_VERSION_MAJOR + 1)", "rebuild against the current switchboard_addon.h"]),
        Refusal(
            name: "a newer minor", change: { $0.abi.minor = UInt32(SB_ABI_VERSION_MINOR) + 1 }, code: .newerMinor,
            field: "abi.minor",
            says: [
                "ABI \(SB_ABI_VERSION_MAJOR).\(SB_ABI_VERSION_MINOR + 1), newer than this host's \(SB_ABI_VERSION_MAJOR).\(SB_ABI_VERSION_MINOR)",
                "upgrade the host or rebuild against its header",
            ]),
        Refusal(
            name: "a struct_size below 1.0's", change: { $0.struct_size = 64 }, code: .structTooSmall,
            field: "struct_size",
            says: [
                "struct_size 64", "\(HostABI.current.minimumDescriptorSize) bytes",
                "set struct_size = sizeof(sb_addon_descriptor)",
            ]),
        Refusal(
            name: "no create", change: { $0.create = nil }, code: .callbackMissing, field: "create",
            says: ["no create or destroy callback"]),
        Refusal(
            name: "no destroy", change: { $0.destroy = nil }, code: .callbackMissing, field: "destroy",
            says: ["no create or destroy callback"]),
        Refusal(
            name: "no check for message.submit", change: { $0.check = nil },
            expecting: SwiftDescriptor.expectation(hooks: [.messageSubmit]), code: .callbackMissing,
            field: "check", says: ["subscribes to message.submit", "no check callback"]),
        Refusal(
            name: "no on_event for message.status", change: { $0.on_event = nil },
            expecting: SwiftDescriptor.expectation(hooks: [.messageSubmit, .messageStatus]), code: .callbackMissing,
            field: "on_event", says: ["subscribes to message.status", "no on_event callback"]),
        Refusal(
            name: "another id", expecting: .init(id: "com.example.other", version: "1.0.0", hooks: []),
            code: .idMismatch, field: "id",
            says: ["calls itself \"\(SwiftDescriptor.id)\"", "\"com.example.other\"", "may not claim another's id"]),
        Refusal(
            name: "another version", expecting: .init(id: SwiftDescriptor.id, version: "2.0.0", hooks: []),
            code: .versionMismatch, field: "version", says: ["version 1.0.0", "describes 2.0.0"]),
    ]

    @Test(arguments: refusals)
    func theValidatorRefusesAndNamesTheField(_ refusal: Refusal) {
        var descriptor = SwiftDescriptor.make()
        refusal.change(&descriptor)
        let result = SwiftDescriptor.validate(descriptor, expecting: refusal.expecting)
        guard case .failure(let error) = result else {
            Issue.record("\(refusal.name) was accepted")
            return
        }
        #expect(error.code == refusal.code)
        #expect(error.field == refusal.field)
        for fragment in refusal.says { #expect(error.message.contains(fragment), "\(error.message)") }
    }

    @Test func aNullDescriptorIsRefused() {
        #expect(
            throws: DescriptorError(
                .entryReturnedNull, field: SB_ADDON_ENTRY_SYMBOL, "\(SB_ADDON_ENTRY_SYMBOL) returned NULL")
        ) {
            try ValidatedDescriptor.validate(nil)
        }
    }

    @Test func slotsBeyondStructSizeAreReadAsAbsent() throws {
        // A descriptor whose memory holds a valid erase callback, but whose struct_size ends before it.
        var descriptor = SwiftDescriptor.make()
        descriptor.struct_size = UInt32(DescriptorLayout.end(of: \.check))
        let older = try SwiftDescriptor.validate(descriptor, host: ABIFixture.oneMinorAhead).get()
        #expect(older.structSize == DescriptorLayout.end(of: \.check))
        #expect(older.erase == nil)
        #expect(older.check != nil && older.onEvent != nil)
        // The slot counts once it fits.
        descriptor.struct_size = UInt32(DescriptorLayout.end(of: \.erase))
        #expect(try SwiftDescriptor.validate(descriptor, host: ABIFixture.oneMinorAhead).get().erase != nil)
        // That host still refuses a minor newer than its own and anything below its 1.0 descriptor.
        descriptor.abi.minor = 2
        #expect(SwiftDescriptor.validate(descriptor, host: ABIFixture.oneMinorAhead).failure?.field == "abi.minor")
        descriptor.abi.minor = 0
        descriptor.struct_size = UInt32(DescriptorLayout.end(of: \.destroy))
        #expect(SwiftDescriptor.validate(descriptor, host: ABIFixture.oneMinorAhead).failure?.field == "struct_size")
    }

    // MARK: Real libraries, built with plain cc

    @Test func anOlderShapedLibraryLoadsInProcessOnAHostOneMinorAhead() async throws {
        let directory = ABIFixture.temporaryDirectory("older")
        let library = try await ABIFixture.build(["OLDER_SHAPE"], in: directory)
        let manifest = try ABIFixture.manifest(library: library, hooks: ["message.submit", "message.status"])
        // The library's descriptor ends after `check`; the memory after it holds a function that aborts.
        let validated = try ValidatedDescriptor.load(
            library: library.path, expecting: manifest.descriptorExpectation, host: ABIFixture.oneMinorAhead)
        #expect(validated.structSize == DescriptorLayout.end(of: \.check))
        try #require(validated.erase == nil, "a slot beyond struct_size was read")
        // The real loader, dlopen and all, on a host for which erase arrived in 1.1.
        let loaded = try AddonLibrary.load(
            manifest: manifest, library: library, requirePin: true,
            stateDirectory: directory.appendingPathComponent("state"),
            config: [:], logger: ABIFixture.quiet, clock: SystemWallClock(), onEmit: { _ in true },
            host: ABIFixture.oneMinorAhead)
        #expect(loaded.hasCheck && loaded.hasEventHandler)
        let view = AddonView(
            eventID: "ev_older", type: .messageStatus, accountID: "acc_1", timeMs: 0,
            fields: [ViewField(id: "usage.to", value: .text("+37255512345"), treatment: .clear)])
        #expect(loaded.queue.sync { loaded.deliver(view) } == SB_OK)
        // Absent, so the host answers for it as for a NULL slot (SB_OK, as the runner does): the
        // function beyond struct_size, which would abort, is never called.
        #expect(
            loaded.queue.sync {
                loaded.erase(kind: ABISubjectKind.account.code, accountID: "acc_1", value: nil, pseudonym: nil)
            } == SB_OK)
        let calls = try String(contentsOf: directory.appendingPathComponent("state/calls.log"), encoding: .utf8)
        #expect(calls == "event|ev_older\n")
    }

    /// An add-on built against 1.0 keeps working on this 1.1 host: its descriptor ends with
    /// `erase`, and `end_batch`, beyond its struct_size, is never read or called.
    @Test func aOneZeroLibraryLoadsAndIsNeverAskedToEndABatch() async throws {
        let directory = ABIFixture.temporaryDirectory("one-zero")
        let library = try await ABIFixture.build(["ONE_ZERO_SHAPE"], in: directory)
        let manifest = try ABIFixture.manifest(library: library, hooks: ["message.submit", "message.status"])
        let validated = try ValidatedDescriptor.load(library: library.path, expecting: manifest.descriptorExpectation)
        #expect(validated.abiMinor == 0 && validated.structSize == DescriptorLayout.end(of: \.erase))
        try #require(validated.endBatch == nil, "a slot beyond struct_size was read")
        let loaded = try AddonLibrary.load(
            manifest: manifest, library: library, requirePin: true,
            stateDirectory: directory.appendingPathComponent("state"),
            config: [:], logger: ABIFixture.quiet, clock: SystemWallClock(), onEmit: { _ in true })
        let view = AddonView(
            eventID: "ev_1_0", type: .messageStatus, accountID: "acc_1", timeMs: 0,
            fields: [ViewField(id: "usage.to", value: .text("+37255512345"), treatment: .clear)])
        #expect(await loaded.deliverInProcess([.event(seq: 1, view: view, consentID: "cr")]) == [SB_OK])
        let calls = try String(contentsOf: directory.appendingPathComponent("state/calls.log"), encoding: .utf8)
        #expect(calls == "event|ev_1_0\n")
    }

    /// A 1.1 add-on's `end_batch` follows each delivered batch of events and each erasure.
    @Test func endBatchFollowsEachBatchAndEachErasure() async throws {
        let directory = ABIFixture.temporaryDirectory("end-batch")
        let library = try await ABIFixture.build([], in: directory)
        let manifest = try ABIFixture.manifest(library: library, hooks: ["message.submit", "message.status"])
        let loaded = try AddonLibrary.load(
            manifest: manifest, library: library, requirePin: true,
            stateDirectory: directory.appendingPathComponent("state"),
            config: [:], logger: ABIFixture.quiet, clock: SystemWallClock(), onEmit: { _ in true })
        func view(_ id: String) -> AddonView {
            AddonView(
                eventID: id, type: .messageStatus, accountID: "acc_1", timeMs: 0,
                fields: [ViewField(id: "usage.to", value: .text("+37255512345"), treatment: .clear)])
        }
        let order = ErasureOrder(requestID: "er_1", subjectKind: .account, value: nil, pseudonym: nil)
        let codes = await loaded.deliverInProcess([
            .event(seq: 1, view: view("ev_a"), consentID: "cr"), .event(seq: 2, view: view("ev_b"), consentID: "cr"),
            .erase(seq: 3, accountID: "acc_1", order: order, pseudonym: nil),
            .event(seq: 4, view: view("ev_c"), consentID: "cr"),
        ])
        #expect(codes == [SB_OK, SB_OK, SB_OK, SB_OK])
        let calls = try String(contentsOf: directory.appendingPathComponent("state/calls.log"), encoding: .utf8)
        #expect(
            calls.split(separator: "\n") == [
                "event|ev_a", "event|ev_b", "end_batch|-", "erase|acc_1", "end_batch|-", "event|ev_c", "end_batch|-",
            ])
    }

    /// Libraries the loader and the runner must judge alike.
    struct Shape: Sendable, CustomTestStringConvertible {
        var name: String
        var defines: [String] = []
        var manifestID = "com.example.shaped"
        var manifestVersion = "1.0.0"
        var hooks = ["message.submit", "message.status"]
        /// The field the refusal names; nil when the library loads.
        var field: String?

        var testDescription: String { name }
    }

    static let shapes: [Shape] = [
        Shape(name: "current"),
        Shape(name: "no entry", defines: ["NO_ENTRY"], field: SB_ADDON_ENTRY_SYMBOL),
        Shape(name: "null descriptor", defines: ["NULL_DESCRIPTOR"], field: SB_ADDON_ENTRY_SYMBOL),
        Shape(name: "another major", defines: ["ABI_MAJOR=2"], field: "abi.major"),
        Shape(name: "a newer minor", defines: ["ABI_MINOR=\(SB_ABI_VERSION_MINOR + 1)"], field: "abi.minor"),
        Shape(name: "a struct_size of 64", defines: ["STRUCT_SIZE=64"], field: "struct_size"),
        Shape(name: "an older minor's shape", defines: ["OLDER_SHAPE"], field: "struct_size"),
        Shape(name: "another id", manifestID: "com.example.claimed", field: "id"),
        Shape(name: "another version", manifestVersion: "1.0.1", field: "version"),
        Shape(name: "no create", defines: ["NO_CREATE"], field: "create"),
        Shape(name: "no destroy", defines: ["NO_DESTROY"], field: "destroy"),
        Shape(name: "no check", defines: ["NO_CHECK"], field: "check"),
        Shape(name: "no on_event", defines: ["NO_ON_EVENT"], field: "on_event"),
        Shape(name: "no check, not needed", defines: ["NO_CHECK"], hooks: ["message.status"]),
        Shape(name: "create fails", defines: ["CREATE_FAILS"], field: "create"),
    ]

    @Test(arguments: shapes)
    func theRunnerRefusesWhatTheLoaderRefusesWithTheSameMessage(_ shape: Shape) async throws {
        let directory = ABIFixture.temporaryDirectory("shape")
        let library = try await ABIFixture.build(shape.defines, in: directory)
        let manifest = try ABIFixture.manifest(
            library: library, id: shape.manifestID, version: shape.manifestVersion, hooks: shape.hooks)
        var inProcess: String?
        do {
            _ = try AddonLibrary.load(
                manifest: manifest, library: library, requirePin: true,
                stateDirectory: directory.appendingPathComponent("state"), config: [:],
                logger: ABIFixture.quiet, clock: SystemWallClock(), onEmit: { _ in true })
        } catch let error as AddonLoadError {
            inProcess = error.reason
            #expect((error.cause as? DescriptorError)?.field == shape.field, "\(error.reason)")
        }
        let runner = try RunnerHandshake.run(
            library: library, id: manifest.id, version: manifest.version,
            state: directory.appendingPathComponent("runner-state"), hooks: shape.hooks)
        if let field = shape.field {
            #expect(inProcess != nil, "the loader accepted a descriptor whose \(field) is wrong")
            #expect(runner.outcome == .failed(inProcess ?? ""))
        } else {
            #expect(inProcess == nil)
            #expect(runner.outcome == .ready)
        }
    }

    @Test func logLevelsMeanTheSameInProcessAndInTheRunner() async throws {
        let directory = ABIFixture.temporaryDirectory("logs")
        let library = try await ABIFixture.build([], in: directory)
        let manifest = try ABIFixture.manifest(library: library, hooks: ["message.status"])
        let inProcess = CapturedLines()
        _ = try AddonLibrary.load(
            manifest: manifest, library: library, requirePin: true,
            stateDirectory: directory.appendingPathComponent("state"), config: [:], logger: inProcess.logger(),
            clock: SystemWallClock(), onEmit: { _ in true })
        let expected: [CapturedLines.Line] = [
            .init(level: .debug, text: "level debug"), .init(level: .info, text: "level info"),
            .init(level: .warning, text: "level warning"), .init(level: .error, text: "level error"),
            .init(level: .error, text: "level 7"),
        ]
        #expect(inProcess.lines == expected)
        // The runner forwards each line as a frame; the daemon logs it through the same mapping.
        let runner = try RunnerHandshake.run(
            library: library, id: manifest.id, version: manifest.version,
            state: directory.appendingPathComponent("runner-state"), hooks: ["message.status"])
        #expect(runner.outcome == .ready)
        // Levels travel normalised: the unknown 7 already as SB_LOG_ERROR.
        #expect(runner.logs.map(\.level) == [0, 1, 2, 3, 3])
        #expect(runner.logs.map(\.text) == expected.map(\.text))
        let isolated = CapturedLines()
        let logger = isolated.logger()
        for line in runner.logs { logger.logAddonLine(addonID: manifest.id, abiLevel: line.level, line.text) }
        #expect(isolated.lines == inProcess.lines)
    }

    @Test func theDaemonRefusesATooSmallDescriptorAlikeInProcessAndIsolated() async throws {
        let directory = ABIFixture.temporaryDirectory("daemon")
        for (isolation, mode) in [("in_process", "local"), ("isolated", "isolated")] {
            for (shape, defines) in [("current", [String]()), ("older", ["OLDER_SHAPE"])] {
                let id = "com.example.\(shape)-\(mode)"
                let library = try await ABIFixture.build(
                    defines + ["ADDON_ID=\"\(id)\""], in: directory, name: "\(shape)_\(mode)")
                try ABIFixture.writeManifest(library: library, id: id, hooks: ["message.status"], isolation: isolation)
            }
        }
        try await withDaemon(configure: { $0.addons.directories = [directory.path] }) { daemon in
            let registry = daemon.daemon.addons.registry
            #expect(registry.isolation("com.example.current-local") == .inProcess)
            #expect(registry.isolation("com.example.current-isolated") == .isolated)
            func reason(_ id: String) -> String? {
                registry.problems.first { $0.file.hasSuffix("\(id).json") }?.reason
            }
            let inProcess = try #require(reason("com.example.older-local"))
            #expect(inProcess.contains("descriptor struct_size \(DescriptorLayout.end(of: \.check)) is smaller"))
            #expect(inProcess.contains("set struct_size = sizeof(sb_addon_descriptor)"))
            #expect(reason("com.example.older-isolated") == inProcess)
        }
    }

    private func quoted(_ text: String) throws -> String {
        let parts = text.split(separator: "\"", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { throw TestFailure("no quoted name in \(text)") }
        return String(parts[1])
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}

// MARK: - Helpers

/// Builds descriptors in Swift, for the validator's unit tests.
enum SwiftDescriptor {
    static let id = "com.example.shaped"
    private static let idString: StaticString = "com.example.shaped"
    private static let nameString: StaticString = "Shaped"
    private static let vendorString: StaticString = "Example Vendor"
    private static let versionString: StaticString = "1.0.0"

    private static func cString(_ text: StaticString) -> UnsafePointer<CChar> {
        UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
    }

    static func expectation(hooks: [ABIEventType]) -> ValidatedDescriptor.Expectation {
        .init(id: id, version: "1.0.0", hooks: hooks)
    }

    /// A complete descriptor of the header's version; no callback is ever called.
    static func make() -> sb_addon_descriptor {
        sb_addon_descriptor(
            abi: sb_abi_version(major: UInt32(SB_ABI_VERSION_MAJOR), minor: UInt32(SB_ABI_VERSION_MINOR)),
            struct_size: UInt32(MemoryLayout<sb_addon_descriptor>.size), flags: 0, id: cString(idString),
            name: cString(nameString), vendor: cString(vendorString), version: cString(versionString),
            create: { _ in nil }, destroy: { _ in }, on_event: { _, _ in SB_OK }, check: { _, _, _ in SB_OK },
            erase: { _, _ in SB_OK }, end_batch: { _ in SB_OK })
    }

    static func validate(
        _ descriptor: sb_addon_descriptor, expecting: ValidatedDescriptor.Expectation? = nil,
        host: HostABI = .current
    ) -> Result<ValidatedDescriptor, DescriptorError> {
        withUnsafePointer(to: descriptor) { pointer in
            Result { () throws(DescriptorError) in
                try ValidatedDescriptor.validate(pointer, expecting: expecting, host: host)
            }
        }
    }
}

/// Builds `Tests/Fixtures/shaped_addon.c` with plain cc, as a partner would, and writes manifests.
enum ABIFixture {
    static let repoRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let include = repoRoot.appendingPathComponent("Sources/PluginAPI/include")
    static let source = repoRoot.appendingPathComponent("Tests/Fixtures/shaped_addon.c")

    /// A host one minor ahead of 1.0, in which `erase` was appended in 1.1: its smallest descriptor
    /// ends after `check`. No such header exists; it is how a real 1.0 add-on will meet a 1.1 host.
    static let oneMinorAhead = HostABI(
        major: UInt32(SB_ABI_VERSION_MAJOR), minor: 1, minimumDescriptorSize: DescriptorLayout.end(of: \.check))

    /// A logger that drops everything: the loader's lines are not what these tests look at.
    static let quiet = Logger(label: "abi-tests") { _ in SwiftLogNoOpLogHandler() }

    static func temporaryDirectory(_ name: String) -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("sb-abi-\(name)-\(UUID().uuidString)")
    }

    /// The `#define <prefix><NAME> <number>u` lines of the header: name (without the prefix), value,
    /// and the comment after it.
    static func defines(_ prefix: String) throws -> [(name: String, value: UInt32, comment: String)] {
        let text = try String(contentsOf: include.appendingPathComponent("switchboard_addon.h"), encoding: .utf8)
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 2)
            guard parts.count == 3, parts[0] == "#define", parts[1].hasPrefix(prefix) else { return nil }
            let digits = parts[2].prefix { $0.isNumber }
            guard let value = UInt32(digits) else { return nil }
            return (String(parts[1].dropFirst(prefix.count)), value, String(parts[2].drop { $0 != "/" }))
        }
    }

    /// Compiles the fixture with `defines` into `directory`.
    static func build(_ defines: [String], in directory: URL, name: String = "shaped") async throws -> URL {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let output = directory.appendingPathComponent("lib\(name).so")
        let result = try await AddonFixture.run(
            ["cc", "-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-fPIC", "-shared", "-I", include.path]
                + defines.map { "-D" + $0 } + [source.path, "-o", output.path])
        guard result.status == 0 else { throw TestFailure("cc failed: \(result.output)") }
        return output
    }

    /// Writes a pinned manifest for `library` beside it and returns its file.
    @discardableResult
    static func writeManifest(
        library: URL, id: String = "com.example.shaped", version: String = "1.0.0", hooks: [String],
        isolation: String = "in_process"
    ) throws -> URL {
        let digest = try AddonLibrary.sha256(of: library)
        let manifest: [String: Any] = [
            "manifest_version": 1, "id": id, "name": "Shaped \(id)", "vendor": "Example Vendor", "version": version,
            "description": "Takes the shapes the tests ask for", "abi": ["major": 1, "minor": 0],
            "library": ["path": library.lastPathComponent, "sha256": digest], "hooks": hooks,
            "fields": [
                [
                    "id": "usage.to", "category": "usage", "purpose": "Needed by the test add-on", "required": true,
                    "pseudonym": false,
                ]
            ],
            "sync": ["timeout_ms": 500, "failure_mode": "fail_closed"], "isolation": isolation,
        ]
        let file = library.deletingLastPathComponent().appendingPathComponent("\(id).json")
        try JSONSerialization.data(withJSONObject: manifest, options: [.prettyPrinted, .sortedKeys]).write(to: file)
        return file
    }

    static func manifest(
        library: URL, id: String = "com.example.shaped", version: String = "1.0.0", hooks: [String]
    ) throws -> Manifest {
        try Manifest.load(file: writeManifest(library: library, id: id, version: version, hooks: hooks).path)
    }
}

/// The real `switchboard-addon-runner`, started as the daemon starts it (its end of a socket pair on
/// fd 3), up to its answer to the initialize frame.
struct RunnerHandshake {
    enum Outcome: Equatable {
        case ready
        case failed(String)
    }

    var outcome: Outcome
    /// The log frames the runner sent before answering: the level as it travels, and the text.
    var logs: [(level: UInt32, text: String)]

    static func run(library: URL, id: String, version: String, state: URL, hooks: [String]) throws -> RunnerHandshake {
        let executable = BundledAddons.executableDirectory.appendingPathComponent("switchboard-addon-runner").path
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw TestFailure("socketpair failed: \(errno)")
        }
        let ours = pair[0]
        // Above 3, so that the dup2 onto 3 always clears close-on-exec.
        let theirs = fcntl(pair[1], F_DUPFD_CLOEXEC, 10)
        close(pair[1])
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, theirs, 3)
        SpawnDescriptors.closeAll(from: 4, in: &actions)
        let arguments = [executable, "--hooks", hooks.joined(separator: ",")]
        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(theirs)
        guard spawned == 0 else {
            close(ours)
            throw TestFailure("posix_spawn \(executable) failed: \(spawned)")
        }
        defer {
            var status: Int32 = 0
            close(ours)
            waitpid(pid, &status, 0)
        }
        let setup = WireInit(
            libraryPath: library.path, addonID: id, version: version, stateDirectory: state.path, config: [])
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let bytes = Frame(.initialize, setup.encoded()).encoded()
        let sent = bytes.withUnsafeBytes { send(ours, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard sent == bytes.count else { throw TestFailure("could not send the initialize frame") }
        var decoder = FrameDecoder()
        var logs: [(level: UInt32, text: String)] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            while let frame = try decoder.next() {
                switch frame.type {
                case .ready: return RunnerHandshake(outcome: .ready, logs: logs)
                case .failed:
                    return RunnerHandshake(outcome: .failed(String(decoding: frame.body, as: UTF8.self)), logs: logs)
                case .log:
                    var reader = WireReader(frame.body)
                    logs.append((try reader.u32(), try reader.string()))
                default: throw TestFailure("the runner answered \(frame.type) before READY")
                }
            }
            var poller = pollfd(fd: ours, events: Int16(POLLIN), revents: 0)
            guard poll(&poller, 1, 10_000) == 1 else { throw TestFailure("no answer from the runner within 10 s") }
            let count = buffer.withUnsafeMutableBytes { read(ours, $0.baseAddress, $0.count) }
            guard count > 0 else { throw TestFailure("the runner closed its channel without answering") }
            decoder.append(buffer[0..<count])
        }
    }
}

/// A logger that keeps every line with its level.
final class CapturedLines: Sendable {
    struct Line: Equatable, Sendable {
        var level: Logger.Level
        var text: String
    }

    private let captured = Mutex<[Line]>([])

    var lines: [Line] { captured.withLock { $0 } }

    func logger() -> Logger {
        var logger = Logger(label: "abi-tests") { _ in Handler(capture: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct Handler: LogHandler {
        let capture: CapturedLines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.captured.withLock { $0.append(Line(level: event.level, text: event.message.description)) }
        }
    }
}
