import PluginAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// The C signatures of the descriptor's callbacks, as Swift imports them from the header.
public typealias AddonCreate = @convention(c) (UnsafePointer<sb_host>?) -> UnsafeMutableRawPointer?
public typealias AddonDestroy = @convention(c) (UnsafeMutableRawPointer?) -> Void
public typealias AddonOnEvent = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_event>?) -> Int32
public typealias AddonCheck =
    @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_event>?, UnsafeMutablePointer<sb_verdict>?) -> Int32
public typealias AddonErase = @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<sb_subject>?) -> Int32
/// `end_batch` (ABI 1.1).
public typealias AddonEndBatch = @convention(c) (UnsafeMutableRawPointer?) -> Int32

/// Builds a descriptor for `switchboard_addon_entry` to return, stamped with the ABI version this
/// add-on was compiled against. `endBatch` (ABI 1.1) is called after each delivered batch of
/// events and after each erasure, for an add-on that writes once per batch (header, `end_batch`).
///
/// Call it once, from a global initialiser: the descriptor and its strings are never freed, because
/// the header promises the host a descriptor "with static storage duration" and Swift strings have no
/// such lifetime of their own.
public func makeAddonDescriptor(
    id: String,
    name: String,
    vendor: String,
    version: String,
    flags: UInt32 = 0,
    create: AddonCreate,
    destroy: AddonDestroy,
    onEvent: AddonOnEvent? = nil,
    check: AddonCheck? = nil,
    erase: AddonErase? = nil,
    endBatch: AddonEndBatch? = nil
) -> UnsafePointer<sb_addon_descriptor> {
    let descriptor = UnsafeMutablePointer<sb_addon_descriptor>.allocate(capacity: 1)
    descriptor.initialize(
        to: sb_addon_descriptor(
            abi: sb_abi_version(major: UInt32(SB_ABI_VERSION_MAJOR), minor: UInt32(SB_ABI_VERSION_MINOR)),
            struct_size: UInt32(MemoryLayout<sb_addon_descriptor>.size),
            flags: flags,
            id: immortalCString(id),
            name: immortalCString(name),
            vendor: immortalCString(vendor),
            version: immortalCString(version),
            create: create,
            destroy: destroy,
            on_event: onEvent,
            check: check,
            erase: erase,
            end_batch: endBatch
        ))
    return UnsafePointer(descriptor)
}

/// A NUL-terminated copy of `text` that is never freed.
private func immortalCString(_ text: String) -> UnsafePointer<CChar> {
    guard let copy = strdup(text) else { fatalError("out of memory copying the add-on descriptor") }
    return UnsafePointer(copy)
}
