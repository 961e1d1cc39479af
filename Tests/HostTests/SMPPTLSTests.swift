import Foundation
import SwitchboardDaemon
import Testing

/// SMPP over TLS on the customer side: an ESME (PyPI's smpplib over Python's ssl) that verifies the
/// server's certificate binds to the TLS port and sends; one that trusts another CA is refused by
/// its own verification.
@Suite struct SMPPTLSTests {
    @Test func anESMEBindsOverTLSAndSends() async throws {
        let ca = try await ThrowawayCA()
        let other = try await ThrowawayCA()
        defer {
            try? FileManager.default.removeItem(at: ca.directory)
            try? FileManager.default.removeItem(at: other.directory)
        }
        let pair = try await ca.issue("smpp", days: 5)
        let tlsPort = try DaemonProcess.freePort()
        try await withDaemon(configure: {
            $0.smppServer.tlsPort = tlsPort
            $0.smppServerTLS = .init(certificateFile: pair.certificate, keyFile: pair.key)
        }) { daemon in
            #expect(try await eventually(seconds: 20) { daemon.daemon.smppServer?.tlsPort != nil })
            // Only the TLS listener: no plain one was configured.
            #expect(daemon.daemon.smppServer?.port == nil)
            let (_, client) = try await daemon.signUp()
            let credential = try await client.post("/v1/account/smpp-credentials", json: [:]).json
            let systemID = try #require(credential["system_id"] as? String)
            let password = try #require(credential["password"] as? String)
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .appendingPathComponent("Peers/esme_tls.py").path
            let esme = { (cafile: String) async throws -> [String: Any] in
                let output = try await shell(
                    "python3 '\(script)' --port \(tlsPort) --cafile '\(cafile)' --system-id '\(systemID)'"
                        + " --password '\(password)' --to 37255512345 --text 'over tls'", in: ca.directory)
                // smpplib logs to standard error; the result is the last JSON line.
                let line = try #require(output.split(separator: "\n").last { $0.hasPrefix("{") }, "\(output)")
                return try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            }
            let trusted = try await esme(ca.certificate)
            #expect(trusted["bind"] as? String == "ok", "\(trusted)")
            #expect(["TLSv1.2", "TLSv1.3"].contains(trusted["tls_version"] as? String ?? ""), "\(trusted)")
            let submit = try #require(trusted["submit"] as? [String: Any], "\(trusted)")
            #expect(submit["status"] as? Int == 0)
            let id = try #require(submit["message_id"] as? String)
            #expect(try await client.get("/v1/messages/\(id)").json["body"] as? String == "over tls")

            let untrusted = try await esme(other.certificate)
            #expect((untrusted["bind"] as? String)?.contains("CERTIFICATE_VERIFY_FAILED") == true, "\(untrusted)")

            let metrics = try await daemon.client.get("/metrics").text
            #expect(metrics.contains("switchboard_tls_certificate_expiry_timestamp_seconds{listener=\"smpp\"}"))
        }
    }
}
