import Foundation
import SwitchboardAddons
import Testing

/// The partner kit outside the source tree: installed with `scripts/install`, then an add-on created,
/// built, pinned and loaded in a directory that knows nothing of the checkout, with only the
/// installed binaries and the system's tools on `PATH`.
@Suite struct PartnerKitTests {
    @Test func aCAddonBuildsOutsideTheTreeFromTheInstalledKit() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prefix = try await Self.install(into: scratch.appendingPathComponent("prefix"))
        let project = scratch.appendingPathComponent("delivery-counter")

        let new = try await Self.partner(
            ["switchboard", "addons", "new", "--lang", "c", "--id", "com.example.delivery-counter", project.path],
            prefix: prefix)
        #expect(new.status == 0, "\(new.output)")
        let makefile = try String(contentsOf: project.appendingPathComponent("Makefile"), encoding: .utf8)
        #expect(!makefile.contains(AddonFixture.repoRoot.path) && !makefile.contains("Sources/PluginAPI"))
        #expect(makefile.contains("SWITCHBOARD ?= switchboard"))
        #expect(
            try Data(contentsOf: project.appendingPathComponent("switchboard_addon.h"))
                == Data(contentsOf: AddonFixture.header.appendingPathComponent("switchboard_addon.h")))

        for target in ["all", "pin"] {
            let make = try await Self.partner(
                ["make", "-C", project.path] + (target == "all" ? [] : [target]), prefix: prefix)
            #expect(make.status == 0, "make \(target): \(make.output)")
        }
        let load = try await Self.partner(["make", "-C", project.path, "load"], prefix: prefix)
        #expect(load.status == 0, "\(load.output)")
        #expect(load.output.contains("ok: com.example.delivery-counter 0.1.0"), "\(load.output)")
        #expect(
            try await Self.exportedFunctions(project.appendingPathComponent("libdelivery_counter.so")) == [
                "switchboard_addon_entry"
            ])
        let check = try await Self.partner(["make", "-n", "-C", project.path, "check"], prefix: prefix)
        #expect(check.output.contains("switchboard addons validate com.example.delivery-counter.json"))

        // The installed daemon, run from elsewhere, finds the bundled add-ons, and the runner for this
        // isolated one.
        let list = try await Self.partner(
            [
                "switchboard", "addons", "list", "--data-dir", scratch.appendingPathComponent("data").path,
                "--addons-dir", project.path,
            ], prefix: prefix, in: scratch)
        #expect(list.status == 0, "\(list.output)")
        for id in [
            "com.switchboard.compliance-scrub", "com.switchboard.reporting", "com.switchboard.monitoring",
            "com.example.delivery-counter",
        ] {
            #expect(list.output.contains("loaded  \(id) "), "\(id): \(list.output)")
        }

        // The installed daemon writes the SDK from its own share/switchboard/sdk.
        let sdk = scratch.appendingPathComponent("sdk")
        let written = try await Self.partner(["switchboard", "addons", "sdk", sdk.path], prefix: prefix)
        #expect(written.status == 0, "\(written.output)")
        #expect(
            try Data(contentsOf: sdk.appendingPathComponent("Sources/PluginAPI/include/switchboard_addon.h"))
                == Data(contentsOf: AddonFixture.header.appendingPathComponent("switchboard_addon.h")))
    }

    @Test func aSwiftAddonBuildsOutsideTheTreeOnTheSDK() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let prefix = try await Self.install(into: scratch.appendingPathComponent("prefix"))
        let project = scratch.appendingPathComponent("delivery-counter")

        let new = try await Self.partner(
            ["switchboard", "addons", "new", "--lang", "swift", "--id", "com.example.delivery-counter", project.path],
            prefix: prefix)
        #expect(new.status == 0, "\(new.output)")
        let package = try String(contentsOf: project.appendingPathComponent("Package.swift"), encoding: .utf8)
        #expect(package.contains(#".package(path: "sdk")"#) && package.contains("type: .dynamic"))
        let sdkPackage = try String(contentsOf: project.appendingPathComponent("sdk/Package.swift"), encoding: .utf8)
        #expect(!sdkPackage.contains("unsafeFlags"))
        #expect(
            FileManager.default.fileExists(
                atPath: project.appendingPathComponent("Sources/DeliveryCounter/Addon.swift").path))

        // The toolchain is the machine's, not the checkout's: its directory joins PATH.
        let toolchain = try Self.swiftDirectory()
        for target in ["all", "pin"] {
            let make = try await Self.partner(
                ["make", "-C", project.path] + (target == "all" ? [] : [target]), prefix: prefix, path: [toolchain])
            #expect(make.status == 0, "make \(target): \(make.output)")
        }
        let load = try await Self.partner(["make", "-C", project.path, "load"], prefix: prefix, path: [toolchain])
        #expect(load.status == 0, "\(load.output)")
        #expect(load.output.contains("ok: com.example.delivery-counter 0.1.0"), "\(load.output)")
        #expect(
            try await Self.exportedFunctions(project.appendingPathComponent("libDeliveryCounter.so")) == [
                "switchboard_addon_entry"
            ])
    }

    @Test func theSDKIsWrittenFromTheSourcesAndNotOverwritten() async throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sdk = scratch.appendingPathComponent("sdk")

        let first = try DaemonProcess(arguments: ["addons", "sdk", sdk.path], port: 0)
        #expect(try await first.waitForExit() == 0, "\(first.errorOutput())")
        let root = AddonFixture.repoRoot
        for (written, source) in [
            ("switchboard_addon.h", "Sources/PluginAPI/include/switchboard_addon.h"),
            ("Sources/PluginAPI/include/switchboard_addon.h", "Sources/PluginAPI/include/switchboard_addon.h"),
            ("Sources/PluginAPI/PluginAPI.c", "Sources/PluginAPI/PluginAPI.c"),
            ("exports.map", "Plugins/exports.map"),
        ] {
            #expect(
                try Data(contentsOf: sdk.appendingPathComponent(written))
                    == Data(contentsOf: root.appendingPathComponent(source)), "\(written)")
        }
        let addonKit = try FileManager.default.contentsOfDirectory(
            atPath: root.appendingPathComponent("Sources/AddonKit").path
        ).sorted()
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: sdk.appendingPathComponent("Sources/AddonKit").path)
                .sorted() == addonKit)
        let package = try String(contentsOf: sdk.appendingPathComponent("Package.swift"), encoding: .utf8)
        #expect(package.hasPrefix("// swift-tools-version:6.0"))
        #expect(package.contains(#"name: "SwitchboardAddonSDK""#) && package.contains("swiftLanguageModes: [.v6]"))
        #expect(package.contains(#".library(name: "AddonKit", targets: ["AddonKit"])"#))
        #expect(!package.contains("unsafeFlags"))

        // The same SDK again is no conflict; a changed file is, until --force.
        let again = try DaemonProcess(arguments: ["addons", "sdk", sdk.path], port: 0)
        #expect(try await again.waitForExit() == 0, "\(again.errorOutput())")
        let locked = sdk.appendingPathComponent("Sources/AddonKit/Locked.swift")
        try Data("// changed\n".utf8).write(to: locked)
        let refused = try DaemonProcess(arguments: ["addons", "sdk", sdk.path], port: 0)
        #expect(try await refused.waitForExit() != 0)
        #expect(refused.errorOutput().contains("--force"), "\(refused.errorOutput())")
        #expect(try String(contentsOf: locked, encoding: .utf8) == "// changed\n")
        let forced = try DaemonProcess(arguments: ["addons", "sdk", "--force", sdk.path], port: 0)
        #expect(try await forced.waitForExit() == 0, "\(forced.errorOutput())")
        #expect(
            try Data(contentsOf: locked)
                == Data(contentsOf: root.appendingPathComponent("Sources/AddonKit/Locked.swift")))
    }

    @Test func withoutAnSDKTheErrorNamesWhereItLookedAndTheFix() throws {
        let scratch = try Self.scratch()
        defer { try? FileManager.default.removeItem(at: scratch) }
        let bin = scratch.appendingPathComponent("bin")
        try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
        do {
            _ = try AddonSDK.locate(executableDirectory: bin)
            Issue.record("found an SDK in an empty directory")
        } catch let error as AddonSDKError {
            #expect(error.code == .notFound)
            #expect(error.message.contains(scratch.appendingPathComponent("share/switchboard/sdk").path))
            #expect(error.message.contains("Package.swift and Sources/PluginAPI"))
            #expect(error.message.contains("scripts/install"))
        }
    }

    // MARK: - Helpers

    /// A fresh directory outside the checkout.
    static func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-kit-\(UUID().uuidString)")
        guard !directory.path.hasPrefix(AddonFixture.repoRoot.path + "/") else {
            throw TestFailure("the temporary directory \(directory.path) is inside the checkout")
        }
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// Installs the products these tests run against (debug or release) with `scripts/install`.
    static func install(into prefix: URL) async throws -> URL {
        let products = DaemonProcess.executable.deletingLastPathComponent().path
        let result = try await AddonFixture.run([
            AddonFixture.repoRoot.appendingPathComponent("scripts/install").path, "--from", products, prefix.path,
        ])
        guard result.status == 0 else { throw TestFailure("scripts/install failed: \(result.output)") }
        return prefix
    }

    /// Runs a command as a partner would, in `directory` (default: the scratch directory holding
    /// `prefix`, outside the checkout): an environment of HOME, TMPDIR and a PATH of the installed
    /// binaries, `path` and the system's directories only.
    static func partner(_ command: [String], prefix: URL, path: [String] = [], in directory: URL? = nil) async throws
        -> (
            status: Int32, output: String
        )
    {
        let search = ([prefix.appendingPathComponent("bin").path] + path + ["/usr/bin", "/bin"])
        let home = ProcessInfo.processInfo.environment["HOME"] ?? "/root"
        return try await AddonFixture.run(
            [
                "/usr/bin/env", "-i", "-C", (directory ?? prefix.deletingLastPathComponent()).path, "HOME=\(home)",
                // SwiftPM's lock files go to TMPDIR: the scratch directory, removed with the rest.
                "TMPDIR=\(prefix.deletingLastPathComponent().path)",
                "PATH=\(search.joined(separator: ":"))",
            ] + command)
    }

    /// The functions a library exports.
    static func exportedFunctions(_ library: URL) async throws -> [String] {
        let result = try await AddonFixture.run(["nm", "-D", "--defined-only", "--extern-only", library.path])
        return result.output.split(separator: "\n").filter { $0.contains(" T ") }.map {
            String($0.split(separator: " ").last!)
        }
    }

    /// The directory of the `swift` driver these tests' PATH finds.
    static func swiftDirectory() throws -> String {
        let directories = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        guard
            let directory = directories.first(where: {
                FileManager.default.isExecutableFile(atPath: $0 + "/swift")
            })
        else { throw TestFailure("no swift on PATH") }
        return directory
    }
}
