import PluginAPI

/// The level of a line an add-on writes through `sb_host.log`: the `SB_LOG_*` values
/// (`switchboard_addon.h`, section "The host vtable").
///
/// Both the in-process bridge and the isolated runner read an add-on's level through
/// ``init(abiLevel:)``, and the daemon maps this enum to its logger's levels in one place, so a line
/// means the same in both modes.
public enum ABILogLevel: CaseIterable, Sendable {
    /// `SB_LOG_DEBUG`.
    case debug
    /// `SB_LOG_INFO`.
    case info
    /// `SB_LOG_WARNING`.
    case warning
    /// `SB_LOG_ERROR`.
    case error

    /// The level an add-on passed. A value above `SB_LOG_ERROR` counts as an error (docs/addons.md,
    /// "The host vtable"): a newer add-on's level is never logged below what it meant.
    public init(abiLevel: UInt32) {
        self = Self.allCases.first { $0.abiLevel == abiLevel } ?? .error
    }

    /// The `SB_LOG_*` value.
    public var abiLevel: UInt32 {
        switch self {
        case .debug: UInt32(SB_LOG_DEBUG)
        case .info: UInt32(SB_LOG_INFO)
        case .warning: UInt32(SB_LOG_WARNING)
        case .error: UInt32(SB_LOG_ERROR)
        }
    }
}
