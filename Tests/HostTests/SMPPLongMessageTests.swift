import Foundation
import GRDB
import SMPP
import SwitchboardCore
import Testing

/// Long messages a customer's ESME sends in parts, cut where its own rules cut them: by octets,
/// which may fall inside a character. Parts are written by hand (SMPP 3.4 section 4.4.1, a
/// concatenation header of 3GPP TS 23.040 §9.2.3.24.1), not by the codec under test.
@Suite struct SMPPLongMessageTests {
    typealias Server = SMPPServerTests

    /// A submit_sm body: sender "Shop" (TON 5), destination 37255512345 (TON 1, NPI 1), esm_class
    /// 0x40, data_coding `coding`, and `reference`'s part `number` of `total` before `text`.
    static func part(
        reference: UInt8, total: UInt8 = 2, number: UInt8, coding: UInt8, _ text: [UInt8]
    ) -> [UInt8] {
        Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
            + [0x40, 0, 0] + Server.cString("") + Server.cString("")
            + [0, 0, coding, 0, UInt8(6 + text.count)] + [5, 0, 3, reference, total, number] + text
    }

    static func ucs2(_ text: String) -> [UInt8] { text.utf16.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] } }

    /// A UTF-16 surrogate pair or a GSM 03.38 escape cut between two parts is read whole once the
    /// parts are joined; a half whose other half never comes refuses the message on the part that
    /// completes it (ESME_RINVMSGLEN, naming the character), and the parts kept for it go; a part
    /// that cannot hold the missing half (a lead surrogate ending the last part, a trail surrogate
    /// opening the first) is refused as it comes.
    @Test func aCharacterCutBetweenTwoPartsIsReadWhole() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            // "ab😀c": 0061 0062 D83D | DE00 0063.
            let emoji = Self.ucs2("ab😀c")
            // "x€y" in GSM 03.38 unpacked: x, the escape 0x1B | € (0x65 in the extension table), y.
            let euro: [UInt8] = [0x78, 0x1B, 0x65, 0x79]
            let cases: [(String, [UInt8])] = [
                ("a pair cut, first half", Self.part(reference: 21, number: 1, coding: 8, Array(emoji[0..<6]))),
                ("a pair cut, second half", Self.part(reference: 21, number: 2, coding: 8, Array(emoji[6...]))),
                ("an escape cut, first half", Self.part(reference: 22, number: 1, coding: 0, Array(euro[0..<2]))),
                ("an escape cut, second half", Self.part(reference: 22, number: 2, coding: 0, Array(euro[2...]))),
                ("a lead surrogate ending part 1", Self.part(reference: 23, number: 1, coding: 8, Array(emoji[0..<6]))),
                ("no trail surrogate opening part 2", Self.part(reference: 23, number: 2, coding: 8, Self.ucs2("cd"))),
                ("part 1 again, other text", Self.part(reference: 23, number: 1, coding: 8, Self.ucs2("ef"))),
                (
                    "a lead surrogate ending the last part",
                    Self.part(reference: 24, number: 2, coding: 8, Array(emoji[0..<6]))
                ),
                (
                    "a trail surrogate opening the first part",
                    Self.part(reference: 25, number: 1, coding: 8, Array(emoji[6...]))
                ),
            ]
            let answers = try await SMPPServerRulesTests.submitsOneByOne(
                cases.map(\.1), port: port, credential: credential)
            let statuses = answers.map { $0?.status ?? 0xFFFF }
            // The refusal of reference 23 forgot its first part: a first part with other text is
            // then a new message's, not text held under the reference (ESME_RSUBMITFAIL).
            #expect(
                statuses == [0, 0, 0, 0, 0, 0x01, 0, 0x01, 0x01],
                "\(zip(cases.map(\.0), statuses.map { String($0, radix: 16) }).map { "\($0): \($1)" })")
            let ids = answers.map { $0.map { String(decoding: $0.body.dropLast(), as: UTF8.self) } ?? "" }
            #expect(ids[1].hasPrefix("msg_") && ids[3].hasPrefix("msg_"), "\(ids)")
            let bodies = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? []).compactMap {
                $0["body"] as? String
            }
            #expect(Set(bodies) == ["ab😀c", "x€y"], "\(bodies)")
            #expect(bodies.count == 2, "\(bodies)")
        }
    }
}

extension SMPPLongMessageTests {
    /// A message's parts sent again after it completed are taken once, whatever the order: the
    /// message is stored once. Another message under the same reference, with other text, is a new
    /// message. The last part sent on two binds at once stores one message, every time.
    @Test func partsSentAgainAfterTheirMessageCompletedStoreNothingMore() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            let one = Self.part(reference: 31, number: 1, coding: 1, Array("x-one-".utf8))
            let two = Self.part(reference: 31, number: 2, coding: 1, Array("x-two".utf8))
            let other = Self.part(reference: 31, number: 1, coding: 1, Array("y-one-".utf8))
            let otherTwo = Self.part(reference: 31, number: 2, coding: 1, Array("y-two".utf8))
            let answers = try await SMPPServerRulesTests.submitsOneByOne(
                [one, two, two, one, two, other, otherTwo], port: port, credential: credential)
            let ids = answers.map { $0.map { String(decoding: $0.body.dropLast(), as: UTF8.self) } ?? "" }
            #expect(answers.allSatisfy { $0?.status == 0 }, "\(answers)")
            #expect(ids.map { $0.prefix(4) } == ["part", "msg_", "part", "part", "part", "part", "msg_"], "\(ids)")

            // Thirty messages, each last part written on two binds at once.
            let races = try await offThePool { () -> [(RawPDU?, RawPDU?)] in
                let first = try RawESME(port: port)
                let second = try RawESME(port: port)
                first.bind(2, credential)
                second.bind(2, credential)
                return (0..<30).map { index in
                    let reference = UInt8(100 + index)
                    first.send(
                        4, sequence: UInt32(1000 + index),
                        body: Self.part(reference: reference, number: 1, coding: 1, Array("race-\(index)-".utf8)))
                    _ = first.read(seconds: 30)
                    let last = Self.part(reference: reference, number: 2, coding: 1, Array("end".utf8))
                    first.send(4, sequence: UInt32(2000 + index), body: last)
                    second.send(4, sequence: UInt32(3000 + index), body: last)
                    return (first.read(seconds: 30), second.read(seconds: 30))
                }
            }
            let raced = races.map {
                [$0.0, $0.1].compactMap { $0.map { String(decoding: $0.body.dropLast(), as: UTF8.self) } }
            }
            #expect(raced.allSatisfy { $0.count == 2 && $0.filter { $0.hasPrefix("msg_") }.count == 1 }, "\(raced)")
            let bodies = (try await client.get("/v1/messages?limit=200").json["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["body"] as? String }
            #expect(bodies.filter { $0 == "x-one-x-two" }.count == 1, "\(bodies)")
            #expect(bodies.filter { $0 == "y-one-y-two" }.count == 1, "\(bodies)")
            #expect(bodies.filter { $0.hasPrefix("race-") }.count == 30, "\(bodies)")
        }
    }
}

extension SMPPLongMessageTests {
    /// A sender that reuses a concatenation reference for a new message whose first part repeats
    /// the old one's (a template) gets the new message stored whole: the repeated part is taken as
    /// a copy at first, and becomes the new message's own when a part with other text follows.
    @Test func aReusedReferenceWithATemplatesFirstPartStoresTheNewMessage() async throws {
        try await Server.withSMPPServer { _, port, client, credential in
            func part(_ reference: UInt8, _ number: UInt8, _ total: UInt8, _ text: String) -> [UInt8] {
                Self.part(reference: reference, total: total, number: number, coding: 1, Array(text.utf8))
            }
            let submits = [
                // Two messages under reference 41: "Dear customer, " then different endings.
                part(41, 1, 2, "Dear customer, "), part(41, 2, 2, "your code is 1111"),
                part(41, 1, 2, "Dear customer, "), part(41, 2, 2, "your code is 2222"),
                // Three parts under 42; the next message's first two repeat, the third differs.
                part(42, 1, 3, "a-"), part(42, 2, 3, "b-"), part(42, 3, 3, "c"),
                part(42, 1, 3, "a-"), part(42, 2, 3, "b-"), part(42, 3, 3, "d"),
                // Under 43: a part sent again after its message completed, then a new message whose
                // parts come out of order; the copy taken along is replaced by the new first part.
                part(43, 1, 3, "p-"), part(43, 2, 3, "q-"), part(43, 3, 3, "r"),
                part(43, 1, 3, "p-"), part(43, 2, 3, "y-"), part(43, 1, 3, "x-"), part(43, 3, 3, "z"),
            ]
            let answers = try await SMPPServerRulesTests.submitsOneByOne(submits, port: port, credential: credential)
            #expect(answers.allSatisfy { $0?.status == 0 }, "\(answers)")
            let ids = answers.map { $0.map { String(decoding: $0.body.dropLast(), as: UTF8.self).prefix(4) } ?? "" }
            #expect(
                ids == [
                    "part", "msg_", "part", "msg_", "part", "part", "msg_", "part", "part", "msg_", "part", "part",
                    "msg_", "part", "part", "part", "msg_",
                ], "\(ids)")
            let bodies = (try await client.get("/v1/messages?limit=50").json["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["body"] as? String }
            #expect(
                Set(bodies) == [
                    "Dear customer, your code is 1111", "Dear customer, your code is 2222", "a-b-c", "a-b-d",
                    "p-q-r", "x-y-z",
                ], "\(bodies)")
            #expect(bodies.count == 6, "\(bodies)")
        }
    }
}

extension SMPPLongMessageTests {
    /// Erasing a number deletes the parts of long messages to it that wait for the rest (and those
    /// kept of a stored one): a part kept past the erasure would complete a message with its text.
    @Test func erasingANumberDeletesItsWaitingParts() async throws {
        try await Server.withSMPPServer { daemon, port, client, credential in
            let submits = [
                Self.part(reference: 51, number: 1, coding: 1, Array("SECRET medical ".utf8)),
                Self.part(reference: 51, number: 2, coding: 1, Array("result positive".utf8)),
                Self.part(reference: 52, number: 1, coding: 1, Array("PENDING partial only".utf8)),
            ]
            let answers = try await SMPPServerRulesTests.submitsOneByOne(submits, port: port, credential: credential)
            #expect(answers.allSatisfy { $0?.status == 0 }, "\(answers)")
            func kept() async throws -> Int {
                try await daemon.daemon.accounts.writer.pool.read { db in
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM smpp_partials") ?? -1
                }
            }
            #expect(try await kept() == 3)
            let erasure = try await client.post("/v1/account/erasures", json: ["number": "+37255512345"])
            #expect(erasure.status == 202, "\(erasure.status)")
            #expect(try await kept() == 0)
            // The waiting message's last part, sent after the erasure, completes nothing.
            let late = try await SMPPServerRulesTests.submitsOneByOne(
                [Self.part(reference: 52, number: 2, coding: 1, Array(" and more".utf8))], port: port,
                credential: credential)
            #expect(late.first??.status == 0)
            let bodies = (try await client.get("/v1/messages").json["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["body"] as? String }
            #expect(!bodies.contains { $0.contains("PENDING") || $0.contains("SECRET") }, "\(bodies)")
        }
    }
}

/// Parts of a message that never completes, and those kept of a completed one, go after their time
/// also when no other part comes.
@Suite struct SMPPPartialsExpiryTests {
    @Test func expiredPartsGoOnAQuietServer() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-expiry-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal)
        let clock = ManualWallClock()
        let partials = SMPPPartials(writer: GroupCommitWriter(pool: pool), clock: clock, keepSeconds: 600)
        func key(_ reference: Int) -> SMPPPartials.Key {
            SMPPPartials.Key(
                scope: "account:acc_1", source: "Shop", destination: "+37255512345", reference: reference, total: 2)
        }
        let part = SMPPPartials.Part(dataCoding: 1, content: Array("text".utf8))
        #expect(try await partials.add(key(1), sequence: 1, part: part) == .waiting)
        _ = try await partials.add(key(2), sequence: 1, part: part)
        guard case .whole = try await partials.add(key(2), sequence: 2, part: part) else {
            Issue.record("the second part did not complete the message")
            return
        }
        #expect(try await partials.add(key(2), sequence: 2, part: part) == .again)
        func rows() async throws -> Int {
            try await pool.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM smpp_partials") ?? -1 }
        }
        #expect(try await rows() == 3)
        clock.advance(by: 599)
        try await partials.purgeExpired()
        #expect(try await rows() == 3)
        clock.advance(by: 2)
        try await partials.purgeExpired()
        #expect(try await rows() == 0)
    }
}

/// Parts kept before parts were kept as user data (their text alone) still complete their message.
@Suite struct SMPPPartialsUpgradeTests {
    @Test func aPartKeptAsTextBeforeTheUpgradeCompletesItsMessage() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "sb-partials-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        let before = Array(
            CoreSchema.migrations.prefix { $0.identifier != CoreSchema.v21SMPPPartsAsUserData.identifier })
        #expect(before.count == CoreSchema.migrations.count - 3)
        let old = try SwitchboardDatabase.open(at: path, durability: .normal, migrations: before)
        try await old.write { db in
            try db.execute(
                sql: """
                    INSERT INTO smpp_partials (scope, source, destination, reference, total, sequence, text, received_at)
                    VALUES ('account:acc_1', 'Shop', '+37255512345', 9, 2, 1, 'Grüße 😀 ', ?)
                    """,
                arguments: [Date().epochMillis])
        }
        try old.close()
        let pool = try SwitchboardDatabase.open(at: path, durability: .normal)
        let partials = SMPPPartials(writer: GroupCommitWriter(pool: pool), clock: SystemWallClock())
        let key = SMPPPartials.Key(
            scope: SMPPPartials.Key.account("acc_1"), source: "Shop", destination: "+37255512345", reference: 9,
            total: 2)
        // "and €" in GSM 03.38 unpacked: the euro sign is the escape 0x1B and 0x65.
        let second = SMPPPartials.Part(dataCoding: 0, content: [0x61, 0x6E, 0x64, 0x20, 0x1B, 0x65])
        let added = try await partials.add(key, sequence: 2, part: second, replacing: false)
        guard case .whole(let whole) = added else {
            Issue.record("the second part did not complete the message: \(added)")
            return
        }
        let text = try TextCoding().text(
            ofParts: whole.map { TextCoding.UserData(dataCoding: $0.dataCoding, units: $0.content) },
            command: .submitSm, sequence: 1, strict: true)
        #expect(text == "Grüße 😀 and €")
    }
}

extension SMPPLongMessageTests {
    /// A submit_sm body as `part(…)` makes, with a 16-bit concatenation reference (element 0x08,
    /// 3GPP TS 23.040 §9.2.3.24.8) in place of the 8-bit one.
    static func widePart(reference: UInt16, number: UInt8, _ text: String) -> [UInt8] {
        let text = Array(text.utf8)
        return Server.cString("") + [5, 0] + Server.cString("Shop") + [1, 1] + Server.cString("37255512345")
            + [0x40, 0, 0] + Server.cString("") + Server.cString("")
            + [0, 0, 1, 0, UInt8(7 + text.count)] + [
                6, 8, 4, UInt8(reference >> 8), UInt8(reference & 0xFF), 2, number,
            ]
            + text
    }

    /// An 8-bit reference and a 16-bit one of the same number name two messages: a sender keeps
    /// the two counters apart, so parts of both, interleaved, complete both messages whole.
    @Test func eightBitAndSixteenBitReferencesOfOneNumberAreTwoMessages() async throws {
        #expect(TextCoding.concatenation(in: [0x00, 3, 7, 2, 1])?.key == 7)
        #expect(TextCoding.concatenation(in: [0x08, 4, 0, 7, 2, 1])?.key == 0x1_0007)
        try await Server.withSMPPServer { _, port, client, credential in
            let answers = try await SMPPServerRulesTests.submitsOneByOne(
                [
                    Self.part(reference: 7, number: 1, coding: 1, Array("narrow-one-".utf8)),
                    Self.widePart(reference: 7, number: 1, "wide-one-"),
                    Self.part(reference: 7, number: 2, coding: 1, Array("narrow-two".utf8)),
                    Self.widePart(reference: 7, number: 2, "wide-two"),
                ], port: port, credential: credential)
            #expect(answers.allSatisfy { $0?.status == 0 }, "\(answers)")
            let bodies = (try await client.get("/v1/messages?limit=20").json["data"] as? [[String: Any]] ?? [])
                .compactMap { $0["body"] as? String }
            #expect(bodies.sorted() == ["narrow-one-narrow-two", "wide-one-wide-two"], "\(bodies)")
        }
    }
}
