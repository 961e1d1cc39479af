import Foundation
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// Text reaches storage byte for byte or is refused with an error naming the field: no NUL that cuts
/// a value short, no stray quote that swallows CSV rows, no duplicate key or rounded number that
/// changes what was meant, no timestamp read from half its text.
@Suite struct InputExactnessTests {
    private let sender = #""to":"+37255512345","from":"ACME""#

    // MARK: Text fields

    @Test func aMessageBodyWithNULIsRefusedNamingTheField() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.post("/v1/messages", raw: #"{\#(sender),"body":"abc\u0000def"}"#)
            #expect(response.status == 422, "\(response.text)")
            #expect(response.errorFields == ["body"])
            #expect(response.text.contains("must not contain U+0000 (NUL)"), "\(response.text)")
            #expect(try await client.get("/v1/messages").data.isEmpty)
        }
    }

    /// Hash mode digests what is stored; with NUL refused, `abc\0def` can never share `abc`'s digest.
    @Test func hashModeRefusesNULBeforeDigesting() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            #expect(try await client.patch("/v1/account", json: ["content_mode": "hash"]).status == 200)
            let response = try await client.post("/v1/messages", raw: #"{\#(sender),"body":"abc\u0000def"}"#)
            #expect(response.status == 422)
            #expect(response.errorFields == ["body"])
        }
    }

    @Test func everyKindOfTextFieldRefusesNUL() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let contact = try await client.post(
                "/v1/contacts", raw: #"{"number":"+37255511111","name":"Bob\u0000Evil","notes":"a\u0000b"}"#)
            #expect(contact.status == 422)
            #expect(Set(contact.errorFields) == ["name", "notes"])
            let group = try await client.post(
                "/v1/contacts", raw: #"{"number":"+37255511111","groups":["vip","x\u0000y"]}"#)
            #expect(group.errorFields == ["groups"])
            #expect(try await client.get("/v1/contacts").data.isEmpty)

            let account = try await client.patch(
                "/v1/account", json: ["name": "Ada\0Byron", "company": "Engines\0Ltd"])
            #expect(account.status == 422)
            #expect(Set(account.errorFields) == ["name", "company"])
            #expect(try await client.get("/v1/account").json["name"] as? String == "Ada Lovelace")

            let signUp = try await daemon.client.post(
                "/v1/accounts",
                json: ["name": "Eve\0", "email": "eve@example.com", "password": "plum-harbor-violet-42"])
            #expect(signUp.errorFields == ["name"])
            // A password is hashed from its bytes, never stored as text: every character counts.
            let secret = "plum\0harbor\u{1}violet-42"
            let exact = try await daemon.client.post(
                "/v1/accounts", json: ["name": "Eve", "email": "eve@example.com", "password": secret])
            #expect(exact.status == 201, "\(exact.text)")
            let login = try await daemon.client.post(
                "/v1/login", json: ["email": "eve@example.com", "password": secret])
            #expect(login.status == 200, "\(login.text)")
            let truncated = try await daemon.client.post(
                "/v1/login", json: ["email": "eve@example.com", "password": "plum"])
            #expect(truncated.status == 401)

            let key = try await client.post("/v1/account/keys", raw: #"{"name":"ci\u0000prod"}"#)
            #expect(key.status == 422)
            #expect(key.errorFields == ["name"])
            #expect(key.text.contains("U+0000 (NUL)"))
        }
    }

    /// The rule is one for every field: C0 controls are refused except tab, line feed and carriage
    /// return, which come back exactly as sent.
    @Test func otherControlsAreRefusedAndTabsAndLineBreaksKeptExactly() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let bell = try await client.post("/v1/contacts", raw: #"{"number":"+37255511111","name":"ding\u0007"}"#)
            #expect(bell.errorFields == ["name"])
            #expect(bell.text.contains("U+0007"), "\(bell.text)")
            let text = "line 1\r\nline 2\n\tindented \u{7F} é 😀"
            let sent = try await client.send(body: text)
            #expect(sent.status == 201, "\(sent.text)")
            let id = try #require(sent.json["id"] as? String)
            #expect(try await client.get("/v1/messages/\(id)").json["body"] as? String == text)
        }
    }

    @Test func escapesAndSurrogatePairsArriveExactlyAndLoneSurrogatesAreRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let sent = try await client.post(
                "/v1/messages", raw: #"{\#(sender),"body":"\u00e9\u20AC\ud83d\ude00\/\"\\"}"#)
            #expect(sent.status == 201, "\(sent.text)")
            #expect(sent.json["body"] as? String == "é€😀/\"\\")
            for lone in [#"\ud83d"#, #"\ude00"#, #"\ud83d\u0041"#, #"\ud83dx"#] {
                let response = try await client.post("/v1/messages", raw: #"{\#(sender),"body":"a\#(lone)"}"#)
                #expect(response.status == 400, "\(lone)")
                #expect(response.text.contains("surrogate"), "\(lone): \(response.text)")
            }
        }
    }

    // MARK: JSON structure

    @Test func aDuplicateKeyIsRefusedNamingIt() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let response = try await client.post(
                "/v1/messages", raw: #"{"to":"+37255512345","to":"+37255599999","from":"ACME","body":"hi"}"#)
            #expect(response.status == 400)
            #expect(response.errorFields == ["to"])
            #expect(response.text.contains("more than once"), "\(response.text)")
            #expect(try await client.get("/v1/messages").data.isEmpty)
        }
    }

    @Test func aNumberThatCannotBeKeptExactlyIsRefusedNamingTheField() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            for number in ["9007199254740993", "-9007199254740993", "123456789012345678901234567890", "1e400"] {
                let response = try await client.post(
                    "/v1/contacts", raw: #"{"number":"+37255511111","name":\#(number)}"#)
                #expect(response.status == 400, "\(number)")
                #expect(response.errorFields == ["name"], "\(number): \(response.text)")
                #expect(response.text.contains("exactly"), "\(response.text)")
            }
            // Within the exact range, a number is an ordinary wrong type.
            let exact = try await client.post(
                "/v1/contacts", raw: #"{"number":"+37255511111","name":9007199254740992}"#)
            #expect(exact.status == 422)
        }
    }

    @Test func nestingBeyondTheLimitIsReportedAsSuch() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
            let response = try await client.post("/v1/messages", raw: #"{"body":\#(deep)}"#)
            #expect(response.status == 400)
            #expect(response.text.contains("nested too deeply"), "\(response.text)")
            #expect(!response.text.contains("check quotes"))
        }
    }

    // MARK: Query parameters

    @Test func timestampsWithTrailingTextOrImpossibleDatesAreRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            for bad in ["2026-01-01T00:00:00Zgarbage", "2026-02-30T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01"] {
                let response = try await client.get("/v1/messages?since=\(bad)")
                #expect(response.status == 422, "\(bad)")
                #expect(response.errorFields == ["since"], "\(bad)")
                #expect(response.text.contains("2026-01-31T00:00:00Z"), "\(response.text)")
            }
            for good in ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.125Z", "2024-02-29T23:59:59%2B02:00"] {
                #expect(try await client.get("/v1/messages?since=\(good)").status == 200, "\(good)")
            }
            let audit = try await daemon.admin.get("/v1/admin/audit?until=2026-13-01T00:00:00Z")
            #expect(audit.errorFields == ["until"])
        }
    }

    @Test func everyBadQueryParameterIsNamed() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let messages = try await client.get("/v1/messages?status=lost&limit=0&since=yesterday&cursor=%25%25")
            #expect(messages.status == 422)
            #expect(Set(messages.errorFields) == ["status", "limit", "since", "cursor"], "\(messages.text)")
            let usage = try await client.get("/v1/usage?from=yesterday&to=2026-02-30")
            #expect(Set(usage.errorFields) == ["from", "to"])
            let audit = try await daemon.admin.get("/v1/admin/audit?since=x&until=y&format=xml")
            #expect(Set(audit.errorFields) == ["since", "until", "format"])
            let contacts = try await client.get("/v1/contacts?limit=500&q=a%00b")
            #expect(Set(contacts.errorFields) == ["limit", "q"])
        }
    }

    /// A misspelt filter must not read as no filter: every parameter the endpoint does not take is
    /// named with the ones it does, beside the bad values, and nothing is listed.
    @Test func aParameterTheEndpointDoesNotTakeIsNamedNotIgnored() async throws {
        try await TestDaemon.withRouter { daemon in
            let (accountID, client) = try await daemon.signUp()
            #expect(try await client.send().status == 201)
            let typo = try await client.get("/v1/messages?stauts=failed")
            #expect(typo.status == 422)
            #expect(typo.errorFields == ["stauts"], "\(typo.text)")
            #expect(
                typo.text.contains(
                    "stauts: is not a parameter of this request; it takes limit, status, direction, to, from, since, until, cursor"
                ), "\(typo.text)")
            let both = try await client.get("/v1/messages?limit=0&colour=red&flag")
            #expect(Set(both.errorFields) == ["limit", "colour", "flag"], "\(both.text)")
            let audit = try await daemon.admin.get("/v1/admin/audit?acount=\(accountID)")
            #expect(audit.status == 422)
            #expect(audit.errorFields == ["acount"], "\(audit.text)")
            #expect(audit.text.contains("it takes addon, account, field"), "\(audit.text)")
            let reports = try await client.get("/v1/account/addons/reporting/reports?format=xml")
            #expect(reports.errorFields == ["format"], "\(reports.text)")
            // What an endpoint takes is still read as before, and an empty piece names nothing.
            let listed = try await client.get("/v1/messages?&status=queued&&limit=5")
            #expect(listed.status == 200, "\(listed.text)")
            #expect(try await daemon.admin.get("/v1/admin/audit?account=\(accountID)").status == 200)
            #expect(try await client.get("/v1/account/addons/reporting/reports?format=csv").status == 200)
        }
    }

    // MARK: CSV import

    @Test func aStrayQuoteCostsOnlyItsOwnRow() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = "number,name\n+37255511131,O\"Brien\n+37255511132,Next\n+37255511133,Last\n"
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.status == 201)
            #expect(response.json["imported"] as? Int == 2)
            #expect(response.json["rejected"] as? Int == 1)
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.first?["row"] as? Int == 2)
            #expect(errors.first?["line"] as? Int == 2)
            #expect(response.text.contains("quote"), "\(response.text)")
            let names = try await client.get("/v1/contacts").data.compactMap { $0["name"] as? String }
            #expect(Set(names) == ["Next", "Last"])
        }
    }

    @Test func anUnterminatedQuoteIsReportedAsSuchAndTheRowsAfterItImport() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = "number,name,notes\n+37255511131,\"Unclosed,x\n+37255511132,Next,\n+37255511133,Last,\n"
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.json["imported"] as? Int == 2, "\(response.text)")
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.count == 1)
            #expect(errors.first?["line"] as? Int == 2)
            #expect(response.text.contains("never closed"), "\(response.text)")
            #expect(!response.text.contains("columns"), "\(response.text)")
        }
    }

    @Test func quotedLineBreaksStayInTheirValueAndRowsAreNumberedByRecordAndLine() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = "number,name,notes\r\n+37255511131,Ann,\"two\r\nlines\"\r\nbad,Bob,\r\n"
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.json["imported"] as? Int == 1, "\(response.text)")
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.first?["row"] as? Int == 3)
            #expect(errors.first?["line"] as? Int == 4)
            let ann = try await client.get("/v1/contacts?q=Ann").data.first
            #expect(ann?["notes"] as? String == "two\r\nlines")
        }
    }

    @Test func aByteOrderMarkIsNotPartOfTheFirstColumn() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = "\u{FEFF}number,name\r\n+37255511131,Ann\r\n"
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.status == 201, "\(response.text)")
            #expect(response.json["imported"] as? Int == 1)
        }
    }

    @Test func aCSVValueWithNULIsARowErrorAndInvalidUTF8IsRefused() async throws {
        try await TestDaemon.withRouter { daemon in
            let (_, client) = try await daemon.signUp()
            let csv = "number,name,notes\n+37255511131,Ann,ok\n+37255511132,Bob\0Evil,x\n"
            let response = try await client.post("/v1/contacts/import", raw: csv, contentType: "text/csv")
            #expect(response.json["imported"] as? Int == 1, "\(response.text)")
            let errors = try #require(response.json["errors"] as? [[String: Any]])
            #expect(errors.first?["row"] as? Int == 3)
            let fields = (errors.first?["errors"] as? [[String: Any]])?.compactMap { $0["field"] as? String }
            #expect(fields == ["name"])
            #expect(response.text.contains("U+0000 (NUL)"))

            var bytes = Data("number,name\n+37255511133,Caf".utf8)
            bytes.append(contentsOf: [0xE9, 0x0A])  // Latin-1 é: not UTF-8.
            let latin1 = try await client.request(.POST, "/v1/contacts/import", body: bytes, contentType: "text/csv")
            #expect(latin1.status == 422)
            #expect(latin1.errorFields == ["body"])
            #expect(latin1.text.contains("UTF-8"), "\(latin1.text)")
            #expect(latin1.text.contains("line 2"), "\(latin1.text)")
        }
    }
}

/// The rules above, checked on the parsers themselves (the entry points a fuzzer drives).
@Suite struct InputExactnessUnitTests {
    private func parse(_ text: String) throws(JSONParser.Malformed) -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    private func reason(_ text: String) -> JSONParser.Malformed? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }

    @Test func duplicateKeysAreRefusedWithTheirPath() {
        #expect(reason(#"{"a":{"x":1,"x":2}}"#) == .init(offset: 12, reason: .duplicateKey("x"), path: ["a", "x"]))
        #expect(reason(#"{"a":{"x":1,"x":2}}"#)?.field == "a.x")
        #expect(reason(#"[{"k":1},{"k":1,"k":1}]"#)?.field == "[1].k")
        #expect(reason(#"{"a":1,"b":{"a":2}}"#) == nil)
    }

    @Test func numbersAreKeptExactlyOrRefused() throws {
        let exact: [(String, Double)] = [
            ("9007199254740992", 9_007_199_254_740_992), ("-9007199254740992", -9_007_199_254_740_992),
            ("9.007199254740992e15", 9_007_199_254_740_992), ("0.1", 0.1), ("1e15", 1e15), ("1.5e-300", 1.5e-300),
            ("0e999999999999", 0), ("-0.0", 0), ("0.000", 0), ("12.50", 12.5),
        ]
        for (text, value) in exact {
            #expect(try parse(text) == .number(value), "\(text)")
        }
        let inexact = [
            "9007199254740993", "-9007199254740993", "9007199254740992.5", "90071992547409921e-1", "1e16",
            "123456789012345678901234567890", "1e400", "-1e400", "1e-400", "0.0000000000000000001e-400",
            "1e99999999999999999999",
        ]
        for text in inexact {
            #expect(reason(text)?.reason == .inexactNumber, "\(text)")
        }
        #expect(
            reason(#"{"n": [1, 9007199254740993]}"#) == .init(offset: 10, reason: .inexactNumber, path: ["n", "[1]"]))
    }

    @Test func escapesDecodeExactlyAndLoneSurrogatesAreNamed() throws {
        #expect(try parse(#""\ud83d\ude00\uD834\uDD1E\u00e9\u0041\u0000""#) == .string("😀𝄞éA\u{0}"))
        #expect(try parse(#""\u20ac\b\f\n\r\t\/""#) == .string("€\u{8}\u{C}\n\r\t/"))
        for (text, offset) in [
            (#""\ud83d""#, 1), (#""ab\ude00""#, 3), (#""\ud83d\u0041""#, 1), (#""\ud83dx""#, 1),
            (#""\ud83d\ud83d""#, 1),
        ] {
            #expect(reason(text) == .init(offset: offset, reason: .loneSurrogate), "\(text)")
        }
        #expect(reason(#"{"body":"\udc00"}"#)?.field == "body")
    }

    @Test func invalidUTF8AndDeepNestingSayWhatTheyAre() throws {
        #expect(throws: JSONParser.Malformed(offset: 2, reason: .invalidUTF8)) {
            try JSONParser.parse([0x22, 0x61, 0xC3, 0x28, 0x22])
        }
        #expect(throws: JSONParser.Malformed(offset: 4, reason: .invalidUTF8)) {
            try JSONParser.parse(Array(#""\n"#.utf8) + [0x61, 0xFF, 0x22])
        }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(reason(deep) == .init(offset: 64, reason: .tooDeep))
        #expect(reason(deep)?.description.contains("nested too deeply") == true)
        let limit = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(reason(limit) == nil)
    }

    @Test func timestampsAreReadWhollyOrNotAtAll() {
        let good: [(String, Int64)] = [
            ("1970-01-01T00:00:00Z", 0), ("2026-01-01T00:00:00Z", 1_767_225_600_000),
            ("2026-01-01T00:00:00.125Z", 1_767_225_600_125), ("2026-01-01T00:00:00.1z", 1_767_225_600_100),
            ("2026-01-01t02:00:00+02:00", 1_767_225_600_000), ("2025-12-31T19:30:00-04:30", 1_767_225_600_000),
            ("2026-01-01T00:00:00.125000000Z", 1_767_225_600_125), ("2024-02-29T12:00:00Z", 1_709_208_000_000),
            ("2000-02-29T00:00:00Z", 951_782_400_000), ("1969-12-31T23:59:59.999Z", -1),
        ]
        for (text, millis) in good {
            #expect(Timestamp.parseMillis(text) == millis, "\(text)")
            #expect(Timestamp.parse(text)?.epochMillis == millis, "\(text)")
        }
        let bad = [
            "2026-01-01T00:00:00Zgarbage", "2026-02-30T00:00:00Z", "2026-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-01-00T00:00:00Z",
            "2026-01-01T24:00:00Z", "2026-01-01T00:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00",
            "2026-01-01", "2026-01-01 00:00:00Z", "2026-01-01T00:00:00.Z", "2026-01-01T00:00:00.1234Z",
            "2026-01-01T00:00:00+0200", "2026-01-01T00:00:00+24:00", "+2026-01-01T00:00:00Z", " 2026-01-01T00:00:00Z",
            "2026-1-01T00:00:00Z", "", "２０２６-01-01T00:00:00Z",
        ]
        for text in bad {
            #expect(Timestamp.parseMillis(text) == nil, "\(text)")
        }
        #expect(Timestamp.isDay("2024-02-29"))
        for day in ["2026-02-30", "2026-02-29", "2026-1-01", "2026-01-01T", "2026-01-01Z"] {
            #expect(!Timestamp.isDay(day), "\(day)")
        }
        // What the API writes, it reads back.
        for millis: Int64 in [0, 1, 999, 1_767_225_600_123, 253_402_300_799_999] {
            #expect(Timestamp.parseMillis(Timestamp.string(millis)!) == millis)
        }
    }

    @Test func theTextRuleNamesTheCharacterAndKeepsTabsAndLineBreaks() {
        #expect(TextRule.problem("line\r\n\tnext \u{7F}\u{85}é😀") == nil)
        #expect(
            TextRule.problem("abc\u{0}def")?.hasPrefix("must not contain U+0000 (NUL), found at character 4") == true)
        #expect(TextRule.problem("😀\u{1B}[31m")?.contains("U+001B (ESC), found at character 2") == true)
        #expect(TextRule.problem("\u{1F}")?.contains("U+001F (US)") == true)
    }

    // MARK: CSV

    private func csv(_ text: String) throws -> ContactCSV.Parsed {
        try ContactCSV.parse(Data(text.utf8))
    }

    @Test func aStrayQuoteIsOneRowErrorWithItsRecordAndLine() throws {
        let parsed = try csv("number,name\n+37255511131,O\"Brien\n+37255511132,Next\n+37255511133,Last\n")
        #expect(parsed.contacts.map(\.name) == ["Next", "Last"])
        #expect(parsed.rowErrors.count == 1)
        #expect(parsed.rowErrors.first?.row == 2)
        #expect(parsed.rowErrors.first?.line == 2)
        #expect(parsed.rowErrors.first?.errors.first?.field == "name")
        #expect(parsed.rowErrors.first?.errors.first?.message.contains("quote inside an unquoted value") == true)
    }

    @Test func malformedQuotingCostsOnlyItsOwnLines() throws {
        // Text after a closing quote; a quote that closes lines later with text after it; a quote never closed.
        let parsed = try csv(
            """
            number,name,notes
            +37255511131,"a"b,x
            +37255511132,"spans
            +37255511133,ok,
            +37255511134,"x"y,
            +37255511135,Fine,
            +37255511136,"never closed,
            +37255511137,After,

            """)
        #expect(parsed.contacts.map(\.number) == ["+37255511133", "+37255511135", "+37255511137"])
        #expect(parsed.rowErrors.map(\.line) == [2, 3, 5, 7])
        #expect(parsed.rowErrors[0].errors.first?.message.contains("text after its closing quote") == true)
        #expect(parsed.rowErrors[1].errors.first?.message.contains("text after its closing quote (line 5)") == true)
        #expect(
            parsed.rowErrors[3].errors.first?.message.contains("opens a quote at line 7 that is never closed") == true)
        #expect(parsed.rowErrors.allSatisfy { $0.errors.first?.field == "name" })
    }

    @Test func wellFormedQuotingIsReadExactly() throws {
        let parsed = try csv(
            "number,name,notes,groups\r\n"
                + "+37255511131, \"Doe, Jane\" ,\"said \"\"hi\"\"\r\nand left\",vip;tallinn\r\n"
                + "+37255511132,\u{FEFF}Zed,\"line\u{2028}sep\",\r\n"
                + ",,,\r\n" + "   \r\n" + "+37255511133,,,")
        #expect(parsed.rowErrors.isEmpty, "\(parsed.rowErrors)")
        #expect(parsed.contacts.count == 3)
        #expect(parsed.contacts[0].name == "Doe, Jane")
        #expect(parsed.contacts[0].notes == "said \"hi\"\r\nand left")
        #expect(parsed.contacts[0].groups == ["vip", "tallinn"])
        #expect(parsed.contacts[1].name == "\u{FEFF}Zed")
        #expect(parsed.contacts[1].notes == "line\u{2028}sep")
        #expect(parsed.contacts[2].name == nil)
    }

    @Test func recordsAndLinesAreCountedApart() throws {
        let parsed = try csv("number,notes\n+37255511131,\"a\nb\nc\"\n\nbad,x\n+37255511132,\"x\u{2028}y\n")
        #expect(parsed.rowErrors.map(\.row) == [4, 5])
        #expect(parsed.rowErrors.map(\.line) == [6, 7])
        #expect(parsed.rowErrors[1].errors.first?.message.contains("never closed") == true)
        let separator = try csv("number,notes\n+37255511132,x\u{2028}y\n")
        #expect(separator.rowErrors.first?.errors.first?.message.contains("U+2028 outside quotes") == true)
    }

    @Test func wholeFileProblemsAreNamed() throws {
        #expect(throws: ContactCSV.HeaderError.empty) { try csv("") }
        #expect(throws: ContactCSV.HeaderError.empty) { try csv("\u{FEFF}\n") }
        #expect(throws: ContactCSV.HeaderError.duplicateColumn("name")) { try csv("number,name,Name\n") }
        #expect(throws: ContactCSV.HeaderError.unknownColumn("\u{FEFF}number")) { try csv("\u{FEFF}\u{FEFF}number\n") }
        #expect(throws: ContactCSV.HeaderError.notUTF8(byte: 15, line: 2)) {
            try ContactCSV.parse(Data("number,name\n+3,".utf8) + [0xC0, 0xAF])
        }
        #expect(throws: ContactCSV.HeaderError.notUTF8(byte: 3, line: 1)) {
            try ContactCSV.parse(Data([0xEF, 0xBB, 0xBF, 0xFF]))
        }
        do {
            _ = try csv("number,\"name\n+37255511131,x\n")
            Issue.record("a header with an open quote was read")
        } catch let error as ContactCSV.HeaderError {
            guard case .malformedHeader(let message) = error else {
                Issue.record("\(error)")
                return
            }
            #expect(message.contains("never closed"))
        } catch {
            Issue.record("\(error)")
        }
        #expect(try csv("\u{FEFF}number,name\n+37255511131,Ann\n").contacts.count == 1)
    }

    /// Random values written with RFC 4180 quoting read back exactly; a stray quote put into one row
    /// costs that row alone.
    @Test func randomFilesRoundTripAndAStrayQuoteCostsOneRow() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "Z", " ", ",", "\"", "\"\"", "\n", "\r\n", "é", "😀", "e\u{301}", ";", "\t", "\u{2028}", "x"]
        func value() -> String {
            var text = (0..<Int.random(in: 1...6, using: &generator)).map { _ in
                pieces.randomElement(using: &generator)!
            }
            .joined()
            // Values are trimmed on import, so give them ends that trimming keeps.
            text = "<" + text + ">"
            return text
        }
        func quoted(_ text: String) -> String { "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        for _ in 0..<100 {
            var rows: [(number: String, name: String, notes: String)] = []
            for index in 0..<Int.random(in: 1...8, using: &generator) {
                rows.append(("+3725551\(1000 + index)", value(), value()))
            }
            let lines = rows.map { "\($0.number),\(quoted($0.name)),\(quoted($0.notes))" }
            let parsed = try csv("number,name,notes\r\n" + lines.joined(separator: "\r\n") + "\r\n")
            #expect(parsed.rowErrors.isEmpty, "\(lines)")
            #expect(parsed.contacts.map(\.name) == rows.map(\.name), "\(lines)")
            #expect(parsed.contacts.map(\.notes) == rows.map(\.notes), "\(lines)")

            // The same rows with one name written bare, a quote in it: that row is reported, the rest import.
            let broken = Int.random(in: 0..<rows.count, using: &generator)
            var strayLines = rows.map { "\($0.number),Plain,Plain" }
            strayLines[broken] = "\(rows[broken].number),O\"Brien,x"
            let stray = try csv("number,name,notes\n" + strayLines.joined(separator: "\n") + "\n")
            #expect(stray.contacts.count == rows.count - 1)
            #expect(stray.rowErrors.map(\.line) == [broken + 2])
        }
    }
}
