import Crypto
import Foundation
import GRDB
import Logging
import ServiceLifecycle
import Synchronization

/// Settings for POSTing status changes to a message's `status_callback` (`callbacks` in the config).
public struct CallbackSettings: Sendable, Codable, Equatable {
    /// Delay before the first retry; doubles with each further attempt, up to an hour.
    public var retryBaseMs: Int = 1000
    public var maxAttempts: Int = 10
    /// The whole of one attempt, in milliseconds: name resolution, connection, request and the
    /// answer's head. A receiver that has not answered by then has failed that attempt.
    public var timeoutMs: Int = 5000
    /// Address blocks and host names callbacks may reach although they are not public (test and
    /// on-premise receivers); see `CallbackTargetPolicy`. Empty by default.
    public var allowTargets: [String] = []
    /// Whether `http://` callback and webhook URLs are accepted. Off by default: a callback carries
    /// message data (an inbound webhook the message text), which crosses networks encrypted only
    /// over https, with the receiver's certificate verified.
    public var allowHTTP = false
    /// Callbacks in flight to one receiver (`host:port`) at once.
    public var perReceiverConcurrency: Int = 16
    /// Callbacks in flight for one account at once, across all its receivers.
    public var perAccountConcurrency: Int = 32
    /// Callbacks in flight in all.
    public var maxConcurrency: Int = 256
    /// After a webhook secret rotation, how long callbacks carry a signature with the previous
    /// secret too, in seconds, unless the rotation asks otherwise or the customer ends it.
    public var secretOverlapSeconds: Int = 86_400

    public init() {}

    enum CodingKeys: String, CodingKey {
        case retryBaseMs = "retry_base_ms"
        case maxAttempts = "max_attempts"
        case timeoutMs = "timeout_ms"
        case allowTargets = "allow_targets"
        case allowHTTP = "allow_http"
        case perReceiverConcurrency = "per_receiver_concurrency"
        case perAccountConcurrency = "per_account_concurrency"
        case maxConcurrency = "max_concurrency"
        case secretOverlapSeconds = "secret_overlap_seconds"
    }

    var limits: CallbackSlots.Limits {
        .init(perReceiver: perReceiverConcurrency, perAccount: perAccountConcurrency, total: maxConcurrency)
    }
}

/// The durable queue of status callbacks (the `callbacks` table) and the service that delivers it.
///
/// Each request carries `Switchboard-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
/// HMAC-SHA256 over `"<t>." + body` keyed with the account's webhook signing secret. While a
/// rotated-out secret is still valid (`WebhookSecrets`), a second `v1=<hex>` follows, keyed with it.
///
/// Delivery: due callbacks are attempted as slots free up (`CallbackSlots`: per receiver, per
/// account, in all), each attempt bounded by `timeout_ms` in total and sent only to an address the
/// `CallbackTargetPolicy` checked (`CallbackTransport`). A refused target fails the callback at once.
public final class StatusCallbackQueue: Service {
    private let writer: GroupCommitWriter
    private let clock: any WallClock
    private let settings: CallbackSettings
    private let policy: CallbackTargetPolicy
    private let metrics: (any CallbackMetrics)?
    private let logger: Logger
    private let wakeups = BatchQueue<Void>()
    /// Attempts that ended and whose outcome is not stored yet; their slots are still held.
    private let finished = Mutex<[(id: Int64, outcome: CallbackAttemptOutcome)]>([])

    package init(
        writer: GroupCommitWriter, clock: any WallClock, settings: CallbackSettings,
        policy: CallbackTargetPolicy = CallbackTargetPolicy(), metrics: (any CallbackMetrics)? = nil, logger: Logger
    ) {
        self.writer = writer
        self.clock = clock
        self.settings = settings
        self.policy = policy
        self.metrics = metrics
        self.logger = logger
    }

    package struct Payload: Encodable {
        var messageId: String
        var accountId: String
        /// An inbound message's text (inbound webhooks only).
        var body: String?
        var status: String
        var to: String
        var from: String
        var errorCode: Int?
        var errorMessage: String?
        var timestamp: String

        enum CodingKeys: String, CodingKey {
            case messageId = "message_id", accountId = "account_id", body, status, to, from
            case errorCode = "error_code", errorMessage = "error_message", timestamp
        }

        /// What a sorted-keys `JSONEncoder` writes, without one (two callbacks per message).
        package var json: [UInt8] {
            var writer = JSONWriter()
            writer.field("account_id", accountId)
            writer.field("body", body)
            writer.field("error_code", errorCode)
            writer.field("error_message", errorMessage)
            writer.field("from", from)
            writer.field("message_id", messageId)
            writer.field("status", status)
            writer.field("timestamp", timestamp)
            writer.field("to", to)
            return writer.finish()
        }

        package init(
            messageId: String, accountId: String, status: String, to: String, from: String, errorCode: Int? = nil,
            errorMessage: String? = nil, timestamp: String
        ) {
            self.messageId = messageId
            self.accountId = accountId
            self.status = status
            self.to = to
            self.from = from
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.timestamp = timestamp
        }
    }

    /// Queues the inbound webhook of a message received on a number that has one (`status`
    /// `received`, with the text), inside the transaction that stored it; signed, retried and
    /// limited like status callbacks.
    func enqueueInbound(_ db: Database, message: Message, body: String, url: String, now: Int64) throws {
        var payload = Payload(
            messageId: message.id, accountId: message.accountID, status: message.status.rawValue, to: message.to,
            from: message.from, timestamp: Timestamp.string(message.createdAt) ?? "")
        payload.body = body
        try db.cachedStatement(
            sql: """
                INSERT INTO callbacks (account_id, message_id, url, receiver, payload, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            message.accountID, message.id, url, Self.receiver(ofURL: url), Data(payload.json), now, now,
        ])
    }

    /// An inbound webhook holds the message's text only until it is delivered or given up: then the
    /// text leaves the stored payload, so a `content_mode` that keeps no text is kept here too.
    static func dropHeldText(_ db: Database, callbackID: Int64) throws {
        guard
            let payload = try Data.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT payload FROM callbacks WHERE id = ? AND state != 'pending'
                        AND instr(payload, CAST('"body":' AS BLOB)) > 0
                        """), arguments: [callbackID]),
            var object = try? JSONSerialization.jsonObject(with: payload) as? [String: Any]
        else { return }
        object["body"] = nil
        let stripped = try JSONSerialization.data(
            withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        try db.cachedStatement(sql: "UPDATE callbacks SET payload = ? WHERE id = ?").execute(arguments: [
            stripped, callbackID,
        ])
    }

    /// Queues a callback for the message's current status, inside the caller's transaction;
    /// false when the message has no callback URL or its sender did not ask for this status.
    @discardableResult
    func enqueue(_ db: Database, message: Message, now: Int64) throws -> Bool {
        guard let url = message.statusCallback, message.statusCallbackEvents.includes(message.status) else {
            return false
        }
        let payload = Payload(
            messageId: message.id, accountId: message.accountID, status: message.status.rawValue, to: message.to,
            from: message.from, errorCode: message.errorCode, errorMessage: message.errorMessage,
            timestamp: Timestamp.string(message.updatedAt) ?? "")
        try db.cachedStatement(
            sql: """
                INSERT INTO callbacks (account_id, message_id, url, receiver, payload, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [
            message.accountID, message.id, url, Self.receiver(ofURL: url), Data(payload.json), now, now,
        ])
        return true
    }

    /// The receiver a callback URL goes to, as its slots are counted: `host:port` with the host in
    /// lower case and the scheme's port when none is written (`example.com:443`).
    static func receiver(ofURL text: String) -> String {
        guard let url = URL(string: text), let host = CallbackTargetPolicy.host(ofURL: text) else { return "" }
        let port = url.port ?? (url.scheme?.lowercased() == "https" ? 443 : 80)
        return "\(CallbackTargetPolicy.normalized(host)):\(port)"
    }

    func wake() { wakeups.push(()) }

    public func run() async throws {
        let transport = CallbackTransport(policy: policy, settings: settings)
        try? await fillInReceivers()
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                var slots = CallbackSlots(limits: self.settings.limits)
                var lastSweep = ContinuousClock.now
                var lastPassOver = ContinuousClock.now - Self.passOverInterval
                // The oldest due callbacks all wait for full receivers or accounts: looking at them
                // again is pointless until a slot is given back.
                var headWaits = false
                var storeRetry = WriteRetry()
                while !Task.isCancelled {
                    self.wakeups.drain()
                    if storeRetry.isDue {
                        let held = slots.count
                        let stored = await self.storeFinished(releasing: &slots)
                        storeRetry.record(success: stored)
                        if slots.count < held { headWaits = false }
                    }
                    // Claims slots for due callbacks until none is due or no slot is free. A pass
                    // at least every `passOverInterval` leaves out receivers and accounts at their
                    // limit, so their backlog never hides other receivers' callbacks for longer.
                    while !slots.isFull, !Task.isCancelled {
                        let limited = slots.hasFullReceiverOrAccount
                        let passOver = limited && ContinuousClock.now - lastPassOver >= Self.passOverInterval
                        if passOver { lastPassOver = .now }
                        if limited, !passOver, headWaits { break }
                        guard let due = try? await self.fetchDue(excluding: slots, passingOverFull: passOver),
                            !due.isEmpty
                        else { break }
                        var claimed = 0
                        for item in due where slots.claim(id: item.id, receiver: item.receiver, account: item.accountID)
                        {
                            claimed += 1
                            group.addTask {
                                let outcome = await self.attempt(item, with: transport)
                                self.finished.withLock { $0.append((item.id, outcome)) }
                                self.wake()
                            }
                        }
                        // Without passing over, the callbacks left unclaimed are the oldest due
                        // and would head the next fetch again.
                        if claimed < due.count, !passOver {
                            headWaits = true
                            break
                        }
                        if claimed == 0 || due.count < Self.batchSize { break }
                    }
                    if ContinuousClock.now - lastSweep > .seconds(30) {
                        lastSweep = .now
                        await transport.closeIdle()
                        try? await WebhookSecrets.dropExpired(writer: self.writer, now: self.clock.now().epochMillis)
                    }
                    // Sleeps until a new callback, an ended attempt, or retries that may have fallen due.
                    await self.wakeups.wait(timeout: .milliseconds(min(250, self.settings.retryBaseMs)))
                }
            }
        }
        await transport.shutdown()
    }

    private static let batchSize = 64

    /// How often a fetch passes over the backlog of receivers and accounts at their limit to reach
    /// the callbacks behind it; in between, fetches look at the oldest due callbacks only.
    ///
    /// Rationale: a fetch that leaves out a full receiver walks every one of its due callbacks
    /// before it finds another's, and with one busy receiver that is the whole backlog. Done at
    /// every wake-up (each answered callback and each new one), `fetchDue` was 38% of the daemon's
    /// samples in the HTTP benchmark's scenario C (`perf record`; then also scanning the whole
    /// table, see `dueSQL`) and callbacks went out at about 1,400/s while thousands waited; passing
    /// over at most every 100 ms took it to 16%, and with the index and `headWaits` it is 9%
    /// (docs/benchmarks.md, sixth round). Other receivers' callbacks now wait behind a busy one for
    /// at most this long or until the deliverer's next wake-up (250 ms at most).
    static let passOverInterval = Duration.milliseconds(100)

    private struct Due: Sendable {
        var id: Int64
        var accountID: String
        var url: String
        var receiver: String
        var payload: Data
        /// The current secret first, then a rotated-out one still in its overlap window.
        var secrets: [String]
    }

    /// Up to `batchSize` due callbacks, oldest first, leaving out those in flight and, when
    /// `passingOverFull`, those whose receiver or account is at its limit (see `passOverInterval`).
    ///
    /// The lists to leave out are bound as JSON arrays (`json_each`), so the statement's text never
    /// changes and it comes from the statement cache: built with a `NOT IN (?, ?, …)` of the moment's
    /// length, preparing it took 7% of the daemon's CPU and re-preparing another 3% while callbacks
    /// went out at 660/s (docs/benchmarks.md, SMPP).
    private func fetchDue(excluding slots: CallbackSlots, passingOverFull: Bool) async throws -> [Due] {
        let now = clock.now().epochMillis
        let arguments: StatementArguments = [
            now, now, Self.jsonArray(slots.inFlightIDs),
            passingOverFull ? Self.jsonArray(slots.fullReceivers) : "[]",
            passingOverFull ? Self.jsonArray(slots.fullAccounts) : "[]", Self.batchSize,
        ]
        return try await writer.pool.read { db in
            try Row.fetchAll(db.cachedStatement(sql: Self.dueSQL), arguments: arguments).map {
                let previous: String? = $0["previous"]
                return Due(
                    id: $0["id"], accountID: $0["account_id"], url: $0["url"],
                    receiver: ($0["receiver"] as String?) ?? "",
                    payload: $0["payload"],
                    secrets: [$0["webhook_secret"]] + [previous].compactMap { $0 })
            }
        }
    }

    /// `state = 'pending'` is written out, not bound: SQLite uses the partial index `callbacks_due`
    /// only when the query's own text implies the index's `WHERE`. With the state bound as a
    /// parameter every fetch scanned the whole table, answered callbacks included, and sorted it
    /// (`EXPLAIN QUERY PLAN`: `SCAN c`, `USE TEMP B-TREE FOR ORDER BY`), so fetching grew slower
    /// with every callback ever sent.
    package static let dueSQL = """
        SELECT c.id, c.account_id, c.url, c.receiver, c.payload, a.webhook_secret,
            CASE WHEN a.webhook_secret_previous_until > ? THEN a.webhook_secret_previous END AS previous
        FROM callbacks c JOIN accounts a ON a.id = c.account_id
        WHERE c.state = 'pending' AND c.next_attempt_at <= ?
            AND c.id NOT IN (SELECT value FROM json_each(?))
            AND c.receiver NOT IN (SELECT value FROM json_each(?))
            AND c.account_id NOT IN (SELECT value FROM json_each(?))
        ORDER BY c.next_attempt_at, c.id LIMIT ?
        """

    /// `values` as a JSON array, for `json_each`.
    private static func jsonArray<Value: Encodable>(_ values: [Value]) -> String {
        guard !values.isEmpty, let data = try? JSONEncoder().encode(values) else { return "[]" }
        return String(decoding: data, as: UTF8.self)
    }

    /// Ids as a JSON array, for `json_each`, without an encoder: there are up to `max_concurrency`
    /// of them at every fetch.
    private static func jsonArray(_ ids: [Int64]) -> String {
        "[" + ids.map(String.init).joined(separator: ",") + "]"
    }

    /// Stores the outcomes of ended attempts in one transaction, then gives their slots back
    /// (not before: a slot given back first would let the callback be picked up again as due).
    ///
    /// When the write fails (a full disk), the outcomes are kept and their slots stay held, so the
    /// callbacks are not attempted again until what happened to them is recorded: neither the
    /// backoff nor `max_attempts` can be bypassed by a failing write. Returns false then; the caller
    /// tries again with backoff.
    private func storeFinished(releasing slots: inout CallbackSlots) async -> Bool {
        let ended = finished.withLock { finished in
            defer { finished.removeAll() }
            return finished
        }
        guard !ended.isEmpty else { return true }
        let settings = self.settings
        let finishedAt = clock.now().epochMillis
        let stored: Bool
        do {
            try await writer.write { db in
                for (id, outcome) in ended {
                    switch outcome {
                    case .cancelled:
                        continue
                    case .delivered:
                        try db.cachedStatement(
                            sql:
                                "UPDATE callbacks SET attempts = attempts + 1, state = ?, last_error = NULL WHERE id = ?"
                        ).execute(arguments: [CallbackState.delivered.rawValue, id])
                    case .refused:
                        try db.cachedStatement(
                            sql: "UPDATE callbacks SET attempts = attempts + 1, state = ?, last_error = ? WHERE id = ?"
                        ).execute(arguments: [CallbackState.failed.rawValue, outcome.reason, id])
                    case .failed, .timedOut:
                        try db.cachedStatement(
                            sql: """
                                UPDATE callbacks SET attempts = attempts + 1,
                                    state = CASE WHEN attempts + 1 >= ? THEN ? ELSE ? END,
                                    next_attempt_at = ? + min(? << min(attempts, 20), 3600000), last_error = ?
                                WHERE id = ?
                                """
                        ).execute(arguments: [
                            settings.maxAttempts, CallbackState.failed.rawValue, CallbackState.pending.rawValue,
                            finishedAt, settings.retryBaseMs, outcome.reason, id,
                        ])
                    }
                    try Self.dropHeldText(db, callbackID: id)
                }
            }
            stored = true
        } catch {
            logger.error(
                "status callback outcomes not stored; kept and stored again with backoff",
                metadata: ["error": "\(error)", "count": "\(ended.count)"])
            stored = false
        }
        guard stored else {
            finished.withLock { $0.insert(contentsOf: ended, at: 0) }
            return false
        }
        for (id, outcome) in ended {
            slots.release(id: id)
            guard outcome != .cancelled else { continue }
            metrics?.attemptFinished(outcome.kind)
        }
        return true
    }

    /// Sets `receiver` on callbacks queued before the column existed, so their receiver's limit
    /// applies to them too.
    private func fillInReceivers() async throws {
        try await writer.write { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT id, url FROM callbacks WHERE receiver IS NULL AND state = ?",
                arguments: [CallbackState.pending.rawValue])
            for row in rows {
                let url: String = row["url"]
                try db.execute(
                    sql: "UPDATE callbacks SET receiver = ? WHERE id = ?",
                    arguments: [Self.receiver(ofURL: url), row["id"] as Int64])
            }
        }
    }

    /// The `Switchboard-Signature` value: `t=<timestamp>`, then one `v1=<hex>` per secret, in the
    /// order given (current first). HMAC-SHA256 over `"<t>." + body`, keyed with the secret's UTF-8.
    package static func signature(secrets: [String], timestamp: Int64, body: Data) -> String {
        var value = "t=\(timestamp)"
        for secret in secrets {
            var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
            hmac.update(data: Data("\(timestamp).".utf8))
            hmac.update(data: body)
            value += ",v1=" + Data(hmac.finalize()).hexString
        }
        return value
    }

    /// One attempt; a refused target is logged here (by kind only: the URL is the customer's).
    private func attempt(_ item: Due, with transport: CallbackTransport) async -> CallbackAttemptOutcome {
        let timestamp = Int64(clock.now().timeIntervalSince1970)
        let outcome = await transport.post(
            url: item.url,
            headers: [
                ("Content-Type", "application/json"), ("User-Agent", "Switchboard-Callbacks/1"),
                (
                    "Switchboard-Signature",
                    Self.signature(secrets: item.secrets, timestamp: timestamp, body: item.payload)
                ),
            ],
            body: item.payload)
        if case .refused(let refusal) = outcome {
            logger.warning(
                "callback refused: callbacks may not reach its target",
                metadata: [
                    "callback.id": "\(item.id)", "account.id": "\(item.accountID)", "target.kind": "\(refusal.kind)",
                ])
        }
        return outcome
    }
}

/// Where a status callback stands (`callbacks.state`; a new row starts `pending`).
enum CallbackState: String, Sendable {
    /// Not yet answered with a 2xx; retried with backoff until `max_attempts`.
    case pending
    /// The receiver answered 2xx.
    case delivered
    /// Every attempt failed.
    case failed
}
