import Foundation
import SwitchboardDaemon
import Testing

/// Kannel (Debian's bearerbox and smsbox, an SMS gateway Switchboard shares no code with) as a
/// customer's ESME: it binds to Switchboard's SMPP server, sends through it, and receives the
/// delivery receipts at its DLR URL.
@Suite struct SMPPKannelTests {
    @Test func kannelSendsThroughTheSMPPServerAndGetsItsReceipts() async throws {
        let smppPort = try DaemonProcess.freePort()
        try await withDaemon(configure: { $0.smppServer.port = smppPort }) { daemon in
            let (_, client) = try await daemon.signUp()
            let credential = try await client.post("/v1/account/smpp-credentials", json: [:]).json
            let run = FileManager.default.temporaryDirectory.appendingPathComponent("kannel-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
            let ports = try (0..<4).map { _ in try DaemonProcess.freePort() }
            let (admin, smsbox, sendsms, dlr) = (ports[0], ports[1], ports[2], ports[3])
            let template = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Peers/kannel-esme.conf")
            var config = try String(contentsOf: template, encoding: .utf8)
            for (name, value) in [
                ("@RUN@", run.path), ("@ADMIN_PORT@", "\(admin)"), ("@SMSBOX_PORT@", "\(smsbox)"),
                ("@SENDSMS_PORT@", "\(sendsms)"), ("@SMPP_PORT@", "\(smppPort)"),
                ("@SYSTEM_ID@", credential["system_id"] as? String ?? ""),
                ("@PASSWORD@", credential["password"] as? String ?? ""),
            ] {
                config = config.replacingOccurrences(of: name, with: value)
            }
            let configPath = run.appendingPathComponent("kannel.conf").path
            try config.write(toFile: configPath, atomically: true, encoding: .utf8)
            // The DLR URL's receiver: Python's http.server logs every request line it gets.
            let dlrLog = run.appendingPathComponent("dlr.log").path
            let receiver = try ChildProcess(
                "python3", ["-m", "http.server", "\(dlr)", "--bind", "127.0.0.1", "--directory", run.path],
                output: dlrLog, errors: dlrLog)
            let bearerbox = try ChildProcess(
                "/usr/sbin/bearerbox", ["-v", "1", configPath], output: run.appendingPathComponent("bb.out").path,
                errors: run.appendingPathComponent("bb.out").path)
            try await Task.sleep(for: .seconds(1))
            let smsboxProcess = try ChildProcess(
                "/usr/sbin/smsbox", ["-v", "1", configPath], output: run.appendingPathComponent("sb.out").path,
                errors: run.appendingPathComponent("sb.out").path)
            defer {
                for process in [smsboxProcess, bearerbox, receiver] {
                    process.signal(SIGKILL)
                    process.waitUntilExit()
                }
            }

            let dlrURL =
                "http://127.0.0.1:\(dlr)/dlr?s=%d&id=%I"
                .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let query =
                "username=tester&password=foobar&from=ACME&to=%2B37255512345&text=hello+from+kannel&dlr-mask=3&dlr-url=\(dlrURL)"
            // sendsms answers once smsbox is connected; Kannel queues the message until its bind is up.
            var answer = ""
            for _ in 0..<60 {
                answer = try await offThePool {
                    guard let connection = try? RawConnection(port: sendsms) else { return "" }
                    connection.write("GET /cgi-bin/sendsms?\(query) HTTP/1.0\r\nHost: localhost\r\n\r\n")
                    return connection.read(seconds: 5).text
                }
                if answer.contains("Accepted") || answer.contains("Queued") { break }
                try await Task.sleep(for: .milliseconds(250))
            }
            #expect(answer.contains("Accepted") || answer.contains("Queued"), "\(answer)")

            // Switchboard accepted it as the account's message, and the simulator delivered it.
            var message: [String: Any] = [:]
            _ = try await eventually(seconds: 30) {
                message = (try await client.get("/v1/messages").json["data"] as? [[String: Any]])?.first ?? [:]
                return message["status"] as? String == "delivered"
            }
            #expect(message["body"] as? String == "hello from kannel", "\(message)")
            #expect(message["from"] as? String == "ACME")
            #expect(message["to"] as? String == "+37255512345")

            // The receipt went back over SMPP and Kannel called its DLR URL with status 1 (delivered).
            #expect(
                try await eventually(seconds: 30) {
                    ((try? String(contentsOfFile: dlrLog, encoding: .utf8)) ?? "").contains("GET /dlr?s=1")
                }, "\((try? String(contentsOfFile: dlrLog, encoding: .utf8)) ?? "")")
        }
    }
}
