import Foundation
import SwitchboardDaemon
import SwitchboardSMPP
import Testing

/// A carrier connector over TLS: the SMSC simulator behind stunnel (Debian's, a TLS terminator
/// Switchboard shares no code with) with a certificate from a CA the test made. A connector that
/// trusts that CA binds and delivers; one that trusts another CA is refused by its own verification
/// and says so in its status.
@Suite struct SMPPCarrierTLSTests {
    @Test func aConnectorBindsOverTLSOnlyToACertificateItTrusts() async throws {
        let ca = try await ThrowawayCA()
        let other = try await ThrowawayCA()
        defer {
            try? FileManager.default.removeItem(at: ca.directory)
            try? FileManager.default.removeItem(at: other.directory)
        }
        let pair = try await ca.issue("smsc", days: 5)
        try await withSMSC { smsc in
            let tlsPort = try DaemonProcess.freePort()
            let config = ca.directory.appendingPathComponent("stunnel.conf").path
            try """
            foreground = yes
            pid =
            [smsc]
            accept = 127.0.0.1:\(tlsPort)
            connect = 127.0.0.1:\(smsc.port)
            cert = \(pair.certificate)
            key = \(pair.key)
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let log = ca.directory.appendingPathComponent("stunnel.log").path
            let stunnel = try ChildProcess("stunnel", [config], output: log, errors: log)
            defer {
                stunnel.signal(SIGKILL)
                stunnel.waitUntilExit()
            }
            #expect(try await eventually(seconds: 10) { (try? RawConnection(port: tlsPort)) != nil })
            let trusted = SMPPCarrierTests.connector(smsc, name: "trusted") {
                $0.port = tlsPort
                $0.tls = .init(caFile: ca.certificate)
            }
            let untrusted = SMPPCarrierTests.connector(smsc, name: "untrusted") {
                $0.port = tlsPort
                $0.tls = .init(caFile: other.certificate)
                // Only messages to this prefix would go here: none do.
                $0.prefixes = ["+999"]
            }
            try await withDaemon(configure: { $0.smppConnectors = [trusted, untrusted] }) { daemon in
                let states = { () async throws -> [String: [String: Any]] in
                    let rows = try await daemon.admin.get("/v1/admin/connectors").json["data"] as? [[String: Any]] ?? []
                    return Dictionary(uniqueKeysWithValues: rows.map { ($0["name"] as? String ?? "", $0) })
                }
                #expect(
                    try await eventually(seconds: 20) { try await states()["trusted"]?["state"] as? String == "bound" })
                let (_, client) = try await daemon.signUp()
                let sent = try await client.send(to: "+37255512345", from: "ACME", body: "over tls to the carrier")
                let id = try #require(sent.json["id"] as? String)
                let finals = try await SMPPCarrierTests.finals(client, [id])
                #expect(finals[id]?["status"] as? String == "delivered", "\(finals)")
                #expect(smsc.submits().count == 1)

                let refused = try await eventually(seconds: 60) {
                    (try await states()["untrusted"]?["last_error"] as? String)?.contains("TLS handshake") == true
                }
                let untrustedState = try await states()["untrusted"] ?? [:]
                #expect(refused, "\(untrustedState)")
                #expect(untrustedState["state"] as? String != "bound")
            }
        }
    }
}
