// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

/// Bundled add-ons export only `switchboard_addon_entry` (a partner's add-on should do the same).
let exportOnlyEntry: [LinkerSetting] = [
    .unsafeFlags(
        ["-Xlinker", "--version-script=\(Context.packageDirectory)/Plugins/exports.map"], .when(platforms: [.linux]))
]

let package = Package(
    name: "switchboard",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "switchboard", targets: ["switchboard"]),
        .executable(name: "switchboard-bench", targets: ["SwitchboardBench"]),
        .executable(name: "switchboard-addon-runner", targets: ["AddonRunner"]),
        .library(name: "PluginAPI", targets: ["PluginAPI"]),
        .library(name: "AddonKit", targets: ["AddonKit"]),
        .library(name: "ComplianceScrub", type: .dynamic, targets: ["ComplianceScrub"]),
        .library(name: "Reporting", type: .dynamic, targets: ["Reporting"]),
        .library(name: "Monitoring", type: .dynamic, targets: ["Monitoring"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swiftcsv/SwiftCSV.git", from: "0.10.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        .target(name: "PluginAPI"),
        .target(name: "AddonKit", dependencies: ["PluginAPI"], swiftSettings: strict),
        .target(
            name: "ComplianceScrub", dependencies: ["PluginAPI"], path: "Plugins/ComplianceScrub",
            linkerSettings: exportOnlyEntry),
        .target(
            name: "Reporting", dependencies: ["AddonKit", "PluginAPI"], path: "Plugins/Reporting",
            swiftSettings: strict, linkerSettings: exportOnlyEntry
        ),
        .target(
            name: "Monitoring", dependencies: ["AddonKit", "PluginAPI"], path: "Plugins/Monitoring",
            swiftSettings: strict,
            linkerSettings: exportOnlyEntry),
        // The daemon's library, split so the compiler keeps the architecture (docs/architecture.md):
        // the core knows nothing of add-ons or HTTP; the add-on platform implements the core's seams;
        // the HTTP API adapts both; the composition root alone wires them together.
        .target(
            name: "SwitchboardCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "SwiftCSV", package: "SwiftCSV"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardAddons",
            dependencies: [
                "SwitchboardCore",
                "PluginAPI",
                "RunnerProtocol",
                "AddonABI",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "DequeModule", package: "swift-collections"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardAPI",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAddons",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Mustache", package: "swift-mustache"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "SwitchboardDaemon",
            dependencies: [
                "SMPP",
                "SwitchboardSMPP",
                "SwitchboardCore",
                "SwitchboardAddons",
                "SwitchboardAPI",
                "PluginAPI",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "switchboard",
            dependencies: [
                "SwitchboardCore",
                "SwitchboardAddons",
                "SwitchboardAPI",
                "SwitchboardDaemon",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // SMPP 3.4 on SwiftNIO: PDUs, their codec, GSM 03.38 text and receipts; no storage, no I/O
        // of its own, so the fuzz target for the PDU decoder depends on it alone.
        .target(
            name: "SMPP", dependencies: [.product(name: "NIOCore", package: "swift-nio")], swiftSettings: strict),
        // SMPP carrier connectors and the SMPP server, on the core's seams.
        .target(
            name: "SwitchboardSMPP",
            dependencies: [
                "SMPP",
                "SwitchboardCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(name: "RunnerProtocol", swiftSettings: strict),
        .target(name: "AddonABI", dependencies: ["PluginAPI", "RunnerProtocol"], swiftSettings: strict),
        .executableTarget(
            name: "AddonRunner", dependencies: ["PluginAPI", "RunnerProtocol", "AddonABI"], swiftSettings: strict),
        .executableTarget(name: "SwitchboardBench", dependencies: ["SwitchboardDaemon"], swiftSettings: strict),
        .testTarget(
            name: "HostTests",
            dependencies: [
                "SMPP",
                "SwitchboardSMPP",
                "SwitchboardCore",
                "SwitchboardAddons",
                "SwitchboardAPI",
                "SwitchboardDaemon",
                "RunnerProtocol",
                "AddonABI",
                "AddonKit",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
