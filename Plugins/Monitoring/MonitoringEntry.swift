import AddonKit
import PluginAPI

// nonisolated(unsafe): a pointer is not Sendable, but the descriptor is built once by the global's
// thread-safe lazy initialiser and only ever read afterwards.
nonisolated(unsafe) private let descriptor = makeAddonDescriptor(
    id: "com.switchboard.monitoring",
    name: "API Monitoring",
    vendor: "Switchboard",
    version: "1.0.0",
    create: { host in
        guard let host else { return nil }
        return Unmanaged.passRetained(MonitoringInstance(host: HostHandle(host))).toOpaque()
    },
    destroy: { instance in
        guard let instance else { return }
        Unmanaged<MonitoringInstance>.fromOpaque(instance).release()
    },
    onEvent: { instance, event in
        guard let instance, let event else { return SB_ERROR }
        return Unmanaged<MonitoringInstance>.fromOpaque(instance).takeUnretainedValue().handle(EventView(event))
    },
    erase: { instance, subject in
        guard let instance, let subject else { return SB_ERROR }
        return Unmanaged<MonitoringInstance>.fromOpaque(instance).takeUnretainedValue().erase(SubjectView(subject))
    },
    endBatch: { instance in
        guard let instance else { return SB_ERROR }
        return Unmanaged<MonitoringInstance>.fromOpaque(instance).takeUnretainedValue().endBatch()
    }
)

/// The add-on's one exported symbol. Public, or release builds do not export it.
@_cdecl("switchboard_addon_entry")
public func switchboardAddonEntry() -> UnsafePointer<sb_addon_descriptor> {
    descriptor
}
