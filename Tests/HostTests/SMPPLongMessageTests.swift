import Foundation
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
        #expect(before.count == CoreSchema.migrations.count - 1)
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
        let whole = try #require(try await partials.add(key, sequence: 2, part: second, replacing: false))
        let text = try TextCoding().text(
            ofParts: whole.map { TextCoding.UserData(dataCoding: $0.dataCoding, units: $0.content) },
            command: .submitSm, sequence: 1, strict: true)
        #expect(text == "Grüße 😀 and €")
    }
}
