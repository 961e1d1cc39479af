import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Hot reload: a new version of an add-on goes into service while messages flow, and every event
/// owed to the add-on arrives exactly once, at one version or the other.
@Suite struct ReloadTests {
    static let id = "com.example.recorder"
    static let fields: [(id: String, required: Bool, pseudonym: Bool)] = [
        ("usage.to", true, false), ("usage.status", false, false),
    ]

    static func recorder(in directory: URL, version: String, isolation: String) async throws {
        try await AddonFixture.recorder(
            in: directory, id: id, version: version, fields: fields, hooks: ["message.submit", "message.status"],
            isolation: isolation, timeoutMs: 2000)
    }

    static func manifestFile(_ directory: URL) -> URL { directory.appendingPathComponent("\(id).json") }

    @Test(arguments: ["isolated", "in_process"])
    func reloadingUnderLoadDropsAndRepeatsNothing(isolation: String) async throws {
        let addons = FileManager.default.temporaryDirectory.appendingPathComponent("sb-reload-\(UUID().uuidString)")
        try await Self.recorder(in: addons, version: "1.0.0", isolation: isolation)
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]]).status == 201)

            let sending = Task {
                var accepted: [String] = []
                for index in 0..<120 {
                    let response = try await client.send(body: "message \(index)")
                    if let id = response.json["id"] as? String { accepted.append(id) }
                }
                return accepted
            }
            // Two new versions while messages flow, each from a new library file, each once the
            // version before it has checked a few messages.
            for version in ["2.0.0", "3.0.0"] {
                let before = AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id).count
                _ = try await eventually(seconds: 20) {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id).count >= before + 5
                }
                try await Self.recorder(in: addons, version: version, isolation: isolation)
                let reload = try await daemon.admin.post("/v1/admin/addons/\(Self.id)/reload", json: [:])
                #expect(reload.status == 200, "\(reload.text)")
                #expect(reload.json["to_version"] as? String == version)
            }
            var accepted = try await sending.value
            // A few more once the last version is in service, so each version provably took part
            // however fast the first 120 went through.
            for index in 0..<10 {
                let response = try await client.send(body: "after reload \(index)")
                if let id = response.json["id"] as? String { accepted.append(id) }
            }
            #expect(accepted.count == 130)

            // Every delivered status reaches the add-on once: nothing dropped, nothing repeated.
            #expect(
                try await eventually(seconds: 20) {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id)
                        .filter { $0.fields["usage.status"] == "text:delivered" }.count >= accepted.count
                })
            #expect(try await eventually { try await outboxCount(daemon) == 0 })
            let events = AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id).filter {
                $0.what == "event"
            }
            #expect(Set(events.map(\.eventID)).count == events.count, "an event was delivered twice")
            #expect(events.filter { $0.fields["usage.status"] == "text:delivered" }.count == accepted.count)
            let checks = AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id).filter {
                $0.what == "check"
            }
            #expect(checks.count == accepted.count, "every send was checked once")

            // The ledger names the version that received each share, and the last one is in service.
            let versions = Set(
                try await daemon.admin.get("/v1/admin/audit?addon=\(Self.id)&limit=10000").data.compactMap {
                    $0["addon_version"] as? String
                })
            #expect(versions == ["1.0.0", "2.0.0", "3.0.0"], "\(versions)")
            let listing = try await daemon.admin.get("/v1/admin/addons").json["loaded"] as? [[String: Any]] ?? []
            let entry = listing.first { $0["id"] as? String == Self.id }
            #expect(entry?["version"] as? String == "3.0.0")
            #expect((entry?["runtime"] as? [String: Any])?["state"] as? String == "running")
        }
    }

    @Test func aBrokenNewVersionLeavesTheRunningOneInService() async throws {
        let addons = FileManager.default.temporaryDirectory.appendingPathComponent("sb-reload-\(UUID().uuidString)")
        try await Self.recorder(in: addons, version: "1.0.0", isolation: "isolated")
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            let (_, client) = try await daemon.signUp()
            _ = try await client.put("/v1/account/addons/recorder", json: ["categories": ["usage"]])

            let unknown = try await daemon.admin.post("/v1/admin/addons/com.example.nobody/reload", json: [:])
            #expect(unknown.status == 404)

            // A manifest that no longer parses.
            let good = try Data(contentsOf: Self.manifestFile(addons))
            try Data("{ not json".utf8).write(to: Self.manifestFile(addons))
            let broken = try await daemon.admin.post("/v1/admin/addons/\(Self.id)/reload", json: [:])
            #expect(broken.status == 422)
            #expect((broken.json["detail"] as? String)?.contains("keeps running") == true, "\(broken.text)")

            // A library that does not match its pin.
            var manifest = try #require(try JSONSerialization.jsonObject(with: good) as? [String: Any])
            var library = try #require(manifest["library"] as? [String: Any])
            library["sha256"] = String(repeating: "0", count: 64)
            manifest["library"] = library
            try JSONSerialization.data(withJSONObject: manifest).write(to: Self.manifestFile(addons))
            let pinned = try await daemon.admin.post("/v1/admin/addons/\(Self.id)/reload", json: [:])
            #expect(pinned.status == 422)
            #expect((pinned.json["detail"] as? String)?.contains("pins") == true, "\(pinned.text)")

            // The first version still runs and still receives its events.
            #expect(try await client.send(body: "still here").status == 201)
            #expect(
                try await eventually {
                    AddonFixture.recorded(dataDir: daemon.directory, addonID: Self.id).contains {
                        $0.fields["usage.status"] == "text:delivered"
                    }
                })
            #expect(daemon.daemon.addons.registry.manifest(Self.id)?.version == "1.0.0")
            #expect(daemon.daemon.addons.registry.runtimeStatus(Self.id)?.state == .running)
        }
    }

    @Test func anInProcessReloadFromTheSameChangedFileIsRefused() async throws {
        let addons = FileManager.default.temporaryDirectory.appendingPathComponent("sb-reload-\(UUID().uuidString)")
        try await Self.recorder(in: addons, version: "1.0.0", isolation: "in_process")
        let manifest = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: Self.manifestFile(addons))) as? [String: Any])
        let path = try #require((manifest["library"] as? [String: Any])?["path"] as? String)
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            // Version 2 built over version 1's file name.
            let other = addons.appendingPathComponent("v2")
            try await Self.recorder(in: other, version: "2.0.0", isolation: "in_process")
            var next = try #require(
                try JSONSerialization.jsonObject(with: Data(contentsOf: Self.manifestFile(other))) as? [String: Any])
            let built = try #require((next["library"] as? [String: Any])?["path"] as? String)
            try FileManager.default.removeItem(at: addons.appendingPathComponent(path))
            try FileManager.default.copyItem(
                at: other.appendingPathComponent(built), to: addons.appendingPathComponent(path))
            next["library"] = ["path": path, "sha256": try AddonFixture.sha256(addons.appendingPathComponent(path))]
            try JSONSerialization.data(withJSONObject: next).write(to: Self.manifestFile(addons))

            let refused = try await daemon.admin.post("/v1/admin/addons/\(Self.id)/reload", json: [:])
            #expect(refused.status == 422)
            #expect((refused.json["detail"] as? String)?.contains("new file name") == true, "\(refused.text)")
            #expect(daemon.daemon.addons.registry.manifest(Self.id)?.version == "1.0.0")
        }
    }

    /// SIGHUP on the real binary reloads what changed on disk.
    @Test func sighupReloadsChangedAddons() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("sb-hup-\(UUID().uuidString)")
        let addons = root.appendingPathComponent("addons")
        try await Self.recorder(in: addons, version: "1.0.0", isolation: "isolated")
        let config = root.appendingPathComponent("config.json")
        try JSONSerialization.data(withJSONObject: ["addons": ["dirs": [addons.path]]]).write(to: config)
        let token = "hup-test-token-0123456789"
        let daemon = try DaemonProcess.serve(dataDir: root.appendingPathComponent("data"), config: config, token: token)
        defer {
            daemon.kill(SIGKILL)
            try? FileManager.default.removeItem(at: root)
        }
        try await daemon.waitUntilHealthy()
        let admin = TestClient(baseURL: daemon.client.baseURL, bearer: token)
        func version() async throws -> String? {
            let loaded = try await admin.get("/v1/admin/addons").json["loaded"] as? [[String: Any]] ?? []
            return loaded.first { $0["id"] as? String == Self.id }?["version"] as? String
        }
        #expect(try await version() == "1.0.0")
        try await Self.recorder(in: addons, version: "2.0.0", isolation: "isolated")
        daemon.kill(SIGHUP)
        #expect(try await eventually { try await version() == "2.0.0" }, "\(daemon.errorOutput())")
        #expect(try await admin.get("/healthz").status == 200)
        daemon.kill(SIGTERM)
        #expect(try await daemon.waitForExit() == 0)
    }
}
