import AddonKit
import Crypto
import Foundation
import GRDB
import PluginAPI
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon
import Testing

@Suite struct GroupCommitWriterTests {
    @Test func concurrentWritesCommitTogetherAndAFailureStaysAlone() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-writer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .full)
        let writer = GroupCommitWriter(pool: pool)
        try await writer.write { db in try db.execute(sql: "CREATE TABLE t (v INTEGER UNIQUE)") }
        let results = await withTaskGroup(of: Bool.self) { group in
            for value in 0..<200 {
                group.addTask {
                    do {
                        // Value 100 is written twice: exactly one of the two must fail.
                        try await writer.write { db in
                            try db.execute(sql: "INSERT INTO t VALUES (?)", arguments: [value == 150 ? 100 : value])
                        }
                        return true
                    } catch { return false }
                }
            }
            var results: [Bool] = []
            for await result in group { results.append(result) }
            return results
        }
        #expect(results.filter { !$0 }.count == 1)
        let count = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM t") }
        #expect(count == 199)
        let synchronous = try await pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2)
    }

    /// New files get the small pages; a file made before keeps its own and still opens and migrates.
    @Test func newDatabasesUseTwoKibibytePagesAndOldOnesKeepTheirs() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-pages-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let fresh = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("new.sqlite").path, durability: .normal)
        #expect(try fresh.read { db in try Int.fetchOne(db, sql: "PRAGMA page_size") } == 2048)

        let oldPath = directory.appendingPathComponent("old.sqlite").path
        let old = try DatabaseQueue(path: oldPath)
        try old.write { db in
            try db.execute(sql: "PRAGMA page_size = 4096; CREATE TABLE kept (v INTEGER); INSERT INTO kept VALUES (7)")
        }
        try old.close()
        let reopened = try SwitchboardDatabase.open(at: oldPath, durability: .normal)
        let (pageSize, kept, messages) = try reopened.read { db in
            (
                try Int.fetchOne(db, sql: "PRAGMA page_size"), try Int.fetchOne(db, sql: "SELECT v FROM kept"),
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM messages")
            )
        }
        #expect(pageSize == 4096)
        #expect(kept == 7)
        #expect(messages == 0)
    }
}

/// `WriteGathering`, which batches the delivery pipeline's writes of carrier answers and receipts.
@Suite struct WriteGatheringTests {
    private actor Flushes {
        var batches: [[Int]] = []
        func append(_ items: [Int]) { batches.append(items) }
    }

    /// Writes that arrive while the first one lingers are flushed in one call, in the order they
    /// came, and each caller resumes once its batch is written; a batch of `enough` items does
    /// not wait for company; after `close()` a write is refused with `Closed`, so its caller
    /// writes on its own.
    @Test func writesWithinTheLingerAreFlushedTogether() async throws {
        let gathering = WriteGathering<Int>()
        let flushes = Flushes()
        let runner = Task {
            await gathering.run(linger: .seconds(1), enough: 50) { await flushes.append($0) }
        }
        async let first: Void = gathering.write([1])
        try await Task.sleep(for: .milliseconds(20))
        async let second: Void = gathering.write([2, 3])
        _ = try await (first, second)
        #expect(await flushes.batches == [[1, 2, 3]])

        try await gathering.write(Array(100..<150))
        #expect(await flushes.batches.last == Array(100..<150))

        gathering.close()
        await runner.value
        await #expect(throws: WriteGathering<Int>.Closed.self) { try await gathering.write([4]) }
        #expect(await flushes.batches.count == 2)
    }
}

@Suite struct ConfigurationTests {
    @Test func unknownAndInvalidSettingsAreAllNamed() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(
            #"{"port": 70000, "durability": "paranoid", "rate_limits": {"send_burst": 0, "sendPerSecond": 1}}"#.utf8
        ).write(to: url)
        do {
            _ = try ServeConfiguration.load(file: url.path)
            Issue.record("expected an error")
        } catch let error as ConfigurationError {
            #expect(
                Set(error.problems.map(\.field)) == [
                    "port", "durability", "rate_limits.send_burst", "rate_limits.sendPerSecond",
                ])
            #expect(error.description.contains("must be one of normal, full"))
        }
    }

    @Test func environmentOverridesTheFile() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("sb-config-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(
            #"{"port": 9000, "retention_days": 30, "durability": "full", "operator_token": "file-token-0123456789"}"#
                .utf8
        ).write(to: url)
        var config = try ServeConfiguration.load(file: url.path)
        #expect(config.port == 9000 && config.retentionDays == 30 && config.durability == .full)
        try config.applyEnvironment([
            "SWITCHBOARD_PORT": "9100", "SWITCHBOARD_OPERATOR_TOKEN": "env-token-0123456789abc",
        ])
        #expect(config.port == 9100)
        #expect(config.operatorToken == "env-token-0123456789abc")
        #expect(throws: ConfigurationError.self) { try config.applyEnvironment(["SWITCHBOARD_PORT": "many"]) }
    }
}

@Suite struct PasswordTests {
    @Test func policy() {
        let policy = PasswordPolicy()
        #expect(policy.problem(with: "plum-harbor-violet-42", email: "a@example.com") == nil)
        #expect(policy.problem(with: "short", email: nil) != nil)
        #expect(policy.problem(with: "qwerty123456", email: nil) != nil)
        #expect(policy.problem(with: "aaaaaaaaaaaaaaa", email: nil) != nil)
        #expect(policy.problem(with: "lovelace-analytical", email: "lovelace@example.com") != nil)
    }

    @Test func scryptRoundTrip() throws {
        let hasher = PasswordHasher(costLog2: 10)
        let stored = try hasher.hash("plum-harbor-violet-42")
        #expect(hasher.verify("plum-harbor-violet-42", against: stored))
        #expect(!hasher.verify("plum-harbor-violet-43", against: stored))
        #expect(try hasher.hash("plum-harbor-violet-42") != stored)
    }
}

/// The hand-written encodings agree with Foundation's on every length.
@Suite struct EncodingTests {
    @Test func base64URLAndHexMatchFoundation() throws {
        var generator = SystemRandomNumberGenerator()
        for length in 0..<70 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let foundation = Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            #expect(bytes.base64URLEncoded() == foundation)
            #expect(bytes.hexString == bytes.map { String(format: "%02x", $0) }.joined())
        }
        #expect(Identifier.make("msg").count == 4 + 16)
        let event = DomainEvent(
            type: .messageStatus, accountID: "acc_1", timeMs: 1_700_000_000_123,
            fields: [
                "usage.to": .text("+37255512345"), "usage.segments": .int(-3), "content.body": .text("héllo\u{1F}"),
            ])
        #expect(try DomainEvent(stored: event.stored) == event)
        // Outbox rows queued by a version that stored JSON are still delivered.
        #expect(try DomainEvent(stored: JSONEncoder().encode(event)) == event)
        #expect(throws: (any Error).self) { try DomainEvent(stored: Data([1, 0, 0])) }
        #expect(Identifier.randomToken(bytes: 32).count == 43)
    }

    /// Message ids sort as their creation times do (the id index is appended to, not scattered),
    /// and two ids made in the same millisecond still differ.
    @Test func orderedIdentifiersSortByTime() {
        let times: [Int64] = [0, 1, 255, 256, 65_535, 1_700_000_000_000, 1_700_000_000_001, 1_800_000_000_000]
        let ids = times.map { Identifier.makeOrdered("msg", at: $0) }
        #expect(ids == ids.sorted())
        #expect(ids.allSatisfy { $0.hasPrefix("msg_") && $0.count == 4 + 20 })
        let sameTime = (0..<1000).map { _ in Identifier.makeOrdered("msg", at: 1_700_000_000_000) }
        #expect(Set(sameTime).count == 1000)
        #expect(Identifier.sortableAlphabet == Identifier.sortableAlphabet.sorted())
        #expect(Set(Identifier.sortableAlphabet).count == 64)
    }
}

/// The request-body parser agrees with Foundation's on what JSON is and what it says.
@Suite struct JSONParserTests {
    private func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    /// Foundation's reading of the same document, as a `JSONValue`.
    private func foundation(_ text: String) -> JSONValue? {
        guard
            let any = try? JSONSerialization.jsonObject(
                with: Data(text.utf8), options: [.fragmentsAllowed])
        else { return nil }
        return convert(any)
    }

    private func convert(_ any: Any) -> JSONValue {
        switch any {
        case is NSNull: return .null
        case let text as String: return .string(text)
        case let array as [Any]: return .array(array.map(convert))
        case let object as [String: Any]: return .object(object.mapValues(convert))
        case let number as NSNumber:
            // Foundation reads true/false as NSNumber too; its type tells them apart.
            if String(cString: number.objCType) == "c" || type(of: number) == type(of: NSNumber(value: true)) {
                if number === NSNumber(value: true) || number === NSNumber(value: false) {
                    return .bool(number.boolValue)
                }
            }
            return .number(number.doubleValue)
        default: return .null
        }
    }

    @Test func readsWhatFoundationReads() throws {
        let documents = [
            #"{"to":"+37255512345","from":"ACME","body":"hello world"}"#,
            #" { "a" : [ 1 , -2.5e3 , 0.125, 1E2, -0 ] , "b" : { } , "c" : [ ] } "#,
            #"{"nested":{"x":[{"y":null},true,false]}}"#,
            #"{"escapes":"\"\\\/\b\f\n\r\t\u00e9\u20ac\ud83d\ude00"}"#,
            #"{"utf8":"héllo wörld ✓ 😀"}"#,
            #"[]"#, #""text""#, #"12"#, #"null"#,
        ]
        for document in documents {
            #expect(try parse(document) == foundation(document), "\(document)")
        }
        // Foundation lets the last of two equal keys win; I-JSON (RFC 7493 §2.3) refuses them.
        #expect(foundation(#"{"dup":1,"dup":2}"#) == .object(["dup": .number(2)]))
        #expect(throws: JSONParser.Malformed(offset: 9, reason: .duplicateKey("dup"), path: ["dup"])) {
            try parse(#"{"dup":1,"dup":2}"#)
        }
    }

    @Test func refusesWhatIsNotJSON() throws {
        let documents = [
            "", " ", "{", "}", #"{"a"}"#, #"{"a":}"#, #"{"a":1,}"#, "[1,]", "[1 2]", #"{a:1}"#, "{'a':1}",
            "tru", "nul", "True", "01", "1.", ".5", "-", "1e", "+1", #""unterminated"#, "\"tab\there\"",
            #""\x""#, #""\u12""#, #""\ud800""#, #""\udc00x""#, #"{"a":1} x"#, "[1]]",
        ]
        // Foundation lets trailing commas through; RFC 8259 does not.
        let lenient: Set = [#"{"a":1,}"#, "[1,]"]
        for document in documents {
            #expect(throws: JSONParser.Malformed.self, "\(document)") { try parse(document) }
            #expect(foundation(document) == nil || lenient.contains(document), "\(document)")
        }
        #expect(try parse("\u{FEFF}{}") == .object([:]))
        // Invalid UTF-8 inside a string.
        #expect(throws: JSONParser.Malformed.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
    }

    @Test func namesWhereTheInputBroke() {
        #expect(throws: JSONParser.Malformed(offset: 6)) { try parse(#"{"a": tru}"#) }
        #expect(throws: JSONParser.Malformed(offset: 9)) { try parse(#"{"a": 1, }"#) }
    }

    @Test func refusesDeepNesting() throws {
        let shallow = String(repeating: "[", count: 60) + String(repeating: "]", count: 60)
        _ = try parse(shallow)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(throws: JSONParser.Malformed.self) { try parse(deep) }
    }

    /// Random documents written by `JSONSerialization` read back to what was written.
    @Test func roundTripsRandomDocuments() throws {
        var generator = SystemRandomNumberGenerator()
        let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\t", "\u{1}", "\u{1F}", "é", "€", "😀"]
        func randomString() -> String {
            String(
                (0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
        }
        func randomValue(depth: Int) -> Any {
            switch Int.random(in: 0...(depth > 3 ? 3 : 5), using: &generator) {
            case 0: return NSNull()
            case 1: return randomString()
            case 2: return Double(Int.random(in: -1_000_000...1_000_000, using: &generator)) / 64
            case 3: return Bool.random(using: &generator)
            case 4: return (0..<Int.random(in: 0...4, using: &generator)).map { _ in randomValue(depth: depth + 1) }
            default:
                var object: [String: Any] = [:]
                for _ in 0..<Int.random(in: 0...4, using: &generator) {
                    object[randomString()] = randomValue(depth: depth + 1)
                }
                return object
            }
        }
        for _ in 0..<300 {
            let document = ["root": randomValue(depth: 0)]
            let data = try JSONSerialization.data(withJSONObject: document)
            let text = String(decoding: data, as: UTF8.self)
            #expect(try JSONParser.parse([UInt8](data)) == foundation(text), "\(text)")
        }
    }
}

/// The hand-written message answer and callback body are byte for byte what the encoders write.
@Suite struct JSONWriterTests {
    @Test func messageAnswersMatchTheEncoder() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = [
            "hello", " ", "é", "😀", "\"", "\\", "/", "\n", "\r", "\t", "\u{8}", "\u{C}", "\u{1}", "\u{1F}", "\u{7F}",
            "\u{2028}",
        ]
        func text() -> String {
            (0..<Int.random(in: 0...8, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }
                .joined()
        }
        func maybe<T>(_ value: T) -> T? { Bool.random(using: &generator) ? value : nil }
        for _ in 0..<500 {
            var message = Message(
                queued: MessageStore.Outbound(
                    accountID: "acc_1", to: "+37255512345", from: text(), body: text(), statusCallback: maybe(text())),
                seq: 1, count: SegmentCount(body: "x"), now: Int64.random(in: 0...2_000_000_000_000, using: &generator))
            message.body = maybe(text())
            message.bodyDigest = maybe(text())
            message.errorCode = maybe(Int.random(in: -5...40_000, using: &generator))
            message.errorMessage = maybe(text())
            message.sentAt = maybe(1_763_800_000_123)
            message.completedAt = maybe(1_763_800_000_456)
            message.statusCallbackEvents = CallbackEvents(rawValue: Int.random(in: 1...15, using: &generator))
            let view = MessageView(message)
            let encoded = try SnakeCaseJSON.encoder().encode(view)
            #expect(view.json == [UInt8](encoded), "\(String(decoding: encoded, as: UTF8.self))")
            let payload = StatusCallbackQueue.Payload(
                messageId: message.id, accountId: message.accountID, status: message.status.rawValue, to: text(),
                from: message.from, errorCode: message.errorCode, errorMessage: message.errorMessage,
                timestamp: text())
            let sorted = JSONEncoder()
            sorted.outputFormatting = .sortedKeys
            #expect(payload.json == [UInt8](try sorted.encode(payload)))
        }
    }
}

/// Timestamps written by hand read back, through Foundation, as the milliseconds they were made of.
/// (Foundation's own format style writes from a floating-point `Date` and truncates: it showed
/// 999 ms as .998 for about one time in five.)
@Suite struct TimestampTests {
    @Test func roundTripsThroughTheISO8601FormatStyle() throws {
        let style = Date.ISO8601FormatStyle(includingFractionalSeconds: true)
        var generator = SystemRandomNumberGenerator()
        let fixed: [Int64] = [0, 1, 999, 86_399_999, 86_400_000, 951_782_400_000, 1_709_164_800_000, 4_102_444_799_999]
        let random = (0..<2000).map { _ in Int64.random(in: 0...4_102_444_800_000, using: &generator) }
        for millis in fixed + random {
            let text = try #require(Timestamp.string(millis))
            let read = try style.parse(text)
            #expect((read.timeIntervalSince1970 * 1000).rounded() == Double(millis), "\(millis): \(text)")
            // Down to the second the two agree.
            #expect(text.prefix(19) == style.format(Date(epochMillis: millis)).prefix(19), "\(millis)")
        }
        #expect(Timestamp.string(nil) == nil)
        #expect(Timestamp.string(1_763_810_059_123) == "2025-11-22T11:14:19.123Z")
        #expect(Timestamp.string(951_782_400_999) == "2000-02-29T00:00:00.999Z")
        #expect(Timestamp.string(0) == "1970-01-01T00:00:00.000Z")
    }
}

/// Hashes and tokens computed piece by piece equal the one-shot definitions they replace, so ledgers
/// and pseudonyms written before stay valid.
@Suite struct IncrementalHashTests {
    @Test func ledgerRowHashIsTheHashOfTheJoinedFields() {
        let parts = [
            "genesis", "7", "1763800000123", "com.example.a", "1.2.0", "acc_1", "evt_x", "message.status",
            "usage.to:pseudonym,usage.status:clear", "",
        ]
        let expected = SHA256.hash(data: Data(parts.joined(separator: "\u{1F}").utf8)).hexString
        #expect(
            Ledger.hash(
                prev: parts[0], seq: 7, at: 1_763_800_000_123, addonID: parts[3], addonVersion: parts[4],
                accountID: parts[5], eventID: parts[6], eventType: parts[7], fields: parts[8], consentID: nil)
                == expected)
    }

    @Test func pseudonymsAreTheHMACOfTheValue() {
        let master = SymmetricKey(size: .bits256)
        let pseudonyms = Pseudonymizer(master: master)
        let key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: master, info: Data("switchboard.pseudonym|com.example.a|acc_1".utf8),
            outputByteCount: 32)
        for value in ["+37255512345", "", "é😀"] {
            let expected =
                "psn_" + HMAC<SHA256>.authenticationCode(for: Data(value.utf8), using: key).prefix(16).hexString
            // Twice: the second starts from the cached keyed HMAC.
            #expect(pseudonyms.token(value, addonID: "com.example.a", accountID: "acc_1") == expected)
            #expect(pseudonyms.token(value, addonID: "com.example.a", accountID: "acc_1") == expected)
        }
        #expect(
            pseudonyms.token("+37255512345", addonID: "com.example.b", accountID: "acc_1")
                != pseudonyms.token("+37255512345", addonID: "com.example.a", accountID: "acc_1"))
    }

    /// The add-on SDK's string escaping reads back as the string.
    @Test func addOnJSONStringsReadBack() throws {
        for text in ["plain", "quote \" back\\slash", "line\nbreak\r\t", "\u{1}\u{1F}\u{7F}", "é😀/", ""] {
            #expect(try JSONParser.parse(Array(AddonKit.jsonString(text).utf8)) == .string(text))
        }
    }
}

/// Where an add-on's cursor in the event log goes after a delivered batch.
@Suite struct EventCursorTests {
    let start = EventLog.Cursor(seq: 10, attempts: 0, nextAttemptAt: 0)

    @Test func anAnsweredBatchPassesEveryRowItRead() {
        // Rows 12 and 15 were for other add-ons (or skipped): passed with the rest.
        let next = OutboxWorker.advance(
            start, scanned: [11, 12, 14, 15], work: [11, 14], codes: [SB_OK, SB_ERROR], now: 1_000)
        #expect(next == EventLog.Cursor(seq: 15, attempts: 0, nextAttemptAt: 0))
    }

    @Test func aRetriedRowHoldsTheCursorJustBeforeItWithABackoff() {
        let next = OutboxWorker.advance(
            start, scanned: [11, 12, 14, 15], work: [11, 14, 15], codes: [SB_OK, SB_RETRY], now: 1_000)
        #expect(next == EventLog.Cursor(seq: 13, attempts: 1, nextAttemptAt: 1_200))
        // The same head retried again: its attempts grow and so does the wait.
        let again = OutboxWorker.advance(next, scanned: [14, 15], work: [14, 15], codes: [SB_RETRY], now: 2_000)
        #expect(again == EventLog.Cursor(seq: 13, attempts: 2, nextAttemptAt: 2_400))
        // The wait stops growing at five minutes.
        let late = OutboxWorker.advance(
            EventLog.Cursor(seq: 13, attempts: 40, nextAttemptAt: 0), scanned: [14], work: [14], codes: [SB_RETRY],
            now: 0)
        #expect(late.nextAttemptAt == 300_000)
    }

    @Test func anUnansweredHeadIsOfferedAgainWithoutLosingItsRetryState() {
        let held = EventLog.Cursor(seq: 13, attempts: 3, nextAttemptAt: 500)
        // The runner was down: nothing answered, the cursor and its retry state stay.
        #expect(OutboxWorker.advance(held, scanned: [14, 15], work: [14, 15], codes: [], now: 1_000) == held)
        // Part of the batch answered: the cursor passes it, and the next head starts afresh.
        let partly = OutboxWorker.advance(held, scanned: [14, 15, 16], work: [14, 16], codes: [SB_OK], now: 1_000)
        #expect(partly == EventLog.Cursor(seq: 15, attempts: 0, nextAttemptAt: 0))
    }

    @Test func pruningKeepsWhatAnAddonWithoutAWorkerStillNeeds() {
        let sql = EventLog.pruneSQL(consumers: ["com.a", "com.b"], configured: ["com.a", "com.b", "com.c"])
        #expect(sql.contains("COUNT(*) = 2"))
        #expect(sql.contains("instr(recipients, ',com.c,') = 0"))
        #expect(sql.contains("recipients IN (',com.a,', ',com.b,')"))
    }
}

@Suite struct SchemaTests {
    /// Each target owns its migrations; the daemon applies all of them, once each, in shipped order.
    @Test func theDaemonAppliesEveryTargetsMigrationsInShippedOrder() {
        let applied = DaemonSchema.migrations.map(\.identifier)
        #expect(
            applied == [
                "v1-core", "v2-addons", "v3-ledger-checkpoints-erasure", "v4-callback-events",
                "v5-consent-terms-recipients", "v6-erased-accounts-stay-erased",
                "v7-callback-receivers-secret-rotation", "v8-sign-in-sessions", "v9-carrier-submit-intent",
                "v10-carrier-submissions", "v11-smpp-server", "v12-inbound-webhooks", "v13-smpp-partials",
                "v14-account-inbound-webhook", "v15-settled-erasures-forget-the-number",
                "v16-event-log-with-cursors", "v17-console-sign-in", "v18-erasure-awaiting-hold",
                "v19-erased-accounts-keep-no-sign-in-time", "v20-smpp-delivery-refusals",
                "v21-smpp-parts-as-user-data", "v22-smpp-parts-claimed", "v23-smpp-parts-echoed",
            ])
        let owned = (CoreSchema.migrations + AddonSchema.migrations).map(\.identifier)
        #expect(Set(applied) == Set(owned))
        #expect(applied.count == owned.count)
    }
}

@Suite struct MessageColumnTests {
    /// The one column list names every column of the `messages` table, so a column added by a
    /// migration without a `Message.Column` case fails here.
    @Test func theColumnListMatchesTheTable() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cols-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal,
            migrations: DaemonSchema.migrations)
        let table = try pool.read { db in try db.columns(in: "messages").map(\.name) }
        #expect(Message.Column.allCases.map(\.name) == table)
        #expect(Message.columns == table.joined(separator: ", "))
    }

    /// Read by name (GRDB `Row`) and by position (a stepped `RETURNING` statement), a row gives the
    /// same message.
    @Test func decodingByNameAndByPositionAgree() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-cols-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try SwitchboardDatabase.open(
            at: directory.appendingPathComponent("db.sqlite").path, durability: .normal)
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO accounts (id, webhook_secret, created_at, updated_at) VALUES ('acc_1', 'w', 1, 1);
                    INSERT INTO messages (id, account_id, direction, to_number, from_number, body, body_digest, encoding,
                        segments, status, error_code, error_message, status_callback, status_callback_events,
                        created_at, sent_at, completed_at, updated_at)
                    VALUES ('msg_1', 'acc_1', 'outbound', '+37255512345', 'ACME', 'hi', 'dg', 'GSM-7', 2, 'undelivered',
                        34, 'absent subscriber', 'https://example.com/cb', 12, 1000, 1100, 1200, 1300);
                    """)
        }
        let byName = try await pool.read { db in
            try Message.fetchOne(db, sql: "SELECT * FROM messages WHERE id = 'msg_1'")
        }
        let byPosition = try await pool.write { db in
            try ChangedMessage.fetch(
                db.makeStatement(
                    sql: """
                        UPDATE messages SET updated_at = updated_at WHERE id = 'msg_1'
                        RETURNING \(Message.columns), 'hash'
                        """), arguments: [])
        }
        #expect(byName != nil)
        #expect(byName == byPosition?.message)
        #expect(byPosition?.contentMode == .hash)
        #expect(byName?.errorCode == 34 && byName?.sentAt == 1100 && byName?.bodyDigest == "dg")
    }
}

@Suite struct ConsoleFlashTests {
    /// What a form leaves for the page after its redirect is read once, and only by its session
    /// on that page: opened elsewhere it stays unread.
    @Test func anEntryIsReadOnceAndOnlyByItsSessionOnItsPage() {
        let flash = ConsoleFlash()
        let page = "/console/settings/recovery-codes"
        let token = flash.put(session: "cs_a", path: page, ["notice": "Key revoked.", "codes": ["abcde-fghij"]])
        #expect(token.count >= 22)
        #expect(flash.take(token, session: "cs_b", path: page) == nil)
        #expect(flash.take(token, session: "cs_a", path: "/console/keys") == nil)
        let shown = flash.take(token, session: "cs_a", path: page)
        #expect(shown?["notice"] as? String == "Key revoked.")
        #expect(shown?["codes"] as? [String] == ["abcde-fghij"])
        #expect(flash.take(token, session: "cs_a", path: page) == nil)
        #expect(flash.take(nil, session: "cs_a", path: page) == nil)
        #expect(flash.take("", session: "cs_a", path: page) == nil)
    }
}
