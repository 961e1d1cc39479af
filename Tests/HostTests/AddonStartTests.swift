import Foundation
import Synchronization
import Testing

/// Isolated add-ons start together: one whose `create` never returns holds the daemon's start for
/// one handshake timeout, not one per such add-on.
@Suite struct AddonStartTests {
    /// The pids of runners whose environment names `addonID` (`SWITCHBOARD_ADDON_ID`).
    static func runners(of addonID: String) -> [Int32] {
        let entry = Array("SWITCHBOARD_ADDON_ID=\(addonID)".utf8) + [0]
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc"))?.compactMap { Int32($0) } ?? []
        return pids.filter { pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return environment.split(separator: 0, omittingEmptySubsequences: true).contains {
                Array($0) + [0] == entry
            }
        }
    }

    @Test func addonsThatHangAtStartAreWaitedForTogether() async throws {
        let addons = ErasureEdgeTests.addonsDirectory()
        defer { try? FileManager.default.removeItem(at: addons) }
        let ids = ["com.example.hangs-one", "com.example.hangs-two"]
        for id in ids {
            try await AddonFixture.recorder(
                in: addons, id: id, fields: [("usage.to", true, false)], hooks: ["message.status"],
                defines: ["CREATE_HANGS"], isolation: "isolated")
        }
        // Watched from a thread of its own: the daemon's start blocks while the runners start.
        let watch = Watch()
        Thread.detachNewThread {
            while watch.watching.withLock({ $0 }) {
                if ids.allSatisfy({ !Self.runners(of: $0).isEmpty }) { watch.both.withLock { $0 = true } }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        try await withDaemon(configure: { $0.addons.directories = [addons.path] }) { daemon in
            watch.watching.withLock { $0 = false }
            // Both runners were up at one moment: started together, not one after the other.
            #expect(watch.both.withLock { $0 })
            let problems = daemon.daemon.addons.registry.problems
            #expect(ids.allSatisfy { id in problems.contains { $0.file.contains(id) } }, "\(problems)")
            let health = try await daemon.client.get("/healthz")
            #expect(health.status == 200)
        }
        watch.watching.withLock { $0 = false }
    }

    /// A process the add-on forked (which left the runner's process group) does not keep a dead
    /// runner from being noticed, and is killed with it.
    @Test func aRunnerKilledWhileItsAddonsChildLivesIsNoticedAndTheChildKilled() async throws {
        let addons = ErasureEdgeTests.addonsDirectory()
        defer { try? FileManager.default.removeItem(at: addons) }
        let id = "com.example.forks"
        try await AddonFixture.recorder(
            in: addons, id: id, fields: [("usage.to", true, false)], hooks: ["message.status"],
            defines: ["FORK_IN_CREATE"], isolation: "isolated")
        try await withDaemon(configure: RunnerTests.configure(addons)) { daemon in
            let runner = try #require(daemon.daemon.addons.registry.runtimeStatus(id)?.pid)
            let child = try #require(Self.runners(of: id).first { $0 != runner })
            kill(runner, SIGKILL)
            let noticed = try await eventually(seconds: 10) {
                (daemon.daemon.addons.registry.runtimeStatus(id)?.crashes ?? 0) > 0
            }
            #expect(noticed, "the daemon did not notice its runner was killed")
            let childGone = try await eventually(seconds: 10) { !Self.runners(of: id).contains(child) }
            #expect(childGone, "the forked process \(child) outlived its runner")
        }
    }

    final class Watch: Sendable {
        let both = Mutex(false)
        let watching = Mutex(true)
    }
}
