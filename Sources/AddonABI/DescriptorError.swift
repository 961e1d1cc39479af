/// Why an add-on library was refused before any of its callbacks ran: its entry symbol, its
/// descriptor's ABI version or size, its identity, or a callback it lacks (`switchboard_addon.h`,
/// section "The add-on descriptor"; docs/addons.md, 2.1 lists the order of the checks).
///
/// The message names what is wrong and how to fix it; the in-process loader and the isolated runner
/// report the same message for the same library.
public struct DescriptorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of problem. New codes may be added: compare with the static members, do not switch
    /// exhaustively.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Sendable {
            case libraryNotLoadable = "library_not_loadable"
            case entryMissing = "entry_missing"
            case entryReturnedNull = "entry_returned_null"
            case otherMajor = "other_major"
            case newerMinor = "newer_minor"
            case structTooSmall = "struct_too_small"
            case idMismatch = "id_mismatch"
            case versionMismatch = "version_mismatch"
            case callbackMissing = "callback_missing"
            case createFailed = "create_failed"
        }

        private let value: Value

        private init(_ value: Value) {
            self.value = value
        }

        /// `dlopen` failed: a dependency is missing or a symbol is unresolved.
        public static let libraryNotLoadable = Code(.libraryNotLoadable)
        /// The library does not export `switchboard_addon_entry`.
        public static let entryMissing = Code(.entryMissing)
        /// `switchboard_addon_entry` returned NULL.
        public static let entryReturnedNull = Code(.entryReturnedNull)
        /// The descriptor's ABI major differs from the host's.
        public static let otherMajor = Code(.otherMajor)
        /// The descriptor's ABI minor is newer than the host's.
        public static let newerMinor = Code(.newerMinor)
        /// `struct_size` is smaller than the smallest descriptor published under the host's major.
        public static let structTooSmall = Code(.structTooSmall)
        /// The descriptor's `id` differs from the manifest's.
        public static let idMismatch = Code(.idMismatch)
        /// The descriptor's `version` differs from the manifest's.
        public static let versionMismatch = Code(.versionMismatch)
        /// A callback the ABI or the manifest's hooks require is NULL.
        public static let callbackMissing = Code(.callbackMissing)
        /// `create` returned NULL.
        public static let createFailed = Code(.createFailed)

        public var description: String { value.rawValue }
    }

    /// The kind of problem.
    public var code: Code
    /// What is at fault, as the header spells it: a descriptor slot (`abi.major`, `abi.minor`,
    /// `struct_size`, `id`, `version`, `create`, `destroy`, `on_event`, `check`), the entry symbol
    /// (`switchboard_addon_entry`) or the library file (`library`).
    public var field: String
    /// What is wrong and how to fix it.
    public var message: String

    public init(_ code: Code, field: String, _ message: String) {
        self.code = code
        self.field = field
        self.message = message
    }

    public var description: String { message }
}
