import Foundation
import GRDB
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// A certificate authority made for one test with Debian's openssl, and server certificates for
/// 127.0.0.1 it signs.
struct ThrowawayCA {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("ca.pem").path }

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("ca-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try await run(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem"
                + " -days 3 -subj '/CN=Switchboard test CA'")
    }

    /// Issues a certificate for 127.0.0.1 named `name`, valid `days`; returns the paths of the
    /// certificate (PEM, then the CA's as its chain) and of its key.
    func issue(_ name: String, days: Int) async throws -> (certificate: String, key: String) {
        try await run(
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout \(name).key -out \(name).csr"
                + " -subj '/CN=\(name)'"
                + " && printf 'subjectAltName=IP:127.0.0.1\\n' > \(name).ext"
                + " && openssl x509 -req -in \(name).csr -CA ca.pem -CAkey ca.key -CAcreateserial -days \(days)"
                + " -extfile \(name).ext -out \(name).leaf.pem && cat \(name).leaf.pem ca.pem > \(name).pem")
        return (
            directory.appendingPathComponent("\(name).pem").path, directory.appendingPathComponent("\(name).key").path
        )
    }

    /// Runs `script` with /bin/sh in the CA's directory; returns its standard output and error.
    @discardableResult
    func run(_ script: String) async throws -> String {
        try await shell(script, in: directory)
    }
}

/// Runs `script` with /bin/sh in `directory`; throws with its output when it exits non-zero.
@discardableResult
func shell(_ script: String, in directory: URL) async throws -> String {
    let output = directory.appendingPathComponent("sh-\(UUID().uuidString).out").path
    let process = try ChildProcess(
        "/bin/sh", ["-c", "cd '\(directory.path)' && \(script)"], output: output, errors: output)
    while process.isRunning { try await Task.sleep(for: .milliseconds(20)) }
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    try? FileManager.default.removeItem(atPath: output)
    guard process.terminationStatus == 0 else {
        throw TestFailure("`\(script)` exited \(process.terminationStatus): \(text)")
    }
    return text
}

/// HTTPS on the API's listener: served with the configured certificate to a client that trusts its
/// CA, TLS 1.2 and 1.3 only, a renewed certificate taken on SIGHUP under load without a failed
/// request, and a key that does not match refused with a log line while the old pair serves on.
@Suite struct HTTPSTests {
    @Test func theAPIIsServedOverTLSAndARenewedCertificateIsTakenOnSIGHUP() async throws {
        let ca = try await ThrowawayCA()
        defer { try? FileManager.default.removeItem(at: ca.directory) }
        let first = try await ca.issue("first", days: 1)
        let second = try await ca.issue("second", days: 2)
        let wrong = try await ca.issue("wrong", days: 2)
        // The files the daemon reads; replaced by renames, as a certificate renewal does.
        let certificate = ca.directory.appendingPathComponent("served.pem").path
        let key = ca.directory.appendingPathComponent("served.key").path
        try await ca.run("cp \(first.certificate) served.pem && cp \(first.key) served.key")
        let plainPort = try DaemonProcess.freePort()
        let config = ca.directory.appendingPathComponent("switchboard.json")
        try Data(
            """
            {"http": {"tls": {"certificate_file": "\(certificate)", "key_file": "\(key)"}, "plain_port": \(plainPort)}}
            """.utf8
        ).write(to: config)
        let dataDir = ca.directory.appendingPathComponent("data")
        let daemon = try DaemonProcess.serve(dataDir: dataDir, config: config, token: "operator-token-for-https-tests")
        defer {
            daemon.kill(SIGKILL)
            daemon.process.waitUntilExit()
        }
        let local = TestClient(baseURL: "http://127.0.0.1:\(plainPort)")
        #expect(
            try await eventually(seconds: 30) {
                guard daemon.process.isRunning else { throw TestFailure("daemon exited: \(daemon.errorOutput())") }
                return (try? await local.get("/healthz").status) == 200
            })
        let url = "https://127.0.0.1:\(daemon.port)/healthz"
        let served = { () async throws -> String in
            try await ca.run("curl -sS -v --cacert ca.pem \(url) -o /dev/null 2>&1 | grep 'subject:'")
        }

        // HTTPS with the first certificate; plain HTTP and TLS 1.1 on the same port are refused.
        #expect(try await ca.run("curl -sS --cacert ca.pem \(url)").contains("ok"))
        #expect(try await served().contains("CN=first"))
        await #expect(throws: TestFailure.self) { try await ca.run("curl -sS http://127.0.0.1:\(daemon.port)/healthz") }
        // The client lowers its own floor (SECLEVEL=0), so the refusal is the server's alert.
        let old = await #expect(throws: TestFailure.self) {
            try await ca.run("curl -sS --cacert ca.pem --tlsv1.1 --tls-max 1.1 --ciphers 'DEFAULT:@SECLEVEL=0' \(url)")
        }
        #expect(old?.description.contains("alert protocol version") == true, "\(String(describing: old))")
        let expiry = { () async throws -> Double? in
            let metrics = try await local.get("/metrics").text
            return metrics.split(separator: "\n").first {
                $0.hasPrefix("switchboard_tls_certificate_expiry_timestamp_seconds{listener=\"https\"} ")
            }.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) }
        }
        let firstExpiry = try #require(try await expiry())
        #expect(abs(firstExpiry - Date().addingTimeInterval(86_400).timeIntervalSince1970) < 3_600)

        // Under load, the renewed pair replaces the files and SIGHUP makes it served: no request fails.
        let load = try ChildProcess(
            "/bin/sh",
            [
                "-c",
                "cd '\(ca.directory.path)' && for i in $(seq 1 150); do curl -s -o /dev/null -w '%{http_code}\\n'"
                    + " --cacert ca.pem \(url); done > codes.txt",
            ])
        try await Task.sleep(for: .milliseconds(300))
        try await ca.run(
            "cp \(second.certificate) served.pem.new && cp \(second.key) served.key.new"
                + " && mv served.key.new served.key && mv served.pem.new served.pem")
        daemon.kill(SIGHUP)
        while load.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        let codes = try String(contentsOf: ca.directory.appendingPathComponent("codes.txt"), encoding: .utf8)
            .split(separator: "\n")
        #expect(codes.count == 150)
        #expect(codes.allSatisfy { $0 == "200" }, "\(codes.filter { $0 != "200" })")
        #expect(try await eventually(seconds: 10) { try await served().contains("CN=second") })
        let secondExpiry = try #require(try await expiry())
        #expect(secondExpiry > firstExpiry + 43_200)

        // A key that is not the certificate's is refused, named in the log; the second pair serves on.
        try await ca.run("cp \(wrong.key) served.key")
        daemon.kill(SIGHUP)
        #expect(
            try await eventually(seconds: 10) {
                daemon.errorOutput().contains("TLS certificate not reloaded; the one in service stays")
            }, "\(daemon.errorOutput())")
        #expect(daemon.errorOutput().contains("is not the key of the certificate"), "\(daemon.errorOutput())")
        #expect(try await served().contains("CN=second"))
        #expect(try await ca.run("curl -sS --cacert ca.pem \(url)").contains("ok"))
    }

    /// A configuration naming a certificate file that does not exist stops the start with the file
    /// named.
    @Test func aMissingCertificateFileStopsTheStartNamingIt() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathComponent("switchboard.json")
        try Data(
            #"{"http": {"tls": {"certificate_file": "/nonexistent/cert.pem", "key_file": "/nonexistent/key.pem"}}}"#
                .utf8
        ).write(to: config)
        let daemon = try DaemonProcess.serve(
            dataDir: directory.appendingPathComponent("data"), config: config, token: "operator-token-for-https-tests")
        let status = try await daemon.waitForExit(seconds: 30)
        #expect(status != 0)
        #expect(daemon.errorOutput().contains("/nonexistent/cert.pem"), "\(daemon.errorOutput())")
    }

    /// A status callback over https to a receiver whose certificate the daemon does not trust (a
    /// CA only the test knows) is not delivered: the attempt fails on verification, and is retried.
    @Test func aCallbackToAnUntrustedCertificateIsNotDelivered() async throws {
        let ca = try await ThrowawayCA()
        defer { try? FileManager.default.removeItem(at: ca.directory) }
        let pair = try await ca.issue("receiver", days: 1)
        let port = try DaemonProcess.freePort()
        // Python's http.server behind its ssl module: it logs every request line it is sent.
        let script = """
            import http.server, ssl
            server = http.server.HTTPServer(("127.0.0.1", \(port)), http.server.SimpleHTTPRequestHandler)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain("\(pair.certificate)", "\(pair.key)")
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """
        try script.write(to: ca.directory.appendingPathComponent("receiver.py"), atomically: true, encoding: .utf8)
        let log = ca.directory.appendingPathComponent("receiver.log").path
        let receiver = try ChildProcess(
            "python3", [ca.directory.appendingPathComponent("receiver.py").path], output: log, errors: log)
        defer {
            receiver.signal(SIGKILL)
            receiver.waitUntilExit()
        }
        // The receiver answers over TLS to a client that trusts its CA.
        #expect(
            try await eventually(seconds: 20) {
                (try? await ca.run("curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem https://127.0.0.1:\(port)/"))
                    == "200"
            })
        try await withDaemon(configure: { $0.callbacks.allowHTTP = false }) { daemon in
            let (_, client) = try await daemon.signUp()
            let sent = try await client.send(callback: "https://127.0.0.1:\(port)/status")
            #expect(sent.status == 201)
            let lastError = { () async throws -> String? in
                try await daemon.daemon.accounts.writer.pool.read { db in
                    try String.fetchOne(db, sql: "SELECT last_error FROM callbacks WHERE last_error IS NOT NULL")
                }
            }
            #expect(try await eventually(seconds: 20) { try await lastError() != nil })
            let error = try await lastError() ?? ""
            #expect(error.lowercased().contains("certificate") || error.contains("handshake"), "\(error)")
            let delivered = try await daemon.daemon.accounts.writer.pool.read { db in
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM callbacks WHERE state = 'delivered'") ?? 0
            }
            #expect(delivered == 0)
            let received = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(!received.contains("POST /status"), "\(received)")
        }
    }

    /// The TLS settings read from the config file; a missing file path is named with its full key.
    @Test func tlsSettingsAreReadAndAMissingKeyIsNamed() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("sb-tls-\(UUID()).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(
            #"""
            {"http": {"tls": {"certificate_file": "/etc/c.pem", "key_file": "/etc/k.pem"}, "plain_port": 8081},
             "smpp_server": {"tls": {"port": 3550, "certificate_file": "/etc/s.pem", "key_file": "/etc/s.key"}},
             "callbacks": {"allow_http": true},
             "smpp_connectors": [{"name": "c", "host": "smsc.example", "port": 3550, "system_id": "a", "password": "b",
                                  "tls": {"ca_file": "/etc/ca.pem", "server_name": "smsc.example"}}]}
            """#.utf8
        ).write(to: file)
        let config = try ServeConfiguration.load(file: file.path)
        #expect(config.http.tls == .init(certificateFile: "/etc/c.pem", keyFile: "/etc/k.pem"))
        #expect(config.http.plainPort == 8081)
        #expect(config.smppServer.tlsPort == 3550)
        #expect(config.smppServerTLS == .init(certificateFile: "/etc/s.pem", keyFile: "/etc/s.key"))
        #expect(config.callbacks.allowHTTP)
        #expect(config.smppConnectors.first?.tls == .init(caFile: "/etc/ca.pem", serverName: "smsc.example"))

        try Data(#"{"http": {"tls": {"certificate_file": "/etc/c.pem"}}, "smpp_server": {"tls": {"port": 3550}}}"#.utf8)
            .write(to: file)
        let error = try #require(throws: ConfigurationError.self) { try ServeConfiguration.load(file: file.path) }
        #expect(
            Set(error.problems.map(\.field))
                == ["http.tls.key_file", "smpp_server.tls.certificate_file", "smpp_server.tls.key_file"])
    }
}
