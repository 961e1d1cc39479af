import PluginAPI

/// Where the descriptor's slots lie, for reading a descriptor that may be smaller than this host's
/// `sb_addon_descriptor` (header, "The add-on descriptor": a slot is present when
/// `offsetof(sb_addon_descriptor, slot) + sizeof(slot) <= struct_size`).
///
/// Precondition: `slot` is a stored field of `sb_addon_descriptor` (a key path such as `\.erase`);
/// anything else is a programmer error and traps.
public enum DescriptorLayout {
    /// The byte just past `slot`: its offset plus its size. A descriptor has the slot when this is
    /// at most its `struct_size`.
    public static func end<Value>(of slot: KeyPath<sb_addon_descriptor, Value>) -> Int {
        offset(of: slot) + MemoryLayout<Value>.size
    }

    /// The offset of `slot` in `sb_addon_descriptor`.
    public static func offset<Value>(of slot: KeyPath<sb_addon_descriptor, Value>) -> Int {
        guard let offset = MemoryLayout<sb_addon_descriptor>.offset(of: slot) else {
            preconditionFailure("\(slot) is not a stored field of sb_addon_descriptor")
        }
        return offset
    }
}
