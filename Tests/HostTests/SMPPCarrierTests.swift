import Foundation
import GRDB
import SMPP
import SwitchboardDaemon
import SwitchboardSMPP
import Testing

/// Carrier connectors against a real SMSC (smpp34, `Tests/Peers/smsc.py`).
@Suite struct SMPPCarrierTests {
    static func connector(
        _ smsc: SMSCProcess, name: String = "sim", _ change: (inout SMPPConnectorSettings) -> Void = { _ in }
    )
        -> SMPPConnectorSettings
    {
        connector(port: smsc.port, name: name, change)
    }

    /// A connector to an SMSC on loopback `port`, which may not be listening yet.
    static func connector(
        port: Int, name: String = "sim", _ change: (inout SMPPConnectorSettings) -> Void = { _ in }
    ) -> SMPPConnectorSettings {
        var settings = SMPPConnectorSettings(
            name: name, host: "127.0.0.1", port: port, systemID: "switchboard", password: "secret")
        settings.reconnectMinSeconds = 0.2
        change(&settings)
        return settings
    }

    /// Waits until every message in `ids` has a final status, and returns them by id.
    static func finals(_ client: TestClient, _ ids: [String], seconds: Double = 20) async throws -> [String: [String:
        Any]]
    {
        var messages: [String: [String: Any]] = [:]
        _ = try await eventually(seconds: seconds) {
            for id in ids {
                messages[id] = try await client.get("/v1/messages/\(id)").json
            }
            return messages.values.allSatisfy {
                ["delivered", "undelivered", "failed"].contains($0["status"] as? String)
            }
        }
        return messages
    }

    @Test func messagesLeaveThroughTheSMSCEncodedAsItExpectsAndTheirReceiptsComeBack() async throws {
        try await withSMSC { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                #expect(try await Self.bound(daemon))
                let (_, client) = try await daemon.signUp()
                let long = String(repeating: "Long message. ", count: 25)  // 350 GSM characters: 3 parts
                var ids: [String] = []
                for body in ["Hello {world} €5", "Привет, мир", long] {
                    let sent = try await client.send(to: "+37255512345", from: "ACME", body: body)
                    #expect(sent.status == 201)
                    ids.append(try #require(sent.json["id"] as? String))
                }
                let finals = try await Self.finals(client, ids)
                #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")

                let submits = smsc.submits()
                #expect(submits.count == 5)  // 1 + 1 + 3 parts
                for submit in submits {
                    #expect(submit["source_addr"] as? String == "ACME")
                    #expect(submit["source_addr_ton"] as? Int == 5)  // alphanumeric
                    #expect(submit["destination_addr"] as? String == "37255512345")
                    #expect(submit["dest_addr_ton"] as? Int == 1)
                    #expect(submit["dest_addr_npi"] as? Int == 1)
                    #expect(submit["registered_delivery"] as? Int == 1)
                }
                // GSM 03.38 unpacked, with "{", "}" and "€" as escape sequences (0x1B 0x28, 0x1B 0x29, 0x1B 0x65).
                #expect(submits[0]["data_coding"] as? Int == 0)
                let gsm = try #require(submits[0]["short_message"] as? String)
                #expect(gsm.hasPrefix("48656c6c6f201b28776f726c641b29201b6535"), "\(gsm)")
                #expect(submits[1]["data_coding"] as? Int == 8)
                #expect(submits[1]["short_message"] as? String == "041f04400438043204350442002c0020043c04380440")
                let parts = submits[2...]
                #expect(parts.allSatisfy { $0["esm_class"] as? Int == 0x40 })
                let headers = parts.compactMap { ($0["short_message"] as? String)?.prefix(12) }
                #expect(headers.map { $0.suffix(4) } == ["0301", "0302", "0303"], "\(headers)")
                #expect(Set(headers.map { $0.prefix(8) }).count == 1, "one reference for the three parts")

                let connectors = try await daemon.admin.get("/v1/admin/connectors").json
                let status = try #require((connectors["data"] as? [[String: Any]])?.first)
                #expect(status["accepted"] as? Int == 3)
                #expect(status["receipts"] as? Int ?? 0 >= 3)
                let metrics = try await daemon.client.get("/metrics").text
                #expect(metrics.contains(#"switchboard_smpp_submits_total{connector="sim",result="accepted"} 5"#))
                #expect(metrics.contains(#"switchboard_smpp_bound{connector="sim"} 1"#))
            }
        }
    }

    /// Receipts that write the SMSC's id differently from its submit_sm_resp (decimal for hex, hex
    /// for decimal, zero-padded), only in TLVs, or before the submit_sm_resp, all find their message.
    @Test(arguments: [
        ["--receipt-id-format", "dec"], ["--id-format", "dec", "--receipt-id-format", "hex"],
        ["--receipt-id-format", "padded"], ["--no-text-receipt"], ["--receipt-first"],
    ])
    func receiptsFindTheirMessage(_ options: [String]) async throws {
        try await withSMSC(options) { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                let (_, client) = try await daemon.signUp()
                var ids: [String] = []
                for index in 0..<5 {
                    ids.append(try #require(try await client.send(body: "receipt \(index)").json["id"] as? String))
                }
                let finals = try await Self.finals(client, ids)
                #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(options): \(finals)")
            }
        }
    }

    @Test func failureReceiptsAndRefusalsKeepTheCarriersCodes() async throws {
        try await withSMSC(["--fail-every", "1"]) { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(try await client.send(body: "will not arrive").json["id"] as? String)
                let message = try #require(try await Self.finals(client, [id])[id])
                #expect(message["status"] as? String == "undelivered")
                #expect(message["error_code"] as? Int == 1)
                #expect((message["error_message"] as? String)?.contains("UNDELIV") == true, "\(message)")
            }
        }
        try await withSMSC(["--reject-every", "1"]) { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(try await client.send(body: "refused").json["id"] as? String)
                let message = try #require(try await Self.finals(client, [id])[id])
                #expect(message["status"] as? String == "failed")
                #expect(message["error_code"] as? Int == 0x0B)
                #expect((message["error_message"] as? String)?.contains("ESME_RINVDSTADR") == true, "\(message)")
            }
        }
    }

    /// ESME_RTHROTTLED slows the connector down and the message is submitted again, not failed.
    @Test func throttlingSlowsDownAndRetries() async throws {
        try await withSMSC(["--throttle-every", "2"]) { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                let (_, client) = try await daemon.signUp()
                var ids: [String] = []
                for index in 0..<6 {
                    ids.append(try #require(try await client.send(body: "throttled \(index)").json["id"] as? String))
                }
                let finals = try await Self.finals(client, ids, seconds: 30)
                #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")
                let status = try #require(
                    (try await daemon.admin.get("/v1/admin/connectors").json["data"] as? [[String: Any]])?.first)
                #expect(status["throttled"] as? Int ?? 0 >= 3, "\(status)")
            }
        }
    }

    /// Answers no real SMSC means to give: a `submit_sm_resp` whose message_id is too long to read
    /// fails its message, sent once (the SMSC may have taken it); a response of another command
    /// counts as no answer (sent twice at most, then failed); `generic_nack` `ESME_RTHROTTLED`
    /// slows down and tries again, as the same code in a `submit_sm_resp` does.
    @Test func answersThatCannotBeTrustedNeverSendAMessageWithoutLimit() async throws {
        let ok = Array("ok-1\0".utf8)
        let cases: [(String, @Sendable (UInt32, Int) -> [UInt8], String, Int?, Int)] = [
            (
                "long id",
                { s, _ in RawSMSC.pdu(0x8000_0004, sequence: s, body: Array(repeating: 88, count: 70) + [0]) },
                "failed", 254, 1
            ),
            ("wrong type", { s, _ in RawSMSC.pdu(0x8000_0005, sequence: s, body: ok) }, "failed", 254, 2),
            (
                // A length word of 4,096 read from garbage: the link waits for octets that never
                // come, so it is closed after one response timeout and the retry goes to a new bind.
                "a stream out of step, then a new link",
                { s, index in
                    index == 0
                        ? [0, 0, 0x10, 0] + Array(repeating: 0x41, count: 28)
                        : RawSMSC.pdu(0x8000_0004, sequence: s, body: ok)
                }, "sent", nil, 2
            ),
            (
                "nack throttled, then taken",
                { s, index in
                    index == 0
                        ? RawSMSC.pdu(0x8000_0000, status: 0x58, sequence: s)
                        : RawSMSC.pdu(0x8000_0004, sequence: s, body: ok)
                }, "sent", nil, 2
            ),
        ]
        for (name, answer, status, code, submits) in cases {
            let smsc = try RawSMSC(answer: answer)
            defer { smsc.stop() }
            try await withDaemon(configure: {
                $0.smppConnectors = [Self.connector(port: smsc.port) { $0.responseTimeoutSeconds = 2 }]
            }) { daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(try await client.send(body: name).json["id"] as? String)
                var message: [String: Any] = [:]
                _ = try await eventually(seconds: 20) {
                    message = try await client.get("/v1/messages/\(id)").json
                    return message["status"] as? String == status
                }
                #expect(message["status"] as? String == status, "\(name): \(message)")
                if let code { #expect(message["error_code"] as? Int == code, "\(name): \(message)") }
                // Time for a resend that should not come.
                try await Task.sleep(for: .seconds(3))
                #expect(smsc.submitCount == submits, "\(name): \(smsc.submitCount) submits")
            }
        }
    }

    /// A connector that cannot bind is passed over for the next one serving the destination; one
    /// serving only other prefixes is never used.
    @Test func routesByPrefixAndFailsOverWhenAConnectorIsDown() async throws {
        try await withSMSC { smsc in
            let deadPort = try DaemonProcess.freePort()
            try await withDaemon(configure: {
                $0.smppConnectors = [
                    Self.connector(smsc, name: "uk-only") { $0.prefixes = ["+44"] },
                    SMPPConnectorSettings(
                        name: "down", host: "127.0.0.1", port: deadPort, systemID: "switchboard", password: "secret"),
                    Self.connector(smsc, name: "backup"),
                ]
            }) { daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(try await client.send(to: "+37255512345", body: "failover").json["id"] as? String)
                #expect(try await Self.finals(client, [id])[id]?["status"] as? String == "delivered")
                let data = try #require(
                    try await daemon.admin.get("/v1/admin/connectors").json["data"] as? [[String: Any]])
                let byName = Dictionary(uniqueKeysWithValues: data.map { ($0["name"] as? String ?? "", $0) })
                #expect(byName["uk-only"]?["accepted"] as? Int == 0)
                #expect(byName["down"]?["state"] as? String == "connecting")
                #expect((byName["down"]?["last_error"] as? String)?.contains("cannot connect") == true)
                #expect(byName["backup"]?["accepted"] as? Int == 1)
            }
        }
    }

    @Test func aDestinationNoConnectorServesFails() async throws {
        try await withSMSC { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc) { $0.prefixes = ["+44"] }] }) {
                daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(try await client.send(to: "+37255512345").json["id"] as? String)
                let message = try #require(try await Self.finals(client, [id])[id])
                #expect(message["status"] as? String == "failed")
                #expect((message["error_message"] as? String)?.contains("no carrier connector serves") == true)
            }
        }
    }

    /// Long messages as message_payload or with SAR TLVs instead of a UDH, as configured.
    @Test(arguments: [TextCoding.LongMessages.messagePayload, .sar])
    func longMessagesTravelAsConfigured(_ mode: TextCoding.LongMessages) async throws {
        try await withSMSC { smsc in
            try await withDaemon(configure: {
                $0.smppConnectors = [Self.connector(smsc) { $0.text.longMessages = mode }]
            }) {
                daemon in
                let (_, client) = try await daemon.signUp()
                let id = try #require(
                    try await client.send(body: String(repeating: "0123456789", count: 20)).json["id"] as? String)
                #expect(try await Self.finals(client, [id])[id]?["status"] as? String == "delivered")
                let submits = smsc.submits()
                switch mode {
                case .messagePayload:
                    #expect(submits.count == 1)
                    let payload = (submits.first?["tlvs"] as? [String: String])?["\(TLV.messagePayload)"]
                    #expect(payload?.count == 400)  // 200 septets, one per octet, in hex
                default:
                    #expect(submits.count == 2)
                    #expect(
                        submits.allSatisfy { ($0["tlvs"] as? [String: String])?["\(TLV.sarTotalSegments)"] == "02" })
                }
            }
        }
    }

    /// The SMSC dies (kill -9) with a window of submits in flight and comes back: every message is
    /// delivered, and only those whose submit_sm_resp never arrived can have gone out twice.
    @Test func aConnectionLostWithSubmitsInFlightLosesNone() async throws {
        // Like an SMSC, the simulator keeps the receipts it owes on disk (--state) across its restart.
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("smsc-\(UUID().uuidString).state")
            .path
        let first = try await SMSCProcess(["--delay-ms", "300", "--state", state])
        var firstKilled = false
        defer { if !firstKilled { first.kill() } }
        try await withDaemon(configure: {
            $0.smppConnectors = [Self.connector(first) { $0.window = 5 }]
            $0.rateLimits.sendBurst = 1000
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            let ids = try await Self.send(client, 30, bodies: "drop-")
            // Some accepted, a window in flight, the rest queued.
            _ = try await eventually(seconds: 10) { first.submits().count >= 8 }
            first.kill()
            firstKilled = true
            let beforeKill = first.submits()
            let second = try await SMSCProcess(["--state", state], port: first.port)
            defer { second.kill() }
            let finals = try await Self.finals(client, ids, seconds: 60)
            #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")
            let bodies = (beforeKill + second.submits()).compactMap { submit -> String? in
                guard let hex = submit["short_message"] as? String else { return nil }
                let bytes = stride(from: 0, to: hex.count, by: 2).compactMap {
                    UInt8(
                        hex[hex.index(hex.startIndex, offsetBy: $0)..<hex.index(hex.startIndex, offsetBy: $0 + 2)],
                        radix: 16)
                }
                return String(decoding: bytes, as: UTF8.self)
            }
            let counts = Dictionary(bodies.map { ($0, 1) }, uniquingKeysWith: +)
            #expect((0..<30).allSatisfy { counts["drop-\($0)"] ?? 0 >= 1 })
            // Repeats only within one window (5) of the kill.
            let repeated = counts.values.filter { $0 > 1 }.count
            #expect(repeated <= 5, "\(counts.filter { $0.value > 1 })")
        }
    }

    /// An SMSC that restarts counts its message ids from the start again, so a new submission gets
    /// the id an earlier, settled one had. A receipt that comes before its submit_sm_resp
    /// (`--receipt-first`) must wait for that response, not be spent on the settled message: every
    /// message of both sessions is delivered.
    @Test func idsGivenAgainByARestartedSMSCSettleTheNewMessages() async throws {
        let first = try await SMSCProcess(["--receipt-first"])
        var firstKilled = false
        defer { if !firstKilled { first.kill() } }
        try await withDaemon(configure: {
            $0.smppConnectors = [Self.connector(first)]
            $0.rateLimits.sendBurst = 1000
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            let before = try await Self.send(client, 10, bodies: "first-")
            let settled = try await Self.finals(client, before)
            #expect(before.allSatisfy { settled[$0]?["status"] as? String == "delivered" }, "\(settled)")
            first.kill()
            firstKilled = true
            let second = try await SMSCProcess(["--receipt-first"], port: first.port)
            defer { second.kill() }
            let after = try await Self.send(client, 10, bodies: "second-")
            let finals = try await Self.finals(client, after, seconds: 30)
            // (The simulator numbers its ids from 0x10000000 in each run: all ten were given before.)
            #expect(after.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")
        }
    }

    /// A backlog is claimed as places in the window free, never all at once: with a slow SMSC (each
    /// `submit_sm` answered 200 ms late) and a window of 2, at most twice the window is claimed and
    /// unanswered at any moment (in the database and in the in-flight gauge), the window is kept
    /// full, and every message still leaves exactly once.
    @Test func aBacklogIsClaimedAsTheWindowFrees() async throws {
        try await withSMSC(["--delay-ms", "200"]) { smsc in
            try await withDaemon(configure: {
                $0.smppConnectors = [Self.connector(smsc) { $0.window = 2 }]
                $0.rateLimits.sendBurst = 1000
            }) { daemon in
                // Bound first: until then every claim is given back at once (the router defers).
                #expect(try await Self.bound(daemon))
                let (_, client) = try await daemon.signUp()
                // All at once: sent one after another on a loaded machine, each could be answered
                // before the next arrived, and no backlog would form.
                let ids = try await Self.sendAtOnce(client, 30, bodies: "backlog-")
                let database = try DatabaseQueue(
                    path: daemon.directory.appendingPathComponent("switchboard.sqlite").path,
                    configuration: { () -> Configuration in
                        var configuration = Configuration()
                        configuration.readonly = true
                        return configuration
                    }())
                var mostClaimed = 0
                var mostInFlight = 0.0
                let drained = try await eventually(seconds: 30) {
                    let (claimed, waiting) = try await database.read { db in
                        (
                            try Int.fetchOne(
                                db,
                                sql:
                                    "SELECT count(*) FROM messages WHERE status = 'queued' AND submit_started_at IS NOT NULL"
                            ) ?? 0,
                            try Int.fetchOne(db, sql: "SELECT count(*) FROM messages WHERE status = 'queued'") ?? 0
                        )
                    }
                    let gauge = try await Self.inFlightGauge(daemon)
                    mostClaimed = max(mostClaimed, claimed)
                    mostInFlight = max(mostInFlight, gauge)
                    return waiting == 0
                }
                #expect(drained)
                #expect(mostClaimed <= 4, "at most twice the window claimed at once; saw \(mostClaimed)")
                #expect(mostInFlight <= 4, "the in-flight gauge stays within twice the window; saw \(mostInFlight)")
                // The 30 sends take far less than the SMSC's 200 ms per answer: the window filled.
                #expect(mostClaimed >= 2, "the window was never full")
                let finals = try await Self.finals(client, ids, seconds: 30)
                #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")
                #expect(smsc.submits().count == 30)
                #expect(try await eventually { try await Self.inFlightGauge(daemon) == 0 })
            }
        }
    }

    /// With no connector bound, a queued message waits for a bind instead of being claimed and
    /// released again every second: in 4 s without an SMSC each of 40 messages is deferred about
    /// once (retried every second, about 160 deferrals), and once the SMSC is up and the connector
    /// binds, all leave at once rather than at the end of their 30 s wait.
    @Test func withNoConnectorBoundMessagesWaitForABind() async throws {
        let port = try DaemonProcess.freePort()
        try await withDaemon(configure: {
            $0.smppConnectors = [Self.connector(port: port) { $0.reconnectMaxSeconds = 0.5 }]
            $0.rateLimits.sendBurst = 1000
        }) { daemon in
            let (_, client) = try await daemon.signUp()
            let ids = try await Self.send(client, 40, bodies: "waits-")
            try await Task.sleep(for: .seconds(4))
            let metrics = try await daemon.client.get("/metrics").text
            let deferrals =
                metrics.split(separator: "\n")
                .first { $0.hasPrefix(#"switchboard_carrier_submissions_total{result="deferred"}"#) }
                .flatMap { Double($0.split(separator: " ").last ?? "") } ?? 0
            #expect(deferrals >= 40 && deferrals < 80, "each message deferred about once; \(deferrals)")
            let smsc = try await SMSCProcess([], port: port)
            defer { smsc.kill() }
            let finals = try await Self.finals(client, ids, seconds: 15)
            #expect(ids.allSatisfy { finals[$0]?["status"] as? String == "delivered" }, "\(finals)")
            #expect(smsc.submits().count == 40)
        }
    }

    /// Whether the daemon's first connector reports itself bound within the usual wait.
    static func bound(_ daemon: TestDaemon) async throws -> Bool {
        try await eventually {
            let status = try await daemon.admin.get("/v1/admin/connectors").json
            return ((status["data"] as? [[String: Any]])?.first?["state"] as? String) == "bound"
        }
    }

    /// Sends `count` messages with bodies `bodies` followed by 0, 1, …, and returns their ids in order.
    static func send(_ client: TestClient, _ count: Int, bodies: String) async throws -> [String] {
        var ids: [String] = []
        for index in 0..<count {
            ids.append(try #require(try await client.send(body: "\(bodies)\(index)").json["id"] as? String))
        }
        return ids
    }

    /// Sends `count` numbered messages concurrently, so that they are queued together whatever the
    /// machine's load; returns their ids.
    static func sendAtOnce(_ client: TestClient, _ count: Int, bodies: String) async throws -> [String] {
        try await withThrowingTaskGroup(of: String?.self) { group in
            for index in 0..<count {
                group.addTask { try await client.send(body: "\(bodies)\(index)").json["id"] as? String }
            }
            var ids: [String] = []
            for try await id in group { ids.append(try #require(id)) }
            return ids
        }
    }

    /// `switchboard_carrier_submissions_in_flight` from the daemon's `/metrics`.
    static func inFlightGauge(_ daemon: TestDaemon) async throws -> Double {
        let metrics = try await daemon.client.get("/metrics").text
        let line = metrics.split(separator: "\n").first { $0.hasPrefix("switchboard_carrier_submissions_in_flight ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") } ?? -1
    }

    /// Mobile-originated deliver_sm become inbound messages: reassembled (also when the SMSC cut a
    /// surrogate pair between two parts), UCS-2 decoded, opt-out keywords applied; one for a number
    /// no account holds is refused with ESME_RINVDSTADR.
    @Test func inboundMessagesArriveReassembledAndOptOutsApply() async throws {
        try await withSMSC { smsc in
            try await withDaemon(configure: { $0.smppConnectors = [Self.connector(smsc)] }) { daemon in
                let (_, client) = try await daemon.signUp()
                #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
                #expect(
                    try await eventually {
                        (try? await smsc.control("MO 37255511111 37255500000 hello inbound")) == "ok"
                    })
                #expect(
                    try await smsc.control("MOLONG 37255511111 37255500000 a long inbound message in five parts!!")
                        == "ok")
                #expect(try await smsc.control("MO 37255511111 37255500000 Ünïcødé ☃") == "ok")
                // UTF-16BE 0061 0062 D83D DE00 0063 cut every 6 octets: the pair is split.
                #expect(try await smsc.control("MOSPLIT 37255511111 37255500000 6 ab😀c") == "ok")
                #expect(try await smsc.control("MO 37255522222 37255500000 STOP") == "ok")
                #expect(try await smsc.control("MO 37255511111 37255599999 nobody") == "ok")
                var bodies: [String] = []
                _ = try await eventually {
                    let page = try await client.get("/v1/messages?direction=inbound").json
                    bodies = (page["data"] as? [[String: Any]] ?? []).compactMap { $0["body"] as? String }
                    return bodies.count >= 5
                }
                #expect(
                    Set(bodies) == [
                        "hello inbound", "a long inbound message in five parts!!", "Ünïcødé ☃", "ab😀c", "STOP",
                    ],
                    "\(bodies)")
                let optOuts = try await client.get("/v1/account/opt-outs").text
                #expect(optOuts.contains("+37255522222"))
            }
        }
    }
}
