import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// What a partner does: scaffold an add-on, build it with make and cc, and check it.
@Suite struct PartnerToolsTests {
    @Test func aScaffoldedAddonBuildsPinsAndPassesTheCheck() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-partner-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let scaffold = try DaemonProcess(
            arguments: [
                "addons", "new", "--id", "com.example.delivery-counter", "--name", "Delivery Counter", directory.path,
            ], port: 0)
        #expect(try await scaffold.waitForExit() == 0)

        let bin = DaemonProcess.executable.deletingLastPathComponent().path
        // The header is copied beside addon.c; `make load` builds, pins and loads it.
        let make = try await AddonFixture.run(["make", "-C", directory.path, "PATH=\(bin):/usr/bin:/bin", "load"])
        #expect(make.status == 0, "\(make.output)")
        #expect(make.output.contains("ok: com.example.delivery-counter 0.1.0"))

        // A tampered library no longer matches its pin, and the checker says so.
        let library = directory.appendingPathComponent("libdelivery_counter.so")
        let handle = try FileHandle(forWritingTo: library)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0]))
        try handle.close()
        let check = try DaemonProcess(
            arguments: ["addons", "check", directory.appendingPathComponent("com.example.delivery-counter.json").path],
            port: 0)
        #expect(try await check.waitForExit() == 1)
    }

    @Test func theBundledLibrariesExportOnlyTheEntry() async throws {
        let directory = DaemonProcess.executable.deletingLastPathComponent()
        for name in ["ComplianceScrub", "Reporting", "Monitoring"] {
            let result = try await AddonFixture.run([
                "nm", "-D", "--defined-only", "--extern-only", directory.appendingPathComponent("lib\(name).so").path,
            ])
            let functions = result.output.split(separator: "\n").filter { $0.contains(" T ") }.map {
                String($0.split(separator: " ").last!)
            }
            #expect(functions == ["switchboard_addon_entry"], "\(name): \(functions)")
        }
    }
}
