import Foundation
import Testing

/// A port that cannot be listened on is named with its listener and what to do, and a setting a
/// file breaks is blamed on that file.
@Suite struct ListenerTests {
    func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-listen-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    func config(_ json: String, in directory: URL) throws -> URL {
        let url = directory.appendingPathComponent("config-\(UUID().uuidString).json")
        try Data(json.utf8).write(to: url)
        return url
    }

    @Test func aPortInUseOrGivenTwiceIsNamedWithItsListener() async throws {
        let first = try directory()
        let second = try directory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        let smppPort = try DaemonProcess.freePort()
        let running = try DaemonProcess.serve(
            dataDir: first, config: try config(#"{"smpp_server": {"port": \#(smppPort)}}"#, in: first),
            token: "operator-token-of-the-running-daemon")
        defer { running.kill(SIGKILL) }
        try await running.waitUntilHealthy()

        // The HTTP port of the running daemon.
        let http = try DaemonProcess(
            arguments: ["serve", "--port", String(running.port), "--data-dir", second.path], port: running.port)
        #expect(try await http.waitForExit() != 0)
        #expect(
            http.errorOutput().contains("cannot listen for HTTP on 127.0.0.1:\(running.port): the address is in use"),
            "\(http.errorOutput())")

        // Its SMPP port, on another HTTP port.
        let smpp = try DaemonProcess.serve(
            dataDir: second, config: try config(#"{"smpp_server": {"port": \#(smppPort)}}"#, in: second),
            token: "operator-token-of-the-second-daemon")
        #expect(try await smpp.waitForExit() != 0)
        #expect(smpp.errorOutput().contains("cannot listen for SMPP on"), "\(smpp.errorOutput())")
        #expect(smpp.errorOutput().contains(":\(smppPort): the address is in use"), "\(smpp.errorOutput())")

        // One port for both listeners is refused before either starts.
        let port = try DaemonProcess.freePort()
        let twice = try DaemonProcess(
            arguments: [
                "serve", "--config",
                try config(#"{"port": \#(port), "smpp_server": {"port": \#(port)}}"#, in: second).path,
                "--data-dir", second.path,
            ], port: port)
        #expect(try await twice.waitForExit() == 64)
        #expect(
            twice.errorOutput().contains("smpp_server.port: is \(port), the HTTP port too"), "\(twice.errorOutput())")
        #expect(try await running.client.get("/healthz").status == 200)
    }

    @Test func aShortOperatorTokenInAFileIsBlamedOnTheFile() async throws {
        let data = try directory()
        defer { try? FileManager.default.removeItem(at: data) }
        let file = try config(#"{"operator_token": "short"}"#, in: data)
        let process = try DaemonProcess(
            arguments: ["serve", "--config", file.path, "--data-dir", data.path], port: 0)
        #expect(try await process.waitForExit() == 64)
        let output = process.errorOutput()
        #expect(output.contains(file.path) && output.contains("operator_token: must be at least 16"), "\(output)")
        #expect(!output.contains("the environment"), "\(output)")

        let directoryAsConfig = try DaemonProcess(
            arguments: ["serve", "--config", data.path, "--data-dir", data.path], port: 0)
        #expect(try await directoryAsConfig.waitForExit() == 64)
        #expect(
            directoryAsConfig.errorOutput().contains("is a directory, not a file"), "\(directoryAsConfig.errorOutput())"
        )
    }

    @Test func aTakenPlainPortIsNamedAsThePlainListener() async throws {
        let ca = try await ThrowawayCA()
        defer { try? FileManager.default.removeItem(at: ca.directory) }
        let pair = try await ca.issue("served", days: 1)
        let running = try DaemonProcess.serve(
            dataDir: ca.directory.appendingPathComponent("first"), token: "operator-token-of-the-running-daemon")
        defer { running.kill(SIGKILL) }
        try await running.waitUntilHealthy()
        let files = #""certificate_file": "\#(pair.certificate)", "key_file": "\#(pair.key)""#
        let tls = #""tls": {\#(files)}"#

        // plain_port on a port another process listens on: named as plain_port, not as --port.
        let taken = try DaemonProcess.serve(
            dataDir: ca.directory.appendingPathComponent("second"),
            config: try config(#"{"http": {\#(tls), "plain_port": \#(running.port)}}"#, in: ca.directory),
            token: "operator-token-of-the-second-daemon")
        #expect(try await taken.waitForExit() != 0)
        let output = taken.errorOutput()
        #expect(
            output.contains("cannot listen for plain HTTP on 127.0.0.1:\(running.port): the address is in use"),
            "\(output)")
        #expect(output.contains("http.plain_port"), "\(output)")
        #expect(!output.contains("cannot listen for HTTP on"), "\(output)")

        // plain_port equal to the HTTPS port or an SMPP port is refused before anything listens.
        let port = try DaemonProcess.freePort()
        let twice = try DaemonProcess(
            arguments: [
                "serve", "--config",
                try config(
                    #"{"port": \#(port), "http": {\#(tls), "plain_port": \#(port)}, "smpp_server": {"port": 2775, "tls": {"port": 2775, \#(files)}}}"#,
                    in: ca.directory
                ).path,
                "--data-dir", ca.directory.appendingPathComponent("third").path,
            ], port: port)
        #expect(try await twice.waitForExit() == 64)
        #expect(
            twice.errorOutput().contains("http.plain_port: is \(port), the HTTP port too"), "\(twice.errorOutput())")
        #expect(
            twice.errorOutput().contains("smpp_server.tls.port: is 2775, smpp_server.port too"),
            "\(twice.errorOutput())")
    }

    /// A host that does not resolve, a variable one letter from a setting's, a value out of range
    /// and an empty list entry are each named with the setting and the fix (exit 64).
    @Test func badSettingsFromTheEnvironmentOrAnUnknownHostAreNamed() async throws {
        let data = try directory()
        defer { try? FileManager.default.removeItem(at: data) }
        let cases: [([String], [String: String], String)] = [
            (
                ["--config", try config(#"{"host": "localhostx.invalid"}"#, in: data).path], [:],
                "cannot listen on host \"localhostx.invalid\""
            ),
            ([], ["SWITCHBOARD_PROT": "19561"], "SWITCHBOARD_PROT: is not a setting; did you mean SWITCHBOARD_PORT?"),
            ([], ["SWITCHBOARD_PORT": "99999"], "SWITCHBOARD_PORT: must be between 0 and 65535, got 99999"),
            ([], ["SWITCHBOARD_RETENTION_DAYS": "0"], "SWITCHBOARD_RETENTION_DAYS: must be between 1 and 365, got 0"),
            (
                [], ["SWITCHBOARD_CALLBACK_ALLOW_TARGETS": ",,"],
                "SWITCHBOARD_CALLBACK_ALLOW_TARGETS: has an empty entry"
            ),
            (
                [], ["SWITCHBOARD_TRUSTED_PROXIES": "1.2.3.4,,5.6.7.8"],
                "SWITCHBOARD_TRUSTED_PROXIES: has an empty entry"
            ),
            ([], ["SWITCHBOARD_port": "19561"], "SWITCHBOARD_port: is not a setting; did you mean SWITCHBOARD_PORT?"),
            (
                [], ["SWITCHBOARD_TRUSTED_PROXY": "1.2.3.4"],
                "SWITCHBOARD_TRUSTED_PROXY: is not a setting; did you mean SWITCHBOARD_TRUSTED_PROXIES?"
            ),
        ]
        for (arguments, environment, expected) in cases {
            let process = try DaemonProcess(
                arguments: ["serve", "--port", "0", "--data-dir", data.path] + arguments, port: 0,
                environment: environment)
            #expect(try await process.waitForExit() == 64, "\(expected)")
            #expect(process.errorOutput().contains(expected), "\(process.errorOutput())")
        }
        // One port for HTTP and SMPP given by flags is named as such, not as a port another process holds.
        let clash = try DaemonProcess(
            arguments: ["serve", "--port", "19564", "--smpp-port", "19564", "--data-dir", data.path], port: 0)
        #expect(try await clash.waitForExit() == 64)
        #expect(
            clash.errorOutput().contains("smpp_server.port: is 19564, the HTTP port too"), "\(clash.errorOutput())")
    }
}
