import Foundation

/// The Swift project: a package on the SDK in `sdk/`, built into a dynamic library.
extension AddonScaffold {
    /// The package, target and product name for an id: its last component in upper camel case
    /// (`com.example.delivery-counter` → `DeliveryCounter`).
    static func swiftTargetName(id: String) -> String {
        let words = id.split(separator: ".").last!.split { !$0.isLetter && !$0.isNumber }
        let name = words.map { $0.prefix(1).uppercased() + $0.dropFirst() }.joined()
        return name.first?.isLetter == true ? name : "Addon" + name
    }

    static func swiftPackage(target: String) -> String {
        """
        // swift-tools-version:6.0
        import PackageDescription

        let package = Package(
            name: "\(target)",
            platforms: [.macOS(.v14)],
            products: [.library(name: "\(target)", type: .dynamic, targets: ["\(target)"])],
            // The SDK in sdk/: the C header (PluginAPI) and AddonKit. Rewrite it from the daemon you
            // target with `switchboard addons sdk --force sdk`.
            dependencies: [.package(path: "sdk")],
            targets: [
                .target(
                    name: "\(target)",
                    dependencies: [
                        .product(name: "AddonKit", package: "sdk"),
                        .product(name: "PluginAPI", package: "sdk"),
                    ],
                    // The version script makes the library export switchboard_addon_entry and nothing
                    // else. It is an unsafe flag, which SwiftPM accepts only from the package being
                    // built, never from a dependency: that is why it is here and not in the SDK.
                    linkerSettings: [
                        .unsafeFlags(
                            ["-Xlinker", "--version-script=\\(Context.packageDirectory)/exports.map"],
                            .when(platforms: [.linux]))
                    ])
            ],
            swiftLanguageModes: [.v6]
        )

        """
    }

    static func swiftSource(id: String, name: String, vendor: String) -> String {
        """
        // \(name): a Switchboard add-on. Build with `make`, pin with `make pin`, check with `make check`.
        // It counts delivered messages per account and emits each account's count as a metric.
        import AddonKit
        import PluginAPI

        /// One instance: the delivered messages of each account, counted in memory.
        final class Counter: Sendable {
            private let host: HostHandle
            private let delivered = Locked<[String: Int]>([:])

            init(host: HostHandle) { self.host = host }

            /// message.status events: only the fields granted by the customer are present.
            func handle(_ event: EventView) -> Int32 {
                guard let status = event.text("usage.status") else { return SB_ERROR }
                guard status == "delivered" else { return SB_OK }
                let account = event.accountID
                let count = delivered.withLock { counts in
                    counts[account, default: 0] += 1
                    return counts[account, default: 0]
                }
                host.emit(
                    kind: "metric", accountID: account, key: "delivered_messages",
                    json: "{\\"name\\":\\"delivered_messages\\",\\"value\\":\\(count)}")
                return SB_OK
            }

            /// Nothing about people is kept; an erased account's count goes.
            func erase(_ subject: SubjectView) -> Int32 {
                if subject.kind == SB_SUBJECT_ACCOUNT {
                    let account = subject.accountID
                    _ = delivered.withLock { $0.removeValue(forKey: account) }
                }
                return SB_OK
            }
        }

        // nonisolated(unsafe): a pointer is not Sendable, but the descriptor is built once by the global's
        // thread-safe lazy initialiser and only ever read afterwards. The closures capture nothing: they
        // become C function pointers.
        nonisolated(unsafe) private let descriptor = makeAddonDescriptor(
            id: "\(id)",
            name: "\(name)",
            vendor: "\(vendor)",
            version: "0.1.0",
            create: { host in
                guard let host else { return nil }
                return Unmanaged.passRetained(Counter(host: HostHandle(host))).toOpaque()
            },
            destroy: { instance in
                guard let instance else { return }
                Unmanaged<Counter>.fromOpaque(instance).release()
            },
            onEvent: { instance, event in
                guard let instance, let event else { return SB_ERROR }
                return Unmanaged<Counter>.fromOpaque(instance).takeUnretainedValue().handle(EventView(event))
            },
            erase: { instance, subject in
                guard let instance, let subject else { return SB_ERROR }
                return Unmanaged<Counter>.fromOpaque(instance).takeUnretainedValue().erase(SubjectView(subject))
            }
        )

        /// The add-on's one exported symbol. Public, or release builds do not export it.
        @_cdecl("switchboard_addon_entry")
        public func switchboardAddonEntry() -> UnsafePointer<sb_addon_descriptor> {
            descriptor
        }

        """
    }

    static func swiftMakefile(target: String, manifest: String) -> String {
        let library = "lib\(target).so"
        return """
            # SWITCHBOARD: the switchboard binary that checks the add-on (make SWITCHBOARD=/path/to/switchboard).
            SWITCHBOARD ?= switchboard
            SWIFT ?= swift

            # SwiftPM decides what to rebuild; the library is then copied beside the manifest.
            \(library): FORCE
            \t$(SWIFT) build -c release --product \(target)
            \tcp .build/release/\(library) $@

            \(pinRules(library: library, manifest: manifest))
            clean:
            \trm -rf .build \(library)

            FORCE:

            .PHONY: pin check load clean FORCE

            """
    }
}
