import Foundation

/// The partner kit: the C header, the export list and AddonKit's sources, found beside an installed
/// daemon or in the source tree its build directory belongs to, and written out as a self-contained
/// Swift package (`SwitchboardAddonSDK`) that a partner's package can depend on.
///
/// Every file except the SDK's `Package.swift` is copied from a real file, never from a string in
/// this code, so the kit cannot drift from the header the daemon was built with.
///
/// ```
/// DIR/switchboard_addon.h                          for C: add -IDIR
/// DIR/exports.map                                  the version script: export the entry only
/// DIR/Package.swift                                SwitchboardAddonSDK: products AddonKit, PluginAPI
/// DIR/Sources/PluginAPI/include/switchboard_addon.h
/// DIR/Sources/PluginAPI/PluginAPI.c
/// DIR/Sources/AddonKit/*.swift
/// ```
public struct AddonSDK: Sendable {
    /// `switchboard_addon.h`.
    public var header: URL
    /// The one C file SwiftPM needs to build the header-only `PluginAPI` target.
    public var pluginAPISource: URL
    /// AddonKit's Swift sources.
    public var addonKitSources: [URL]
    /// The version script that exports `switchboard_addon_entry` and nothing else.
    public var exportList: URL

    /// The SDK's files, read from where they were found.
    public func files() throws -> [AddonProjectFile] {
        var files = [
            AddonProjectFile(path: "switchboard_addon.h", contents: try Data(contentsOf: header)),
            AddonProjectFile(path: "exports.map", contents: try Data(contentsOf: exportList)),
            AddonProjectFile(path: "Package.swift", contents: Data(Self.packageManifest.utf8)),
            AddonProjectFile(
                path: "Sources/PluginAPI/include/switchboard_addon.h", contents: try Data(contentsOf: header)),
            AddonProjectFile(path: "Sources/PluginAPI/PluginAPI.c", contents: try Data(contentsOf: pluginAPISource)),
        ]
        for source in addonKitSources {
            files.append(
                AddonProjectFile(
                    path: "Sources/AddonKit/" + source.lastPathComponent, contents: try Data(contentsOf: source)))
        }
        return files
    }

    /// Writes the SDK into `directory` (created if missing). A file already there with the same
    /// contents is left alone; one that differs is replaced only with `force`, and otherwise nothing
    /// at all is written. Returns the paths written (files already up to date are left out).
    @discardableResult
    public func write(to directory: URL, force: Bool) throws -> [String] {
        try ProjectFiles.write(try files(), to: directory, existing: force ? .replace : .keepIfIdentical)
    }

    /// The SDK's manifest. Generated, as it exists nowhere else: no `unsafeFlags`, so SwiftPM
    /// accepts the SDK as a dependency (our own package links its add-ons with a version script,
    /// an unsafe flag, and cannot be depended on).
    static let packageManifest = """
        // swift-tools-version:6.0
        // The Switchboard add-on SDK, written by `switchboard addons sdk`: the C ABI (PluginAPI) and
        // AddonKit, a small Swift layer over it. Depend on it with `.package(path: "<this directory>")`.
        // Rewrite it with the daemon you target rather than editing it.
        import PackageDescription

        let package = Package(
            name: "SwitchboardAddonSDK",
            platforms: [.macOS(.v14)],
            products: [
                .library(name: "AddonKit", targets: ["AddonKit"]),
                .library(name: "PluginAPI", targets: ["PluginAPI"]),
            ],
            targets: [
                .target(name: "PluginAPI"),
                .target(
                    name: "AddonKit", dependencies: ["PluginAPI"],
                    swiftSettings: [.enableUpcomingFeature("ExistentialAny")]),
            ],
            swiftLanguageModes: [.v6]
        )

        """
}

extension AddonSDK {
    /// Where an installed SDK lives, relative to the directory of the `switchboard` executable.
    public static let installedSDKPath = "../share/switchboard/sdk"
    /// Where an installed C header lives, relative to the directory of the `switchboard` executable.
    public static let installedHeaderPath = "../include/switchboard"

    /// Finds the kit for the running executable: in the installed layout (`scripts/install`), or,
    /// for an executable in a build directory, in the source tree that holds it.
    public static func locate() throws -> AddonSDK {
        try locate(executableDirectory: BundledAddons.executableDirectory)
    }

    /// Finds the kit for an executable in `executableDirectory`.
    public static func locate(executableDirectory: URL) throws -> AddonSDK {
        let installed = executableDirectory.appendingPathComponent(installedSDKPath).standardizedFileURL
        let includes = executableDirectory.appendingPathComponent(installedHeaderPath).standardizedFileURL
        if let sdk = installedLayout(sdk: installed, include: includes) { return sdk }
        var directory = executableDirectory.resolvingSymlinksInPath()
        while directory.path != "/" {
            if let sdk = sourceTree(directory) { return sdk }
            directory = directory.deletingLastPathComponent()
        }
        throw AddonSDKError(
            code: .notFound,
            message: """
                the add-on SDK was not found: looked in \(installed.path) (with the header in \(includes.path)) \
                and in the source tree above \(executableDirectory.resolvingSymlinksInPath().path) \
                (a directory holding Package.swift and Sources/PluginAPI); install the kit with \
                `scripts/install [PREFIX]` from the source tree and run PREFIX/bin/switchboard
                """)
    }

    private static func installedLayout(sdk: URL, include: URL) -> AddonSDK? {
        let sources = sdk.appendingPathComponent("Sources")
        let headers = [
            include.appendingPathComponent("switchboard_addon.h"),
            sources.appendingPathComponent("PluginAPI/include/switchboard_addon.h"),
        ]
        guard let header = headers.first(where: { FileManager.default.fileExists(atPath: $0.path) }) else {
            return nil
        }
        return complete(
            header: header, pluginAPISource: sources.appendingPathComponent("PluginAPI/PluginAPI.c"),
            addonKit: sources.appendingPathComponent("AddonKit"), exportList: sdk.appendingPathComponent("exports.map"))
    }

    private static func sourceTree(_ root: URL) -> AddonSDK? {
        let pluginAPI = root.appendingPathComponent("Sources/PluginAPI")
        guard FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path),
            FileManager.default.fileExists(atPath: pluginAPI.path)
        else { return nil }
        return complete(
            header: pluginAPI.appendingPathComponent("include/switchboard_addon.h"),
            pluginAPISource: pluginAPI.appendingPathComponent("PluginAPI.c"),
            addonKit: root.appendingPathComponent("Sources/AddonKit"),
            exportList: root.appendingPathComponent("Plugins/exports.map"))
    }

    private static func complete(header: URL, pluginAPISource: URL, addonKit: URL, exportList: URL) -> AddonSDK? {
        let files = FileManager.default
        guard files.fileExists(atPath: header.path), files.fileExists(atPath: pluginAPISource.path),
            files.fileExists(atPath: exportList.path),
            let names = try? files.contentsOfDirectory(atPath: addonKit.path)
        else { return nil }
        let sources = names.filter { $0.hasSuffix(".swift") }.sorted().map { addonKit.appendingPathComponent($0) }
        guard !sources.isEmpty else { return nil }
        return AddonSDK(
            header: header, pluginAPISource: pluginAPISource, addonKitSources: sources, exportList: exportList)
    }
}

/// Why the add-on SDK could not be found or written; the message says how to fix it.
public struct AddonSDKError: Error, CustomStringConvertible, Sendable {
    /// What went wrong, as a value callers can compare.
    public struct Code: Hashable, Sendable {
        private enum Value { case notFound, filesDiffer, filesExist, cannotWrite }
        private let value: Value
        /// Neither an installed SDK nor a source tree was found.
        public static let notFound = Code(value: .notFound)
        /// Files already in the directory differ from the SDK's (pass `--force` to replace them).
        public static let filesDiffer = Code(value: .filesDiffer)
        /// A new project would overwrite files already in the directory.
        public static let filesExist = Code(value: .filesExist)
        /// A file could not be written (a read-only directory, a file in the way).
        public static let cannotWrite = Code(value: .cannotWrite)
    }

    /// What went wrong.
    public var code: Code
    /// What went wrong, where, and how to fix it.
    public var message: String
    /// The files concerned, if any.
    public var files: [String] = []

    public var description: String { message }
}
