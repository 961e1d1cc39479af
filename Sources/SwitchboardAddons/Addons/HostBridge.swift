import AddonABI
import Foundation
import Logging
import PluginAPI
import SwitchboardCore

/// A record an add-on emitted through the host vtable.
public struct EmittedRecord: Sendable, Equatable {
    public var addonID: String
    public var accountID: String
    public var kind: String
    public var key: String?
    public var json: String
}

/// The host side of one add-on's `sb_host`: owns the C strings it hands out and routes calls back
/// into Swift. Lives as long as the add-on instance.
final class HostBridge: @unchecked Sendable {
    // @unchecked: every stored property is immutable after init; the C memory is freed in deinit only.
    let addonID: String
    let logger: Logger
    let clock: any WallClock
    let onEmit: @Sendable (EmittedRecord) -> Bool
    private let stateDirectory: UnsafeMutablePointer<CChar>
    private let config: [String: UnsafeMutablePointer<CChar>]
    let vtable: UnsafeMutablePointer<sb_host>

    init(
        addonID: String, stateDirectory: String, config: [String: String], logger: Logger, clock: any WallClock,
        onEmit: @escaping @Sendable (EmittedRecord) -> Bool
    ) {
        self.addonID = addonID
        self.logger = logger
        self.clock = clock
        self.onEmit = onEmit
        self.stateDirectory = strdup(stateDirectory)
        self.config = config.mapValues { strdup($0) }
        vtable = .allocate(capacity: 1)
        vtable.initialize(
            to: sb_host(
                struct_size: UInt32(MemoryLayout<sb_host>.size),
                abi: sb_abi_version(major: UInt32(SB_ABI_VERSION_MAJOR), minor: UInt32(SB_ABI_VERSION_MINOR)),
                host_data: nil,
                log: { host, level, message, length in
                    guard let bridge = HostBridge.from(host), let message else { return }
                    let text = String(
                        decoding: UnsafeRawBufferPointer(start: message, count: Int(length)), as: UTF8.self)
                    bridge.logger.logAddonLine(addonID: bridge.addonID, abiLevel: level, text)
                },
                emit: { host, kind, account, key, json, length in
                    guard let bridge = HostBridge.from(host), let kind, let account, let json else { return -1 }
                    let record = EmittedRecord(
                        addonID: bridge.addonID, accountID: String(cString: account), kind: String(cString: kind),
                        key: key.map { String(cString: $0) },
                        json: String(decoding: UnsafeRawBufferPointer(start: json, count: Int(length)), as: UTF8.self))
                    return bridge.onEmit(record) ? 0 : -1
                },
                now_ms: { host in
                    HostBridge.from(host)?.clock.now().epochMillis ?? 0
                },
                state_dir: { host in
                    UnsafePointer(HostBridge.from(host)?.stateDirectory)
                },
                config_get: { host, key in
                    guard let bridge = HostBridge.from(host), let key else { return nil }
                    return UnsafePointer(bridge.config[String(cString: key)])
                },
                get_extension: { _, _ in nil }
            ))
        vtable.pointee.host_data = Unmanaged.passUnretained(self).toOpaque()
    }

    deinit {
        free(stateDirectory)
        for value in config.values { free(value) }
        vtable.deinitialize(count: 1)
        vtable.deallocate()
    }

    static func from(_ host: UnsafePointer<sb_host>?) -> HostBridge? {
        guard let data = host?.pointee.host_data else { return nil }
        return Unmanaged<HostBridge>.fromOpaque(data).takeUnretainedValue()
    }
}

extension Logger.Level {
    /// The daemon's level for an add-on's log level (`SB_LOG_*`, read through `ABILogLevel`).
    package init(_ level: ABILogLevel) {
        self =
            switch level {
            case .debug: .debug
            case .info: .info
            case .warning: .warning
            case .error: .error
            }
    }
}

extension Logger {
    /// Logs a line an add-on wrote through `sb_host.log` at `abiLevel` (an `SB_LOG_*` value; larger
    /// values count as errors), tagged `addon.id`. Lines from an add-on in process and lines an
    /// isolated runner forwards both go through here, so a level means the same in both modes.
    package func logAddonLine(addonID: String, abiLevel: UInt32, _ text: String) {
        log(level: Logger.Level(ABILogLevel(abiLevel: abiLevel)), "\(text)", metadata: ["addon.id": "\(addonID)"])
    }
}
