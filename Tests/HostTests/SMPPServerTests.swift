import Foundation
import NIOCore
import SMPP
import SwitchboardDaemon
import SwitchboardSMPP
import Testing

/// The SMPP server customers' ESMEs bind to, driven by real clients: smpp34's (`Tests/Peers/esme.py`)
/// and raw sockets for malformed PDUs.
@Suite struct SMPPServerTests {
    /// A daemon with the SMPP server on a free port, and one account with an SMPP credential.
    static func withSMPPServer(
        configure: @escaping (inout ServeConfiguration) -> Void = { _ in },
        _ body: (TestDaemon, Int, TestClient, (systemID: String, password: String)) async throws -> Void
    ) async throws {
        let port = try DaemonProcess.freePort()
        // At info the daemon's log says why a bind was refused; `runESME` shows it when one fails.
        try await withDaemon(
            logLevel: .info,
            configure: {
                $0.smppServer.port = port
                configure(&$0)
            }
        ) { daemon in
            let (_, client) = try await daemon.signUp()
            let made = try await client.post("/v1/account/smpp-credentials", json: [:])
            #expect(made.status == 201)
            let systemID = try #require(made.json["system_id"] as? String)
            let password = try #require(made.json["password"] as? String)
            #expect(systemID.count <= 15 && password.count == 8)
            try await ESMEDiagnostics.$daemonLogs.withValue(daemon.logs) {
                try await body(daemon, port, client, (systemID, password))
            }
        }
    }

    static func hex(_ text: String) -> String { text.utf8.map { String(format: "%02x", $0) }.joined() }

    @Test func submitsTakeTheHTTPPathAndReceiptsComeBackAsAsked() async throws {
        try await Self.withSMPPServer { daemon, port, client, credential in
            let result = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 10,
                untilDeliveries: 2,
                messages: [
                    ["to": "37255512345", "text": "hello over smpp", "registered_delivery": 1],
                    // Failure-only receipt for a message that is delivered: none comes.
                    ["to": "37255512345", "text": "Привет", "data_coding": 8, "registered_delivery": 2],
                    [
                        "to": "37255512345", "text": "a long message in three parts", "udh_parts": 3,
                        "registered_delivery": 1,
                    ],
                    ["to": "37255512345", "text": "payload, no receipt", "payload": true],
                ])
            #expect(result["bind"] as? String == "ok", "\(result)")
            let submits = try #require(result["submits"] as? [[String: Any]])
            try #require(submits.count == 6)
            #expect(submits.allSatisfy { $0["status"] as? Int == 0 }, "\(submits)")
            let ids = [0, 1, 4, 5].compactMap { submits[$0]["message_id"] as? String }
            #expect(ids.allSatisfy { $0.hasPrefix("msg_") })

            // Each is a message of the account, with the body as sent.
            let bodies = try await ids.asyncMap { try await client.get("/v1/messages/\($0)").json["body"] as? String }
            #expect(
                bodies == ["hello over smpp", "Привет", "a long message in three parts", "payload, no receipt"])

            let deliveries = try #require(result["deliveries"] as? [[String: Any]])
            #expect(deliveries.count == 2, "\(deliveries)")
            #expect(deliveries.allSatisfy { $0["esm_class"] as? Int == 4 })
            let receipted = Set(deliveries.compactMap { ($0["tlvs"] as? [String: String])?["30"] })
            #expect(receipted == [Self.hex(ids[0]) + "00", Self.hex(ids[2]) + "00"])
            #expect(
                deliveries.allSatisfy { ($0["short_message"] as? String)?.contains(Self.hex("stat:DELIVRD")) == true })

            // The activity log has each submit_sm.
            let usage = try await client.get("/v1/usage/requests").text
            #expect(usage.contains("submit_sm"), "\(usage)")
        }
    }

    @Test func aFailedMessagesReceiptCarriesItsErrorInThreeDigits() async throws {
        // SMPP 3.4 Appendix B: `err` has three digits; 30003 and 30008 go as 003 and 008.
        #expect(SMPPServer.receiptError(30003) == 3)
        #expect(SMPPServer.receiptError(34) == 34)
        #expect(SMPPServer.receiptError(nil) == 0)
        try await Self.withSMPPServer(configure: { $0.simulator.failureRate = 1 }) { _, port, _, credential in
            let result = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 10,
                untilDeliveries: 1,
                messages: [["to": "37255512345", "text": "this one fails", "registered_delivery": 1]])
            let deliveries = try #require(result["deliveries"] as? [[String: Any]])
            try #require(deliveries.count == 1, "\(result)")
            let text = try #require(deliveries[0]["short_message"] as? String)
            // A failed message is REJECTD, an undelivered one UNDELIV (SMPP 3.4 §5.2.28).
            let failed = ["stat:REJECTD err:", "stat:UNDELIV err:"].flatMap { state in
                ["003", "008"].map { Self.hex(state + $0) }
            }
            #expect(failed.contains { text.contains($0) }, "\(text)")
        }
    }

    @Test func refusalsAnswerTheSMPPCodeThatSaysWhy() async throws {
        try await Self.withSMPPServer(configure: {
            $0.rateLimits.sendPerSecond = 0.01
            $0.rateLimits.sendBurst = 2
        }) { daemon, port, client, credential in
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            let stop = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255599999", "to": "+37255500000", "body": "STOP"])
            #expect(stop.status == 201)
            let result = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.5,
                messages: [
                    ["to": "0", "text": "bad destination"],
                    ["to": "37255599999", "text": "opted out"],
                    ["to": "37255512345", "from": "+37255511111", "source_ton": 1, "text": "not our number"],
                    ["to": "37255512345", "text": "fine"],
                    ["to": "37255512345", "text": "over the rate"],
                ])
            let statuses = (result["submits"] as? [[String: Any]] ?? []).map { $0["status"] as? Int ?? -1 }
            // ESME_RINVDSTADR, ESME_RX_P_APPN, ESME_RINVSRCADR, ESME_ROK, ESME_RTHROTTLED
            #expect(statuses == [0x0B, 0x65, 0x0A, 0x00, 0x58], "\(result)")
        }
    }

    @Test func wrongCredentialsRevokedCredentialsAndTheBindLimitAreRefused() async throws {
        try await Self.withSMPPServer(configure: { $0.smppServer.maxBindsPerAccount = 1 }) {
            daemon, port, client, credential in
            let wrong = try await runESME(
                port: port, systemID: credential.systemID, password: "wrong", wait: 0.1, expectRefusal: true)
            #expect((wrong["bind"] as? String)?.contains("error") == true, "\(wrong)")

            // One bind held; a second for the same account is refused.
            async let holding = runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 8)
            // The first bind is held before the second tries.
            #expect(try await eventually(seconds: 20) { daemon.daemon.smppServer?.bindCount == 1 })
            let second = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                expectRefusal: true)
            #expect((second["bind"] as? String)?.contains("error") == true, "\(second)")
            #expect(try await holding["bind"] as? String == "ok")

            #expect(
                try await client.delete("/v1/account/smpp-credentials/\(credential.systemID)").status == 204)
            let revoked = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                expectRefusal: true)
            #expect((revoked["bind"] as? String)?.contains("error") == true, "\(revoked)")
            let listed = try await client.get("/v1/account/smpp-credentials").json
            let first = try #require((listed["data"] as? [[String: Any]])?.first)
            #expect(first["password"] == nil)
            #expect(first["revoked_at"] as? String != nil)
        }
    }

    /// An inbound message to the account's number reaches its receiver bind, also when it arrived
    /// while no receiver was bound.
    @Test func inboundMessagesReachTheReceiverBinds() async throws {
        try await Self.withSMPPServer { daemon, port, client, credential in
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            let inbound = try await daemon.admin.post(
                "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": "hi ☃"])
            #expect(inbound.status == 201)
            let result = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, bind: "rx", wait: 30,
                untilDeliveries: 1)
            let delivery = try #require((result["deliveries"] as? [[String: Any]])?.first, "\(result)")
            #expect(delivery["esm_class"] as? Int == 0)
            #expect(delivery["source_addr"] as? String == "37255512345")
            #expect(delivery["data_coding"] as? Int == 8)
            #expect(delivery["short_message"] as? String == "0068006900202603")  // "hi ☃" in UCS-2
        }
    }

    /// A malformed PDU is answered generic_nack and closes only its own connection; an unknown
    /// command is answered generic_nack ESME_RINVCMDID and the session goes on.
    @Test func badPDUsAreAnsweredAndCloseOnlyTheirConnection() async throws {
        try await Self.withSMPPServer { daemon, port, client, credential in
            let (unknown, oversized) = try await offThePool {
                // An unknown command id (0x00000099), then enquire_link on the same connection.
                let first = try RawConnection(port: port)
                first.write(bytes: [0, 0, 0, 16, 0, 0, 0, 0x99, 0, 0, 0, 0, 0, 0, 0, 7])
                first.write(bytes: [0, 0, 0, 16, 0, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 8])
                // Both answers, however long a loaded machine takes.
                let unknown = first.readBytes(seconds: 30) { $0.count >= 32 }
                // command_length 4 GiB.
                let second = try RawConnection(port: port)
                second.write(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1])
                // Read until the daemon closes the connection.
                let oversized = second.readBytes(seconds: 30)
                return (unknown, oversized)
            }
            // generic_nack (0x80000000) status 3 sequence 7, then enquire_link_resp (0x80000015) sequence 8.
            #expect(
                unknown.bytes == [0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 7]
                    + [0, 0, 0, 16, 0x80, 0, 0, 0x15, 0, 0, 0, 0, 0, 0, 0, 8], "\(unknown)")
            #expect(!unknown.closed)
            // ESME_RINVCMDLEN under the PDU's own sequence_number, 1.
            #expect(
                Array(oversized.bytes.prefix(16)) == [0, 0, 0, 16, 0x80, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1],
                "\(oversized)")
            #expect(oversized.closed)
            // Other binds are untouched.
            let fine = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                messages: [["to": "37255512345", "text": "still serving"]])
            #expect((fine["submits"] as? [[String: Any]])?.first?["status"] as? Int == 0, "\(fine)")
        }
    }

    /// A PDU written by hand (SMPP 3.4 section 3.2: a 16-octet header of command_length, command_id,
    /// command_status and sequence_number, big-endian), not by the codec under test.
    static func rawPDU(_ command: UInt32, sequence: UInt32, body: [UInt8]) -> [UInt8] {
        func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        return word(UInt32(16 + body.count)) + word(command) + word(0) + word(sequence) + body
    }

    static func cString(_ text: String) -> [UInt8] { Array(text.utf8) + [0] }

    /// Idle connections cannot take the descriptors the daemon needs: beyond
    /// `smpp_server.max_connections` a connection is closed at once, and one that does not bind
    /// within `session_init_seconds` (SMPP 3.4 section 7.2, session_init_timer) is closed, even
    /// while it trickles a bind; a bind after that is served.
    @Test func connectionsBeyondTheLimitAndUnboundOnesAreClosed() async throws {
        try await Self.withSMPPServer(configure: {
            $0.smppServer.maxConnections = 3
            $0.smppServer.sessionInitSeconds = 2
        }) { daemon, port, _, credential in
            #expect(daemon.daemon.smppServer?.maxConnections == 3)
            let held = try await offThePool { try (0..<3).map { _ in try RawConnection(port: port) } }
            // Accepted by the server, not only by the kernel: each connection is counted on its own
            // event loop, so a fourth opened at once could be counted before one of these.
            #expect(
                try await eventually(seconds: 30) { daemon.daemon.smppServer?.openConnectionCount == 3 })
            let (beyond, unbound) = try await offThePool {
                let fourth = try RawConnection(port: port)
                let beyond = fourth.readBytes(seconds: 10)
                // The first held one trickles a bind, a byte every 0.3 s: longer than the timer.
                let bind = Self.rawPDU(
                    2, sequence: 1, body: Self.cString(credential.systemID) + Self.cString(credential.password))
                for byte in bind.prefix(12) {
                    held[0].write(bytes: [byte])
                    Thread.sleep(forTimeInterval: 0.3)
                }
                let unbound = held.map { $0.readBytes(seconds: 20) }
                return (beyond, unbound)
            }
            #expect(beyond.closed && beyond.bytes.isEmpty, "\(beyond)")
            #expect(unbound.allSatisfy { $0.closed }, "\(unbound)")
            // Places free again (the server counts a close on the connection's own event loop,
            // after the peer may have seen it): a bind is served.
            #expect(
                try await eventually(seconds: 30) { daemon.daemon.smppServer?.openConnectionCount == 0 })
            let fine = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                messages: [["to": "37255512345", "text": "after the flood"]])
            #expect((fine["submits"] as? [[String: Any]])?.first?["status"] as? Int == 0, "\(fine)")
            let metrics = try await daemon.admin.get("/metrics").text
            #expect(metrics.contains("switchboard_smpp_server_connections_limit 3"))
            #expect(!metrics.contains("switchboard_smpp_server_connections_refused_total 0"))
            #expect(metrics.contains("switchboard_smpp_server_connections_refused_total"))
            #expect(!metrics.contains("switchboard_smpp_server_bind_timeouts_total 0"))
        }
    }

    /// session_init_timer limits the wait for a bind request, not the time the server takes to
    /// answer it: a bind that arrived in time is answered even when its password check waits
    /// longer than `session_init_seconds` for the hashing pool (a flood of sign-ins holds it).
    @Test func aBindStillBeingCheckedOutlastsTheSessionInitTimer() async throws {
        try await Self.withSMPPServer(configure: {
            $0.smppServer.sessionInitSeconds = 1
            $0.passwordHashing.maxConcurrent = 1
        }) { daemon, port, _, credential in
            let pool = daemon.daemon.accounts.hashing
            // The only slot is held for 3 s: three periods of the timer.
            let held = Task { try await pool.run { Thread.sleep(forTimeInterval: 3) } }
            #expect(try await eventually(seconds: 10) { pool.statistics.running == 1 })
            let esme = try RawESME(port: port)
            let started = ContinuousClock.now
            let bound = try await offThePool { esme.bind(9, credential) }
            try await held.value
            #expect(bound?.command == 0x8000_0009 && bound?.status == 0, "\(String(describing: bound))")
            #expect(ContinuousClock.now - started > .seconds(1), "the bind did not wait for the pool")
        }
    }

    /// Text that cannot be read as sent is refused ESME_RINVMSGLEN, naming what is wrong, instead
    /// of being cut or repaired: a NUL in UCS-2 once cut the rest of the message off.
    @Test func unreadableTextIsRefusedNotCutOrRepaired() async throws {
        try await Self.withSMPPServer { daemon, port, client, credential in
            // (data_coding, short_message) pairs, each wrong in one way, then one that is fine.
            let cases: [(UInt8, [UInt8])] = [
                (8, [0x00, 0x61, 0x00, 0x00, 0x00, 0x62]),  // UCS-2 "a", NUL, "b"
                (8, [0x00, 0x68, 0x00]),  // UCS-2 with an odd octet count
                (8, [0xD8, 0x3D, 0x00, 0x61]),  // a lone high surrogate
                (1, [0x61, 0x62, 0x80, 0x63]),  // IA5 with an 8-bit octet
                (1, [0x61, 0x07, 0x62]),  // BEL
                (0, [0x61, 0xFF]),  // GSM 03.38 unpacked with an 8-bit octet
                (8, [0x00, 0x6F, 0x00, 0x6B]),  // UCS-2 "ok"
            ]
            let answers = try await offThePool {
                let connection = try RawConnection(port: port)
                connection.write(
                    bytes: Self.rawPDU(
                        2, sequence: 1,
                        body: Self.cString(credential.systemID) + Self.cString(credential.password) + Self.cString("")
                            + [0x34, 0, 0] + Self.cString("")))
                _ = connection.readBytes(seconds: 30) { $0.count >= 16 }
                var statuses: [UInt32] = []
                for (index, (coding, text)) in cases.enumerated() {
                    let body =
                        Self.cString("") + [5, 0] + Self.cString("Shop") + [1, 1] + Self.cString("37255512345")
                        + [0, 0, 0] + Self.cString("") + Self.cString("") + [0, 0, coding, 0, UInt8(text.count)] + text
                    connection.write(bytes: Self.rawPDU(4, sequence: UInt32(index + 2), body: body))
                    let answer = connection.readBytes(seconds: 30) { $0.count >= 16 }
                    statuses.append(
                        answer.bytes.count >= 12 ? answer.bytes[8..<12].reduce(0) { $0 << 8 | UInt32($1) } : 0xFFFF)
                }
                return statuses
            }
            // ESME_RINVMSGLEN (1) for each bad one, ESME_ROK for the last; the bind stays.
            #expect(answers == [1, 1, 1, 1, 1, 1, 0], "\(answers)")
            let bodies = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).map {
                $0["body"] as? String
            }
            #expect(bodies == ["ok"])
        }
    }

    /// Credentials are the server's to make (a field in the body is refused, not ignored), and only
    /// where an SMPP server runs.
    @Test func credentialsAreMadeByTheServerAndOnlyWhereOneRuns() async throws {
        try await Self.withSMPPServer { _, _, client, _ in
            let chosen = try await client.post("/v1/account/smpp-credentials", json: ["system_id": "mine"])
            #expect([400, 422].contains(chosen.status), "\(chosen.text)")
            #expect(chosen.text.contains("system_id"), "\(chosen.text)")
            // The refusal says what to send instead, not an empty list of allowed fields.
            #expect(chosen.text.contains("takes no fields"), "\(chosen.text)")
        }
        try await withDaemon { daemon in
            let (_, client) = try await daemon.signUp()
            let made = try await client.post("/v1/account/smpp-credentials", json: [:])
            #expect(made.status == 404)
            #expect(made.json["title"] as? String == "SMPP not offered", "\(made.text)")
        }
    }

    /// Failed binds are counted per address, not per system_id: guesses from one address cannot
    /// lock the credential's owner out of binding from another (as for API keys).
    @Test func failedBindsFromOneAddressDoNotLockTheSystemIDOut() async throws {
        try await Self.withSMPPServer(configure: { $0.rateLimits.authFailures = 3 }) { _, port, _, credential in
            let (guesses, owner) = try await offThePool {
                func bind(from source: String, password: String) throws -> UInt32 {
                    let connection = try RawConnection(port: port, from: source)
                    connection.write(
                        bytes: Self.rawPDU(
                            9, sequence: 1,
                            body: Self.cString(credential.systemID) + Self.cString(password) + Self.cString("")
                                + [0x34, 0, 0] + Self.cString("")))
                    let answer = connection.readBytes(seconds: 30) { $0.count >= 16 }
                    return answer.bytes.count >= 12 ? answer.bytes[8..<12].reduce(0) { $0 << 8 | UInt32($1) } : 0xFFFF
                }
                let guesses = try (0..<4).map { _ in try bind(from: "127.0.0.1", password: "guess") }
                return (guesses, try bind(from: "127.0.0.2", password: credential.password))
            }
            // ESME_RINVPASWD (0x0E) three times, then ESME_RBINDFAIL (0x0D): this address is spent.
            #expect(guesses == [0x0E, 0x0E, 0x0E, 0x0D], "\(guesses)")
            #expect(owner == 0, "the owner's bind from another address was refused 0x\(String(owner, radix: 16))")
        }
    }

    /// Switchboard sends at once, so a scheduled delivery is refused ESME_RINVSCHED rather than sent
    /// early; a validity_period that is not an SMPP 3.4 time (section 7.1.1), names a day its month
    /// does not have, is a relative time of zero or has passed is refused ESME_RINVEXPIRY; a relative
    /// or future one is accepted.
    @Test func scheduleAndValidityAreCheckedNotIgnored() async throws {
        try await Self.withSMPPServer { _, port, client, credential in
            // (schedule_delivery_time, validity_period)
            let cases: [(String, String)] = [
                ("301231000000000+", ""), ("", "garbage"), ("", "200101000000000+"), ("", "000001000000000R"),
                ("", "991231235959000+"), ("", "990230235959000+"), ("", "000000000000000R"),
            ]
            let statuses = try await offThePool {
                let connection = try RawConnection(port: port)
                connection.write(
                    bytes: Self.rawPDU(
                        2, sequence: 1,
                        body: Self.cString(credential.systemID) + Self.cString(credential.password) + Self.cString("")
                            + [0x34, 0, 0] + Self.cString("")))
                _ = connection.readBytes(seconds: 30) { $0.count >= 16 }
                var statuses: [UInt32] = []
                for (index, (schedule, validity)) in cases.enumerated() {
                    let body =
                        Self.cString("") + [5, 0] + Self.cString("Shop") + [1, 1] + Self.cString("37255512345")
                        + [0, 0, 0] + Self.cString(schedule) + Self.cString(validity) + [0, 0, 0, 0, 2]
                        + Array("hi".utf8)
                    connection.write(bytes: Self.rawPDU(4, sequence: UInt32(index + 2), body: body))
                    let answer = connection.readBytes(seconds: 30) { $0.count >= 16 }
                    statuses.append(
                        answer.bytes.count >= 12 ? answer.bytes[8..<12].reduce(0) { $0 << 8 | UInt32($1) } : 0xFFFF)
                }
                return statuses
            }
            #expect(statuses == [0x61, 0x62, 0x62, 0, 0, 0x62, 0x62], "\(statuses)")
            let stored = try await client.get("/v1/messages").json["data"] as? [Any]
            #expect(stored?.count == 2)
        }
    }

    /// A revoked credential's bind accepts nothing more, even from an ESME that ignores the unbind
    /// the server sends: its submit_sm is answered ESME_RINVBNDSTS and nothing is stored.
    @Test func aRevokedBindAcceptsNothingMore() async throws {
        try await Self.withSMPPServer { daemon, port, client, credential in
            let connection = try RawConnection(port: port)
            let bound = try await offThePool {
                connection.write(
                    bytes: Self.rawPDU(
                        9, sequence: 1,
                        body: Self.cString(credential.systemID) + Self.cString(credential.password) + Self.cString("")
                            + [0x34, 0, 0] + Self.cString("")))
                return connection.readBytes(seconds: 30) { $0.count >= 16 }
            }
            // bind_transceiver_resp (0x80000009) with ESME_ROK.
            #expect(bound.bytes.count >= 16 && Array(bound.bytes[4..<12]) == [0x80, 0, 0, 9, 0, 0, 0, 0], "\(bound)")
            #expect(try await client.delete("/v1/account/smpp-credentials/\(credential.systemID)").status == 204)
            #expect(try await eventually(seconds: 20) { daemon.daemon.smppServer?.bindCount == 0 })
            let answer = try await offThePool {
                // submit_sm to 37255512345 from the account's alphanumeric id, "late".
                let body =
                    Self.cString("") + [5, 0] + Self.cString("Late") + [1, 1] + Self.cString("37255512345")
                    + [0, 0, 0] + Self.cString("") + Self.cString("") + [0, 0, 0, 0, 4] + Array("late".utf8)
                connection.write(bytes: Self.rawPDU(4, sequence: 2, body: body))
                return connection.readBytes(seconds: 15)
            }
            // Whatever else arrives (the unbind), no submit_sm_resp with ESME_ROK: either
            // ESME_RINVBNDSTS (4) or the connection closed first.
            var offset = 0
            var submitStatuses: [UInt32] = []
            while offset + 16 <= answer.bytes.count {
                let pdu = Array(answer.bytes[offset...])
                let length = Int(pdu[0]) << 24 | Int(pdu[1]) << 16 | Int(pdu[2]) << 8 | Int(pdu[3])
                if pdu[4..<8] == [0x80, 0, 0, 4] {
                    submitStatuses.append(
                        UInt32(pdu[8]) << 24 | UInt32(pdu[9]) << 16 | UInt32(pdu[10]) << 8 | UInt32(pdu[11]))
                }
                offset += max(16, length)
            }
            #expect(submitStatuses.allSatisfy { $0 == 4 }, "\(answer)")
            let listed = try await client.get("/v1/messages").json["data"] as? [Any]
            #expect(listed?.isEmpty == true)
        }
    }

    /// Parts of a long message acknowledged before a restart are kept: the last part, sent after
    /// the daemon restarted, completes the message with every part's text.
    @Test func partsAcknowledgedBeforeARestartCompleteTheMessageAfterIt() async throws {
        let port = try DaemonProcess.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-test-\(UUID().uuidString)")
        let first = try await TestDaemon.start(directory: directory) { $0.smppServer.port = port }
        // The SMPP listener starts beside the HTTP one, a moment later.
        #expect(try await eventually(seconds: 20) { first.daemon.smppServer?.port != nil })
        let text = "the first half, and the second half"
        let credential: (systemID: String, password: String)
        let account: (id: String, key: String)
        do {
            let signedUp = try await first.client.post(
                "/v1/accounts", json: ["name": "Ada", "email": "ada@example.com", "password": "plum-harbor-violet-42"])
            account = (
                try #require(signedUp.json["account_id"] as? String), try #require(signedUp.json["api_key"] as? String)
            )
            let client = TestClient(baseURL: first.baseURL, basic: account)
            let made = try await client.post("/v1/account/smpp-credentials", json: [:]).json
            credential = (try #require(made["system_id"] as? String), try #require(made["password"] as? String))
            let before = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                messages: [["to": "37255512345", "text": text, "udh_parts": 2, "only_parts": [1]]])
            #expect((before["submits"] as? [[String: Any]])?.first?["status"] as? Int == 0, "\(before)")
            #expect((try await client.get("/v1/messages").json["data"] as? [[String: Any]])?.isEmpty == true)
        } catch {
            await first.stop()
            throw error
        }
        await first.stop(removeData: false)

        // Another port: in one process, the first daemon's port may not be free again at once.
        let secondPort = try DaemonProcess.freePort()
        let second = try await TestDaemon.start(directory: directory) { $0.smppServer.port = secondPort }
        do {
            #expect(try await eventually(seconds: 20) { second.daemon.smppServer?.port != nil })
            let after = try await runESME(
                port: secondPort, systemID: credential.systemID, password: credential.password, wait: 0.1,
                messages: [["to": "37255512345", "text": text, "udh_parts": 2, "only_parts": [2]]])
            let id = try #require((after["submits"] as? [[String: Any]])?.first?["message_id"] as? String, "\(after)")
            #expect(id.hasPrefix("msg_"))
            let client = TestClient(baseURL: second.baseURL, basic: account)
            #expect(try await client.get("/v1/messages/\(id)").json["body"] as? String == text)
        } catch {
            await second.stop()
            throw error
        }
        await second.stop()
    }

    /// An ESME that sends far more submit_sm than `submit_window` without waiting is read only as
    /// answers go out: every one is answered and stored, none refused, and the pause is counted.
    @Test func aBurstBeyondTheSubmitWindowIsHeldBackNotLost() async throws {
        try await Self.withSMPPServer(configure: {
            $0.smppServer.submitWindow = 2
            $0.rateLimits.sendPerSecond = 1000
            $0.rateLimits.sendBurst = 1000
        }) { daemon, port, client, credential in
            let result = try await runESME(
                port: port, systemID: credential.systemID, password: credential.password, wait: 0.1,
                messages: [["to": "37255512345", "text": "burst", "burst": 60]])
            let submits = try #require(result["submits"] as? [[String: Any]], "\(result)")
            #expect(submits.count == 60)
            #expect(submits.allSatisfy { $0["status"] as? Int == 0 }, "\(submits.filter { $0["status"] as? Int != 0 })")
            let ids = Set(submits.compactMap { $0["message_id"] as? String })
            #expect(ids.count == 60)
            let listed = try await client.get("/v1/messages?limit=100").json["data"] as? [[String: Any]] ?? []
            #expect(Set(listed.compactMap { $0["id"] as? String }) == ids)
            let metrics = try await daemon.client.get("/metrics").text
            let paused = metrics.split(separator: "\n").first {
                $0.hasPrefix("switchboard_smpp_server_window_full_total ")
            }
            #expect(
                paused.flatMap { $0.split(separator: " ").last }.flatMap { Int($0) } ?? 0 > 0,
                "\(paused ?? "no series")")
        }
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var result: [T] = []
        for element in self { result.append(try await transform(element)) }
        return result
    }
}
