import Foundation
import SMPP
import SwitchboardCore
import SwitchboardSMPP
import Testing

/// The SMPP server's answers where a lenient server would guess, driven by PDUs written by hand
/// (SMPP 3.4 section 3.2), not by the codec under test.
@Suite struct SMPPServerRulesTests {
    typealias Server = SMPPServerTests

    /// A bind's too-long field is answered with the bind's own response and the code that names
    /// it (SMPP 3.4 section 4.3 keeps generic_nack for unusable headers); an unknown response
    /// command is answered generic_nack; an SMPP 3.3 ESME gets no optional parameter in its
    /// bind response.
    @Test func bindsAndUnknownCommandsGetTheAnswerTheirClientExpects() async throws {
        try await Server.withSMPPServer { _, port, _, credential in
            let answers = try await offThePool {
                func bind(
                    _ systemID: String, _ password: String, version: UInt8 = 0x34, command: UInt32 = 9
                ) throws -> RawPDU? {
                    let esme = try RawESME(port: port)
                    esme.send(
                        command, sequence: 1,
                        body: Server.cString(systemID) + Server.cString(password) + Server.cString("")
                            + [version, 0, 0] + Server.cString(""))
                    return esme.read(seconds: 30)
                }
                let longSystemID = try bind(String(repeating: "s", count: 20), "secret")
                let longPassword = try bind(credential.systemID, String(repeating: "p", count: 12))
                let v33 = try bind(credential.systemID, credential.password, version: 0x33, command: 1)
                let v34 = try bind(credential.systemID, credential.password)
                let v33Transceiver = try bind(credential.systemID, credential.password, version: 0x33)
                let esme = try RawESME(port: port)
                esme.send(0x8000_0099, sequence: 5, body: [])
                esme.send(0x15, sequence: 6, body: [])
                return (
                    longSystemID, longPassword, v33, v34, esme.read(seconds: 30), esme.read(seconds: 30), v33Transceiver
                )
            }
            // bind_transceiver_resp with ESME_RINVSYSID (0x0F), then ESME_RINVPASWD (0x0E).
            #expect(answers.0?.command == 0x8000_0009 && answers.0?.status == 0x0F, "\(String(describing: answers.0))")
            #expect(answers.1?.command == 0x8000_0009 && answers.1?.status == 0x0E, "\(String(describing: answers.1))")
            // "Switchboard" and its NUL; SMPP 3.4 adds sc_interface_version (tag 0x0210, 1 octet).
            #expect(
                answers.2?.command == 0x8000_0001 && answers.2?.status == 0
                    && answers.2?.body == Server.cString("Switchboard"))
            // SMPP 3.3 has no bind_transceiver: ESME_RINVCMDID in its response.
            #expect(answers.6?.command == 0x8000_0009 && answers.6?.status == 3, "\(String(describing: answers.6))")
            #expect(
                answers.3?.status == 0 && answers.3?.body == Server.cString("Switchboard") + [0x02, 0x10, 0, 1, 0x34])
            // generic_nack ESME_RINVCMDID under the unknown response's sequence; the session goes on.
            #expect(answers.4?.command == 0x8000_0000 && answers.4?.status == 3 && answers.4?.sequence == 5)
            #expect(answers.5?.command == 0x8000_0015 && answers.5?.sequence == 6)
        }
    }

    /// A submit_sm whose meaning would have to be guessed is refused with the code that names the
    /// field, and nothing is stored: text in two places, a parameter twice, a number that needs a
    /// country to read, a part numbered outside its message. Parts of two messages under one reused
    /// reference get ids of their own.
    @Test func submitsThatWouldBeGuessedAreRefused() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            func submit(
                sourceTON: UInt8 = 5, sourceNPI: UInt8 = 0, source: String = "Shop", destinationTON: UInt8 = 1,
                destinationNPI: UInt8 = 1, to: String = "37255512345", esmClass: UInt8 = 0, registered: UInt8 = 0,
                text: [UInt8], tlvs: [UInt8] = []
            ) -> [UInt8] {
                Server.cString("") + [sourceTON, sourceNPI] + Server.cString(source) + [destinationTON, destinationNPI]
                    + Server.cString(to) + [esmClass, 0, 0] + Server.cString("") + Server.cString("")
                    + [registered, 0, 0, 0, UInt8(text.count)] + text + tlvs
            }
            func tlv(_ tag: UInt16, _ value: [UInt8]) -> [UInt8] {
                [UInt8(tag >> 8), UInt8(tag & 0xFF), 0, UInt8(value.count)] + value
            }
            let hi = Array("hi".utf8)
            let cases: [(String, [UInt8])] = [
                ("message_payload twice", submit(text: [], tlvs: tlv(0x0424, hi) + tlv(0x0424, hi))),
                ("short_message and message_payload", submit(text: hi, tlvs: tlv(0x0424, Array("there".utf8)))),
                ("alphanumeric destination", submit(destinationTON: 5, destinationNPI: 0, to: "Shop", text: hi)),
                ("national destination", submit(destinationTON: 2, to: "55512345", text: hi)),
                ("destination NPI 9", submit(destinationNPI: 9, text: hi)),
                ("national source", submit(sourceTON: 2, sourceNPI: 1, source: "55500000", text: hi)),
                ("source NPI 7", submit(sourceNPI: 7, text: hi)),
                ("UDH total 0", submit(esmClass: 0x40, text: [5, 0, 3, 9, 0, 1] + hi)),
                ("UDH part 3 of 2", submit(esmClass: 0x40, text: [5, 0, 3, 9, 2, 3] + hi)),
                ("SAR without seqnum", submit(text: hi, tlvs: tlv(0x020C, [0, 9]) + tlv(0x020E, [2]))),
                (
                    "SAR part 0",
                    submit(text: hi, tlvs: tlv(0x020C, [0, 9]) + tlv(0x020E, [2]) + tlv(0x020F, [0]))
                ),
                (
                    "SAR reference of 1 octet",
                    submit(text: hi, tlvs: tlv(0x020C, [9]) + tlv(0x020E, [2]) + tlv(0x020F, [1]))
                ),
                ("first part, reference 7", submit(esmClass: 0x40, text: [5, 0, 3, 7, 2, 1] + hi)),
                (
                    "another first part, reference 7",
                    submit(to: "37255512346", esmClass: 0x40, text: [5, 0, 3, 7, 2, 1] + hi)
                ),
                ("the first part sent again", submit(esmClass: 0x40, text: [5, 0, 3, 7, 2, 1] + hi)),
                (
                    "a first part with other text under the held reference",
                    submit(esmClass: 0x40, text: [5, 0, 3, 7, 2, 1] + Array("yo".utf8))
                ),
                ("registered_delivery 3", submit(registered: 3, text: hi)),
                ("registered_delivery bit 5", submit(registered: 0x21, text: hi)),
                ("esm_class of a receipt", submit(esmClass: 0x04, text: hi)),
                ("esm_class of an acknowledgement", submit(esmClass: 0x08, text: hi)),
                ("TON 1 sender that is a name", submit(sourceTON: 1, sourceNPI: 1, source: "ACME", text: hi)),
                ("TON 1 destination that is a name", submit(to: "ACME", text: hi)),
                ("concatenation element of 2 octets", submit(esmClass: 0x40, text: [4, 0, 2, 7, 2] + hi)),
                ("element longer than the header", submit(esmClass: 0x40, text: [3, 0, 3, 7] + hi)),
                ("GSM text ending in an escape", submit(text: hi + [0x1B])),
                ("a user data header of length 0 and no text", submit(esmClass: 0x40, text: [0])),
                ("a header length beyond the message", submit(esmClass: 0x40, text: [9, 0, 3, 7, 2, 1])),
                ("user_message_reference of 1 octet", submit(text: hi, tlvs: tlv(0x0204, [7]))),
                ("alert_on_message_delivery with a value", submit(text: hi, tlvs: tlv(0x130C, [1]))),
                ("a Turkish single shift table", submit(esmClass: 0x40, text: [3, 0x24, 1, 1, 0x1B, 0x53])),
                ("a Portuguese locking shift table", submit(esmClass: 0x40, text: [3, 0x25, 1, 3, 0x0B])),
                ("16-bit application ports", submit(esmClass: 0x40, text: [6, 5, 4, 0x0B, 0x84, 0x23, 0xF0] + hi)),
                ("8-bit application ports", submit(esmClass: 0x40, text: [4, 4, 2, 0xF5, 0xF5] + hi)),
                (
                    "two concatenation elements",
                    submit(esmClass: 0x40, text: [10, 0, 3, 0x60, 2, 1, 0, 3, 0x61, 1, 1] + hi)
                ),
                ("fine", submit(text: Array("fine".utf8), tlvs: tlv(0x0204, [0, 7]))),
            ]
            let answers = try await Self.submitsOneByOne(cases.map(\.1), port: port, credential: credential)
            let statuses = answers.map { $0?.status ?? 0xFFFF }
            #expect(
                statuses == [
                    0xC0, 0x01, 0x50, 0x50, 0x51, 0x48, 0x49, 0x43, 0x43, 0xC3, 0xC4, 0xC2, 0, 0, 0, 0x45, 0x07, 0x07,
                    0x43, 0x43, 0x0A, 0x0B, 0x43, 0x43, 0x01, 0x01, 0x43, 0xC2, 0xC2, 0x43, 0x43, 0x43, 0x43, 0x43, 0,
                ],
                "\(zip(cases.map(\.0), statuses.map { String($0, radix: 16) }).map { "\($0): \($1)" })")
            // Two parts under reference 7, each with an id of its own.
            let partIDs = answers[12...13].map { $0.map { Array($0.body.dropLast()) } ?? [] }
            #expect(partIDs[0] != partIDs[1] && !partIDs[0].isEmpty, "\(partIDs)")
            let bodies = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).map {
                $0["body"] as? String
            }
            #expect(bodies == ["fine"])
        }
    }

    /// A receiver that refuses a deliver_sm for good (ESME_RX_P_APPN) is not offered it again and
    /// the next one comes; one that defers (ESME_RTHROTTLED) is offered it again after a back-off
    /// that grows, not every 250 ms, until it takes it.
    @Test func aReceiverThatRefusesOrDefersIsAnsweredAsItAsks() async throws {
        try await Server.withSMPPServer { daemon, port, client, credential in
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            let esme = try RawESME(port: port)
            let bound = try await offThePool {
                return esme.bind(1, credential)
            }
            #expect(bound?.command == 0x8000_0001 && bound?.status == 0, "\(String(describing: bound))")
            func inbound(_ body: String) async throws {
                let sent = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": body])
                #expect(sent.status == 201)
            }
            try await inbound("refused")
            let refused = try await offThePool { () -> [RawPDU] in
                guard let first = esme.read(seconds: 30) else { return [] }
                // ESME_RX_P_APPN: refused for good.
                esme.send(0x8000_0005, sequence: first.sequence, status: 0x65, body: [0])
                return [first] + esme.readAll(seconds: 2)
            }
            #expect(refused.count == 1 && refused.first?.command == 5, "\(refused)")

            try await inbound("deferred")
            let deferred = try await offThePool { () -> [RawPDU] in
                // Counted from the first offer, however long a loaded machine takes to make it.
                guard let first = esme.read(seconds: 30) else { return [] }
                esme.send(0x8000_0005, sequence: first.sequence, status: 0x58, body: [0])
                var offers = [first]
                let deadline = Date().addingTimeInterval(4)
                while Date() < deadline, let offer = esme.read(seconds: deadline.timeIntervalSinceNow) {
                    offers.append(offer)
                    // ESME_RTHROTTLED each time.
                    esme.send(0x8000_0005, sequence: offer.sequence, status: 0x58, body: [0])
                }
                // Then taken.
                if let last = esme.read(seconds: 40) {
                    offers.append(last)
                    esme.send(0x8000_0005, sequence: last.sequence, status: 0, body: [0])
                }
                return offers
            }
            // Every 250 ms would offer it 16 times in 4 s; backing off from 250 ms doubling, at most 5.
            #expect(deferred.count >= 3 && deferred.count <= 6, "\(deferred.count) offers")
            #expect(Set(deferred.map(\.command)) == [5])
            let after = try await offThePool { esme.readAll(seconds: 1.5) }
            #expect(after.isEmpty, "offered again once acknowledged: \(after)")
            let metrics = try await daemon.admin.get("/metrics").text
            #expect(metrics.contains("switchboard_smpp_server_deliveries_total{result=\"refused\"} 1"), "\(metrics)")
            #expect(metrics.contains("switchboard_smpp_server_deliveries_total{result=\"acknowledged\"} 1"))
        }
    }

    /// query_sm (SMPP 3.4 section 4.8) tells the state of the account's own messages by the id
    /// submit_sm_resp carried: DELIVERED with its final date once delivered; another account's id
    /// and an id never given are ESME_RINVMSGID.
    @Test func queryTellsTheStateOfTheAccountsOwnMessages() async throws {
        try await Server.withSMPPServer { daemon, port, _, credential in
            let (_, other) = try await daemon.signUp()
            let theirs = try #require(
                try await other.send(body: "theirs").json["id"] as? String)
            let result = try await offThePool { () -> (RawPDU?, [RawPDU?]) in
                let esme = try RawESME(port: port)
                esme.bind(2, credential)
                esme.send(
                    4, sequence: 2,
                    body: Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
                        + [0, 0, 0] + Server.cString("") + Server.cString("") + [0, 0, 0, 0, 4] + Array("mine".utf8))
                guard let submitted = esme.read(seconds: 30) else { return (nil, []) }
                let id = String(decoding: submitted.body.dropLast(), as: UTF8.self)
                func query(_ id: String, sequence: UInt32) -> RawPDU? {
                    esme.send(3, sequence: sequence, body: Server.cString(id) + [5, 0] + Server.cString("Shop"))
                    return esme.read(seconds: 30)
                }
                var mine = query(id, sequence: 3)
                var sequence: UInt32 = 4
                let deadline = Date().addingTimeInterval(30)
                // Until the simulated carrier's receipt made it final.
                while Date() < deadline, let answer = mine, answer.body.count >= 2,
                    answer.body[answer.body.count - 2] != 2
                {
                    Thread.sleep(forTimeInterval: 0.2)
                    mine = query(id, sequence: sequence)
                    sequence += 1
                }
                return (
                    submitted, [mine, query(theirs, sequence: sequence), query("msg_nothing", sequence: sequence + 1)]
                )
            }
            let submitted = try #require(result.0)
            let id = Array(submitted.body.dropLast())
            let mine = try #require(result.1[0])
            // query_sm_resp (0x80000003): message_id, final_date (16 characters, "…00+"), state 2, error 0.
            #expect(mine.command == 0x8000_0003 && mine.status == 0, "\(mine)")
            #expect(Array(mine.body.prefix(id.count + 1)) == id + [0])
            let finalDate = mine.body.dropFirst(id.count + 1).prefix { $0 != 0 }
            #expect(finalDate.count == 16 && finalDate.last == UInt8(ascii: "+"), "\(mine)")
            #expect(Array(mine.body.suffix(2)) == [2, 0], "\(mine)")
            // ESME_RINVMSGID (0x0C) for another account's message and for an id never given.
            #expect(result.1[1]?.status == 0x0C && result.1[2]?.status == 0x0C, "\(result.1)")
        }
    }

    /// A bound ESME that sends nothing for `idle_timeout_seconds` is sent unbind before the
    /// connection closes (SMPP 3.4 section 7.2), so it knows the session ended by design.
    @Test func anIdleBindIsUnboundNotCutOff() async throws {
        try await Server.withSMPPServer(configure: { $0.smppServer.idleTimeoutSeconds = 1 }) {
            _, port, _, credential in
            let (unbind, closed) = try await offThePool {
                let esme = try RawESME(port: port)
                esme.bind(2, credential)
                let unbind = esme.read(seconds: 30)
                if let unbind { esme.send(0x8000_0006, sequence: unbind.sequence, body: []) }
                return (unbind, esme.connection.readBytes(seconds: 30).closed)
            }
            #expect(unbind?.command == 6, "\(String(describing: unbind))")
            #expect(closed)
        }
    }

    /// A receiver of SMPP 3.3 is sent no optional parameter: a long inbound message comes as
    /// parts with a concatenation header, a receipt as its text alone. A receiver's
    /// deliver_sm_resp with optional parameters after message_id (as SMPP 5.0 peers answer)
    /// acknowledges; a generic_nack refuses that deliver_sm for good.
    @Test func receiversGetWhatTheirVersionReadsAndMayAnswerAsTheirsDo() async throws {
        try await Server.withSMPPServer { daemon, port, client, credential in
            #expect(try await client.post("/v1/account/numbers", json: ["number": "+37255500000"]).status == 201)
            func inbound(_ body: String) async throws {
                let sent = try await daemon.admin.post(
                    "/v1/admin/simulator/inbound", json: ["from": "+37255512345", "to": "+37255500000", "body": body])
                #expect(sent.status == 201)
            }
            let receiver = try RawESME(port: port)
            let transmitter = try RawESME(port: port)
            let binds = try await offThePool {
                (receiver.bind(1, credential, version: 0x33), transmitter.bind(2, credential, version: 0x33))
            }
            #expect(binds.0?.status == 0 && binds.1?.status == 0, "\(binds)")
            let long = String(repeating: "a", count: 200)
            try await inbound(long)
            let submitted = try await offThePool { () -> RawPDU? in
                transmitter.send(
                    4, sequence: 2,
                    body: Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
                        + [0, 0, 0] + Server.cString("") + Server.cString("") + [1, 0, 0, 0, 2] + Array("hi".utf8))
                return transmitter.read(seconds: 30)
            }
            #expect(submitted?.status == 0, "\(String(describing: submitted))")
            let offered = try await offThePool { () -> [SMPPDeliverSm] in
                var offered: [SMPPDeliverSm] = []
                while offered.count < 3, let pdu = receiver.read(seconds: 30) {
                    receiver.send(0x8000_0005, sequence: pdu.sequence, body: [0])
                    if pdu.command == 5 { offered.append(SMPPDeliverSm(pdu.body)) }
                }
                return offered
            }
            let parts = offered.filter { $0.esmClass == 0x40 }
            let receipts = offered.filter { $0.esmClass == 0x04 }
            // Three deliveries answered: the long message (two parts), the receipt, and one below.
            #expect(parts.count == 2 && receipts.count == 1, "\(offered)")
            #expect(offered.allSatisfy { $0.optionalParameters.isEmpty }, "\(offered)")
            // 8-bit concatenation element (0x00, 3 octets): same reference, 2 parts, numbered 1 and 2.
            #expect(
                parts.map { Array($0.shortMessage.prefix(6)) }.map { [$0[1], $0[2], $0[4], $0[5]] } == [
                    [0, 3, 2, 1], [0, 3, 2, 2],
                ])
            #expect(parts.map { String(decoding: $0.shortMessage.dropFirst(6), as: UTF8.self) }.joined() == long)
            #expect(
                receipts.first.map { String(decoding: $0.shortMessage, as: UTF8.self) }?.hasPrefix("id:msg_") == true)

            let current = try RawESME(port: port)
            let rebound = try await offThePool { () -> (RawPDU?, RawPDU?) in
                receiver.send(6, sequence: 9, body: [])
                return (receiver.read(seconds: 30), current.bind(1, credential))
            }
            #expect(rebound.0?.command == 0x8000_0006 && rebound.1?.status == 0, "\(rebound)")
            try await inbound("answered with optional parameters")
            try await inbound("answered generic_nack")
            let answered = try await offThePool { () -> [RawPDU] in
                var offers: [RawPDU] = []
                while offers.count < 2, let offer = current.read(seconds: 30) {
                    offers.append(offer)
                    if offers.count == 1 {
                        // message_id NUL, then network_error_code (0x0423, 3 octets).
                        current.send(0x8000_0005, sequence: offer.sequence, body: [0, 0x04, 0x23, 0, 3, 3, 0, 1])
                    } else {
                        current.send(0x8000_0000, sequence: offer.sequence, status: 3, body: [])
                    }
                }
                return offers + current.readAll(seconds: 2)
            }
            #expect(answered.count == 2 && answered.allSatisfy { $0.command == 5 }, "offered again: \(answered)")
            let metrics = try await daemon.admin.get("/metrics").text
            #expect(metrics.contains("switchboard_smpp_server_deliveries_total{result=\"refused\"} 1"), "\(metrics)")
            #expect(metrics.contains("switchboard_smpp_server_deliveries_total{result=\"acknowledged\"} 3"))

            // The response of another command does not acknowledge a deliver_sm: it is offered again.
            try await inbound("answered with submit_sm_resp")
            let again = try await offThePool { () -> [RawPDU] in
                guard let first = current.read(seconds: 30) else { return [] }
                current.send(0x8000_0004, sequence: first.sequence, body: [0])
                guard let second = current.read(seconds: 30) else { return [first] }
                current.send(0x8000_0005, sequence: second.sequence, body: [0])
                return [first, second]
            }
            #expect(again.count == 2 && again.first?.body == again.last?.body, "\(again)")
        }
    }

    /// A submit_sm refused by the rules `POST /v1/messages` shares is explained in the ESME's
    /// words: the fields are named as submit_sm names them, not as the JSON body does.
    @Test func refusalsNameTheFieldsOfTheSubmitSm() {
        let (status, http, reason) = SMPPServerSession.answer(
            for: .invalid([FieldError("body", "must be 1 to 1600 characters"), FieldError("to", "is not E.164")]))
        #expect(status == .invalidDestinationAddress && http == 422)
        #expect(
            reason
                == "the text (short_message or message_payload) must be 1 to 1600 characters; destination_addr is not E.164"
        )
    }

    /// A plain `submit_sm` body to +37255512345 from "Shop"; `declaredLength` overrides sm_length.
    static func submitBody(_ text: String, declaredLength: UInt8? = nil) -> [UInt8] {
        let length: UInt8 = declaredLength ?? UInt8(text.utf8.count)
        let addresses: [UInt8] =
            Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
        let times: [UInt8] = [0, 0, 0] + Server.cString("") + Server.cString("")
        let message: [UInt8] = [0, 0, 0, 0, length] + Array(text.utf8)
        return addresses + times + message
    }

    /// Binds a transceiver and sends each `submit_sm` body (sequence 2, 3, …) once the one before is
    /// answered; the answers in order, nil where none came within 30 s.
    static func submitsOneByOne(
        _ bodies: [[UInt8]], port: Int, credential: (systemID: String, password: String)
    ) async throws -> [RawPDU?] {
        try await offThePool {
            let esme = try RawESME(port: port)
            esme.bind(2, credential)
            return bodies.enumerated().map { index, body in
                esme.send(4, sequence: UInt32(index + 2), body: body)
                return esme.read(seconds: 30)
            }
        }
    }

    /// What a fresh transmitter bind gets back for `requests` written in one write, until the server
    /// is silent or closes, with a one-line summary of each answer (command/sequence/status).
    static func answers(
        to requests: [(command: UInt32, sequence: UInt32, body: [UInt8])], port: Int,
        credential: (systemID: String, password: String)
    ) async throws -> ([RawPDU], [String]) {
        let answers = try await offThePool { () -> [RawPDU] in
            let esme = try RawESME(port: port)
            esme.bind(2, credential)
            esme.send(together: requests)
            return esme.readAll(seconds: 10)
        }
        return (answers, answers.map { "0x\(String($0.command, radix: 16))/\($0.sequence)/\($0.status)" })
    }

    /// Submits pipelined with an `unbind` in one write are each answered before `unbind_resp`, and
    /// the messages stored are exactly those acknowledged: none is sent without its answer.
    @Test func submitsReadWithTheUnbindAreAnsweredBeforeIt() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            let (answers, summary) = try await Self.answers(
                to: [(4, 2, Self.submitBody("first")), (4, 3, Self.submitBody("second")), (6, 4, [])], port: port,
                credential: credential)
            #expect(answers.count == 3, "\(summary)")
            #expect(answers.last?.command == 0x8000_0006 && answers.last?.sequence == 4, "\(summary)")
            let acknowledged = Set(
                answers.filter { $0.command == 0x8000_0004 && $0.status == 0 }.map {
                    String(decoding: $0.body.dropLast(), as: UTF8.self)
                })
            #expect(Set(answers.prefix(2).map(\.sequence)) == [2, 3], "\(summary)")
            let stored = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).compactMap {
                $0["id"] as? String
            }
            #expect(
                acknowledged.count == 2 && Set(stored) == acknowledged, "stored \(stored), acknowledged \(acknowledged)"
            )
        }
    }

    /// A PDU that does not parse, read together with valid submits before it, ends the session
    /// only after those are answered; it gets its own refusal and the connection closes.
    @Test func submitsBeforeAnUnreadablePDUAreAnsweredBeforeTheSessionEnds() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            let (answers, summary) = try await Self.answers(
                to: [
                    (4, 2, Self.submitBody("first")), (4, 3, Self.submitBody("second")),
                    (4, 4, Self.submitBody("bad", declaredLength: 99)),
                ], port: port, credential: credential)
            let bySequence = Dictionary(answers.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(answers.count == 3 && bySequence[2]?.status == 0 && bySequence[3]?.status == 0, "\(summary)")
            // ESME_RINVMSGLEN: short_message is shorter than its sm_length says.
            #expect(bySequence[4]?.command == 0x8000_0004 && bySequence[4]?.status == 0x01, "\(summary)")
            let stored = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).compactMap {
                $0["body"] as? String
            }
            #expect(Set(stored) == ["first", "second"], "\(stored)")
        }
    }

    /// A response that answers nothing in flight is dropped whether or not its body parses, as a
    /// late response is: a garbled `query_sm_resp` nobody asked for does not end the bind.
    @Test func anUnreadableResponseToNoRequestIsDroppedAndTheBindGoesOn() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            // message_id runs past its 65 octets without a NUL (SMPP 3.4 §4.8.2).
            let garbled = [UInt8](repeating: 0x41, count: 80)
            let (answers, summary) = try await Self.answers(
                to: [(0x8000_0003, 7, garbled), (4, 8, Self.submitBody("after the garbled response")), (6, 9, [])],
                port: port, credential: credential)
            let bySequence = Dictionary(answers.map { ($0.sequence, $0) }, uniquingKeysWith: { first, _ in first })
            #expect(bySequence[7] == nil, "\(summary)")
            #expect(bySequence[8]?.command == 0x8000_0004 && bySequence[8]?.status == 0, "\(summary)")
            #expect(bySequence[9]?.command == 0x8000_0006, "\(summary)")
            let stored = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).compactMap {
                $0["body"] as? String
            }
            #expect(stored == ["after the garbled response"], "\(stored)")
        }
    }

    /// The last part of a long message sent twice at once (pipelined, as a client that resends
    /// does) stores the message once; the copy is answered with a part id of its own.
    @Test func aLastPartSentTwiceAtOnceStoresOneMessage() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            @Sendable func part(_ number: UInt8, _ text: String) -> [UInt8] {
                Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
                    + [0x40, 0, 0] + Server.cString("") + Server.cString("")
                    + [0, 0, 0, 0, UInt8(6 + text.utf8.count)] + [5, 0, 3, 42, 2, number] + Array(text.utf8)
            }
            let answers = try await offThePool { () -> [RawPDU?] in
                let esme = try RawESME(port: port)
                esme.bind(2, credential)
                esme.send(4, sequence: 2, body: part(1, "first half "))
                let first = esme.read(seconds: 30)
                esme.send(together: [(4, 3, part(2, "second half")), (4, 4, part(2, "second half"))])
                return [first, esme.read(seconds: 30), esme.read(seconds: 30)]
            }
            #expect(answers.allSatisfy { $0?.status == 0 }, "\(answers)")
            let ids = answers.compactMap { $0.map { String(decoding: $0.body.dropLast(), as: UTF8.self) } }
            #expect(ids.filter { $0.hasPrefix("msg_") }.count == 1, "\(ids)")
            let bodies = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).map {
                $0["body"] as? String
            }
            #expect(bodies == ["first half second half"])
        }
    }
}

/// One PDU as read off the wire: its header's fields and its body's octets.
struct RawPDU: Sendable, CustomStringConvertible {
    let command: UInt32
    let status: UInt32
    let sequence: UInt32
    let body: [UInt8]

    var description: String {
        "0x\(String(command, radix: 16)) status 0x\(String(status, radix: 16)) seq \(sequence) body \(body)"
    }
}

/// A customer's ESME on a raw socket: writes PDUs by hand and reads them one at a time by their
/// command_length.
final class RawESME: @unchecked Sendable {
    let connection: RawConnection
    private var pending: [UInt8] = []

    init(port: Int) throws {
        connection = try RawConnection(port: port)
    }

    func send(_ command: UInt32, sequence: UInt32, status: UInt32 = 0, body: [UInt8]) {
        connection.write(bytes: Self.frame(command, sequence: sequence, status: status, body: body))
    }

    /// Requests written in one `write`, so the server reads them together.
    func send(together requests: [(command: UInt32, sequence: UInt32, body: [UInt8])]) {
        connection.write(bytes: requests.flatMap { Self.frame($0.command, sequence: $0.sequence, body: $0.body) })
    }

    static func frame(_ command: UInt32, sequence: UInt32, status: UInt32 = 0, body: [UInt8]) -> [UInt8] {
        func word(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        return word(UInt32(16 + body.count)) + word(command) + word(status) + word(sequence) + body
    }

    /// Sends a bind (`command` 1 receiver, 2 transmitter, 9 transceiver) of SMPP `version` (0x34 is
    /// 3.4) with the credential, sequence 1, and returns its response.
    @discardableResult
    func bind(_ command: UInt32, _ credential: (systemID: String, password: String), version: UInt8 = 0x34)
        -> RawPDU?
    {
        send(
            command, sequence: 1,
            body: SMPPServerTests.cString(credential.systemID) + SMPPServerTests.cString(credential.password)
                + SMPPServerTests.cString("") + [version, 0, 0] + SMPPServerTests.cString(""))
        return read(seconds: 30)
    }

    /// The next PDU within `seconds`, or nil.
    func read(seconds: Double) -> RawPDU? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if pending.count >= 16 {
                let length = Int(pending[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
                if length >= 16, pending.count >= length {
                    func word(_ at: Int) -> UInt32 { pending[at..<at + 4].reduce(0) { $0 << 8 | UInt32($1) } }
                    let pdu = RawPDU(
                        command: word(4), status: word(8), sequence: word(12), body: Array(pending[16..<length]))
                    pending.removeFirst(length)
                    return pdu
                }
            }
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return nil }
            let more = connection.readBytes(seconds: min(left, 0.2)) { !$0.isEmpty }
            pending += more.bytes
            if more.closed, more.bytes.isEmpty { return nil }
        }
    }

    /// Every PDU that arrives within `seconds`.
    func readAll(seconds: Double) -> [RawPDU] {
        let deadline = Date().addingTimeInterval(seconds)
        var all: [RawPDU] = []
        while deadline.timeIntervalSinceNow > 0, let pdu = read(seconds: deadline.timeIntervalSinceNow) {
            all.append(pdu)
        }
        return all
    }
}

/// The fields of a `deliver_sm` body a receiver reads (SMPP 3.4 section 4.6.1), split by hand.
struct SMPPDeliverSm: CustomStringConvertible {
    var esmClass: UInt8 = 0
    var shortMessage: [UInt8] = []
    /// The octets after short_message: the optional parameters.
    var optionalParameters: [UInt8] = []

    init(_ body: [UInt8]) {
        var rest = body[...]
        func cString() { rest = rest.drop { $0 != 0 }.dropFirst() }
        cString()  // service_type
        rest = rest.dropFirst(2)
        cString()  // source_addr
        rest = rest.dropFirst(2)
        cString()  // destination_addr
        esmClass = rest.first ?? 0
        rest = rest.dropFirst(3)  // esm_class, protocol_id, priority_flag
        cString()  // schedule_delivery_time
        cString()  // validity_period
        rest = rest.dropFirst(4)  // registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id
        let length = Int(rest.first ?? 0)
        shortMessage = Array(rest.dropFirst().prefix(length))
        optionalParameters = Array(rest.dropFirst(1 + length))
    }

    var description: String { "esm_class 0x\(String(esmClass, radix: 16)) \(shortMessage) tlvs \(optionalParameters)" }
}
