import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The web console in a real browser: `Tests/Browser/console_flow.py` drives headless Chromium
/// through Selenium against a daemon on loopback, from sign-up and the second factor through add-on
/// consent, a delivered message, withdrawal with erasure and the operator's audit, to the console's
/// security headers, cookies, CSRF refusal and account isolation; then the remaining pages, the
/// keyboard alone (skip link, a form sent with Tab and Enter) and a phone's 390 px width, where no
/// page may be wider than the screen. axe-core checks every page it shows.
/// `SWITCHBOARD_SCREENSHOTS=<dir>` keeps a screenshot of each page as `<dir>/console-<page>.png`
/// (those in `docs/console/` are copies, without the prefix).
@Suite struct ConsoleBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Browser/console_flow.py")
    /// Four browsers one after another, up to a 30-second TOTP step waited out, three polls of up
    /// to 30 s each and axe-core on some 20 pages: about 60 s on an idle machine, and room for a
    /// loaded one.
    static let limit: Duration = .seconds(240)

    @Test func theConsoleWorksEndToEndInHeadlessChromium() async throws {
        if let missing = try await Self.missingPrerequisites() {
            Issue.record("\(missing) is missing: `scripts/setup --tests` installs Chromium, chromedriver and selenium")
            return
        }
        try await withDaemon { daemon in
            var arguments = [
                Self.script.path, "--base", daemon.baseURL, "--operator-token", daemon.daemon.operatorToken,
            ]
            if let screenshots = ProcessInfo.processInfo.environment["SWITCHBOARD_SCREENSHOTS"], !screenshots.isEmpty {
                arguments += ["--screenshots", screenshots]
            }
            let output = FileManager.default.temporaryDirectory.appendingPathComponent(
                "console-flow-\(UUID().uuidString).out")
            defer { try? FileManager.default.removeItem(at: output) }
            let flow = try ChildProcess("python3", arguments, output: output.path, errors: output.path)
            let finished = try await Self.wait(for: flow, upTo: Self.limit)
            let text = (try? String(contentsOf: output, encoding: .utf8)) ?? ""
            #expect(finished, "console_flow.py did not finish within \(Self.limit):\n\(text)")
            #expect(flow.terminationStatus == 0, "console_flow.py exited \(flow.terminationStatus):\n\(text)")
        }
    }

    /// What the script needs that the machine lacks, or nil.
    static func missingPrerequisites() async throws -> String? {
        let programs = ["/usr/bin/chromium", "/usr/bin/chromedriver"]
        if let absent = programs.first(where: { !FileManager.default.isExecutableFile(atPath: $0) }) { return absent }
        let probe = try ChildProcess("python3", ["-c", "import selenium, axe_selenium_python"])
        while probe.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        return probe.terminationStatus == 0 ? nil : "the Python package selenium or axe-selenium-python"
    }

    /// Waits for `process` up to `limit`; past it, interrupts it and returns false. SIGINT rather
    /// than SIGTERM so the script's `finally` quits its browsers instead of leaving Chromium behind.
    static func wait(for process: ChildProcess, upTo limit: Duration) async throws -> Bool {
        let deadline = ContinuousClock.now + limit
        while process.isRunning {
            guard ContinuousClock.now < deadline else {
                process.signal(SIGINT)
                let grace = ContinuousClock.now + .seconds(15)
                while process.isRunning && ContinuousClock.now < grace { try await Task.sleep(for: .milliseconds(100)) }
                process.signal(SIGKILL)
                process.waitUntilExit()
                return false
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        return true
    }
}
