import PluginAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An add-on's `sb_addon_descriptor` that passed every check the host makes before calling it, with
/// its slots read once, each only if it lies within the descriptor's `struct_size`
/// (`switchboard_addon.h`, "The add-on descriptor" and "Rationale for struct_size").
///
/// The in-process loader and the isolated runner both make one with ``validate(_:expecting:host:)``
/// (or ``load(library:expecting:host:)``) and call the add-on only through its callbacks, never
/// through the raw descriptor, so a descriptor from an older minor is never read past its end.
public struct ValidatedDescriptor: @unchecked Sendable {
    // @unchecked: C function pointers and immutable strings copied out of a descriptor the header
    // requires to have static storage duration.

    /// `create`, as Swift imports it from the header.
    public typealias Create = @convention(c) (UnsafePointer<sb_host>?) -> UnsafeMutableRawPointer?
    /// `destroy`.
    public typealias Destroy = @convention(c) (UnsafeMutableRawPointer?) -> Void
    /// `on_event`.
    public typealias OnEvent = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_event>?) -> Int32
    /// `check`.
    public typealias Check =
        @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_event>?, UnsafeMutablePointer<sb_verdict>?) -> Int32
    /// `erase`.
    public typealias Erase = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_subject>?) -> Int32
    /// `end_batch` (since 1.1).
    public typealias EndBatch = @convention(c) (UnsafeMutableRawPointer?) -> Int32

    /// What the host knows about the add-on before it loads the library: the manifest's id, version
    /// and hooks.
    public struct Expectation: Sendable, Equatable {
        /// The manifest's `id`; the descriptor's `id` must equal it.
        public var id: String
        /// The manifest's `version`; the descriptor's `version` must equal it.
        public var version: String
        /// The manifest's `hooks`; nil when unknown, which skips the check that each hook has its
        /// callback.
        public var hooks: [ABIEventType]?

        public init(id: String, version: String, hooks: [ABIEventType]?) {
            self.id = id
            self.version = version
            self.hooks = hooks
        }
    }

    /// `abi.major` as declared.
    public let abiMajor: UInt32
    /// `abi.minor` as declared: no newer than the host's.
    public let abiMinor: UInt32
    /// `struct_size` as declared: at least the smallest published descriptor.
    public let structSize: Int
    /// `flags` (`SB_ADDON_*`).
    public let flags: UInt32
    /// `id`; "" when NULL.
    public let id: String
    /// `name`; "" when NULL.
    public let name: String
    /// `vendor`; "" when NULL.
    public let vendor: String
    /// `version`; "" when NULL.
    public let version: String
    /// `create`: required.
    public let create: Create
    /// `destroy`: required.
    public let destroy: Destroy
    /// `on_event`; nil when NULL or beyond `struct_size`.
    public let onEvent: OnEvent?
    /// `check`; nil when NULL or beyond `struct_size`.
    public let check: Check?
    /// `erase`; nil when NULL or beyond `struct_size`.
    public let erase: Erase?
    /// `end_batch` (since 1.1); nil when NULL or beyond `struct_size` (a 1.0 descriptor).
    public let endBatch: EndBatch?

    /// Checks a descriptor as the header requires before any callback is called, in this order:
    /// not NULL; `abi.major` equal to the host's; `abi.minor` no newer; `struct_size` at least the
    /// smallest published descriptor; then, when `expecting` is given, `id` and `version` equal to
    /// the manifest's; `create` and `destroy` set; and `check` (for `message.submit`) or `on_event`
    /// (for any other event) set for every hook the manifest subscribes to.
    ///
    /// A slot whose end lies beyond `struct_size` (a descriptor built against an older minor) is
    /// read as NULL and its memory is never touched.
    public static func validate(
        _ descriptor: UnsafePointer<sb_addon_descriptor>?, expecting: Expectation? = nil, host: HostABI = .current
    ) throws(DescriptorError) -> ValidatedDescriptor {
        guard let descriptor else {
            throw DescriptorError(
                .entryReturnedNull, field: SB_ADDON_ENTRY_SYMBOL, "\(SB_ADDON_ENTRY_SYMBOL) returned NULL")
        }
        let raw = UnsafeRawPointer(descriptor)
        // The version and struct_size come first in every minor ("First, always").
        let abi = raw.load(fromByteOffset: DescriptorLayout.offset(of: \.abi), as: sb_abi_version.self)
        guard abi.major == host.major else {
            throw DescriptorError(
                .otherMajor, field: "abi.major",
                "the library was built for ABI major \(abi.major); this host speaks major \(host.major): rebuild against the current switchboard_addon.h"
            )
        }
        guard host.accepts(major: abi.major, minor: abi.minor) else {
            throw DescriptorError(
                .newerMinor, field: "abi.minor",
                "the library was built for ABI \(abi.major).\(abi.minor), newer than this host's \(host.version): upgrade the host or rebuild against its header"
            )
        }
        let structSize = Int(raw.load(fromByteOffset: DescriptorLayout.offset(of: \.struct_size), as: UInt32.self))
        guard structSize >= host.minimumDescriptorSize else {
            throw DescriptorError(
                .structTooSmall, field: "struct_size",
                "descriptor struct_size \(structSize) is smaller than the \(host.major).0 descriptor's \(host.minimumDescriptorSize) bytes, the smallest this host reads: set struct_size = sizeof(sb_addon_descriptor) from the header you build against"
            )
        }
        let slots = Slots(base: raw, structSize: structSize)
        func string(_ slot: KeyPath<sb_addon_descriptor, UnsafePointer<CChar>?>) -> String {
            slots.read(slot).map { String(cString: $0) } ?? ""
        }
        let id = string(\.id)
        let version = string(\.version)
        let onEvent = slots.read(\.on_event)
        let check = slots.read(\.check)
        if let expecting {
            guard id == expecting.id else {
                throw DescriptorError(
                    .idMismatch, field: "id",
                    "the library calls itself \"\(id)\" but the manifest is for \"\(expecting.id)\"; an add-on may not claim another's id"
                )
            }
            guard version == expecting.version else {
                throw DescriptorError(
                    .versionMismatch, field: "version",
                    "the library is version \(version) but the manifest describes \(expecting.version)")
            }
        }
        guard let create = slots.read(\.create), let destroy = slots.read(\.destroy) else {
            throw DescriptorError(
                .callbackMissing, field: slots.read(\.create) == nil ? "create" : "destroy",
                "the descriptor has no create or destroy callback")
        }
        for hook in expecting?.hooks ?? [] {
            if hook.isPreSendCheck, check == nil {
                throw DescriptorError(
                    .callbackMissing, field: "check",
                    "the manifest subscribes to \(hook.name) but the library has no check callback")
            }
            if !hook.isPreSendCheck, onEvent == nil {
                throw DescriptorError(
                    .callbackMissing, field: "on_event",
                    "the manifest subscribes to \(hook.name) but the library has no on_event callback")
            }
        }
        return ValidatedDescriptor(
            abiMajor: abi.major, abiMinor: abi.minor, structSize: structSize, flags: slots.read(\.flags) ?? 0, id: id,
            name: string(\.name), vendor: string(\.vendor), version: version, create: create, destroy: destroy,
            onEvent: onEvent, check: check, erase: slots.read(\.erase), endBatch: slots.read(\.end_batch))
    }

    /// Opens the library at `path`, calls its entry and validates the descriptor it returns (see
    /// ``validate(_:expecting:host:)``). The library is never closed: unloading is not guaranteed,
    /// and a stray callback into unmapped code would crash the process.
    public static func load(library path: String, expecting: Expectation?, host: HostABI = .current)
        throws(DescriptorError) -> ValidatedDescriptor
    {
        guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
            let reason = dlerror().map { String(cString: $0) } ?? "unknown error"
            throw DescriptorError(.libraryNotLoadable, field: "library", "dlopen failed: \(reason)")
        }
        guard let symbol = dlsym(handle, SB_ADDON_ENTRY_SYMBOL) else {
            let file = path.split(separator: "/").last.map(String.init) ?? path
            throw DescriptorError(
                .entryMissing, field: SB_ADDON_ENTRY_SYMBOL,
                "library \(file) does not export \(SB_ADDON_ENTRY_SYMBOL); declare it with SB_EXPORT (C) or as a public @_cdecl function (Swift)"
            )
        }
        let entry = unsafeBitCast(symbol, to: sb_addon_entry_fn.self)
        return try validate(entry(), expecting: expecting, host: host)
    }

    /// Ends a delivery whose items the add-on answered with `codes`: calls `end_batch` when the
    /// add-on has one. When it fails, none of the answers hold and every item is answered
    /// `SB_RETRY`, so the host delivers the batch again (header, `end_batch`). The in-process host
    /// and the runner both end their batches here, so they cannot differ.
    public func endBatch(_ instance: UnsafeMutableRawPointer, answering codes: [Int32]) -> [Int32] {
        guard !codes.isEmpty, let endBatch, endBatch(instance) != SB_OK else { return codes }
        return codes.map { _ in SB_RETRY }
    }

    /// Calls `create` with the host vtable; the instance, or an error when `create` returned NULL
    /// (header: "Returns NULL on failure (log why through host->log first)").
    public func instantiate(_ host: UnsafePointer<sb_host>) throws(DescriptorError) -> UnsafeMutableRawPointer {
        guard let instance = create(host) else {
            throw DescriptorError(
                .createFailed, field: "create", "create returned NULL; see the add-on's log lines above")
        }
        return instance
    }

    /// Reads the slots that lie within `struct_size`.
    private struct Slots {
        let base: UnsafeRawPointer
        let structSize: Int

        /// The slot's value, or nil when the slot ends beyond `struct_size` (header: "the receiver
        /// reads only the slots that fit in struct_size").
        func read<Value>(_ slot: KeyPath<sb_addon_descriptor, Value?>) -> Value? {
            guard DescriptorLayout.end(of: slot) <= structSize else { return nil }
            return base.load(fromByteOffset: DescriptorLayout.offset(of: slot), as: Value?.self)
        }

        func read(_ slot: KeyPath<sb_addon_descriptor, UInt32>) -> UInt32? {
            guard DescriptorLayout.end(of: slot) <= structSize else { return nil }
            return base.load(fromByteOffset: DescriptorLayout.offset(of: slot), as: UInt32.self)
        }
    }
}
