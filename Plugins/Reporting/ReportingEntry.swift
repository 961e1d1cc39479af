import AddonKit
import PluginAPI

// nonisolated(unsafe): a pointer is not Sendable, but the descriptor is built once by the global's
// thread-safe lazy initialiser and only ever read afterwards.
nonisolated(unsafe) private let descriptor = makeAddonDescriptor(
    id: "com.switchboard.reporting",
    name: "Delivery Reports",
    vendor: "Switchboard",
    version: "1.1.0",
    create: { host in
        guard let host else { return nil }
        let handle = HostHandle(host)
        do {
            return Unmanaged.passRetained(try ReportingInstance(host: handle)).toOpaque()
        } catch {
            handle.log(.error, "cannot start: \(error)")
            return nil
        }
    },
    destroy: { instance in
        guard let instance else { return }
        Unmanaged<ReportingInstance>.fromOpaque(instance).release()
    },
    onEvent: { instance, event in
        guard let instance, let event else { return SB_ERROR }
        return Unmanaged<ReportingInstance>.fromOpaque(instance).takeUnretainedValue().handle(EventView(event))
    },
    erase: { instance, subject in
        guard let instance, let subject else { return SB_ERROR }
        return Unmanaged<ReportingInstance>.fromOpaque(instance).takeUnretainedValue().erase(SubjectView(subject))
    },
    endBatch: { instance in
        guard let instance else { return SB_ERROR }
        return Unmanaged<ReportingInstance>.fromOpaque(instance).takeUnretainedValue().endBatch()
    }
)

/// The add-on's one exported symbol. Public, or release builds do not export it.
@_cdecl("switchboard_addon_entry")
public func switchboardAddonEntry() -> UnsafePointer<sb_addon_descriptor> {
    descriptor
}
