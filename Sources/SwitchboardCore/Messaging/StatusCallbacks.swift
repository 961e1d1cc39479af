import AsyncHTTPClient
import Crypto
import Foundation
import GRDB
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle

/// Settings for POSTing status changes to a message's `status_callback`.
public struct CallbackSettings: Sendable, Codable, Equatable {
    /// Delay before the first retry; doubles with each further attempt, up to an hour.
    public var retryBaseMs: Int = 1000
    public var maxAttempts: Int = 10
    public var timeoutMs: Int = 5000

    public init() {}

    enum CodingKeys: String, CodingKey {
        case retryBaseMs = "retry_base_ms"
        case maxAttempts = "max_attempts"
        case timeoutMs = "timeout_ms"
    }
}

/// The durable queue of status callbacks (the `callbacks` table) and the service that delivers it.
///
/// Each request carries `Switchboard-Signature: t=<unix seconds>,v1=<hex>`, where `v1` is
/// HMAC-SHA256 over `"<t>." + body` keyed with the account's webhook signing secret.
public final class StatusCallbackQueue: Service {
    private let writer: GroupCommitWriter
    private let clock: any WallClock
    private let settings: CallbackSettings
    private let logger: Logger
    private let wakeups = BatchQueue<Void>()

    package init(writer: GroupCommitWriter, clock: any WallClock, settings: CallbackSettings, logger: Logger) {
        self.writer = writer
        self.clock = clock
        self.settings = settings
        self.logger = logger
    }

    package struct Payload: Encodable {
        var messageId: String
        var accountId: String
        var status: String
        var to: String
        var from: String
        var errorCode: Int?
        var errorMessage: String?
        var timestamp: String

        enum CodingKeys: String, CodingKey {
            case messageId = "message_id", accountId = "account_id", status, to, from
            case errorCode = "error_code", errorMessage = "error_message", timestamp
        }

        /// What a sorted-keys `JSONEncoder` writes, without one (two callbacks per message).
        package var json: [UInt8] {
            var writer = JSONWriter()
            writer.field("account_id", accountId)
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
                INSERT INTO callbacks (account_id, message_id, url, payload, next_attempt_at, created_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """
        ).execute(arguments: [message.accountID, message.id, url, Data(payload.json), now, now])
        return true
    }

    func wake() { wakeups.push(()) }

    public func run() async throws {
        let client = Self.makeClient(settings)
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let delivered = (try? await self.deliverDue(with: client)) ?? 0
                if delivered == 0 {
                    // Nothing due: sleep until woken by a new callback or until retries may have fallen due.
                    await self.wakeups.wait(timeout: .milliseconds(min(250, self.settings.retryBaseMs)))
                    self.wakeups.drain()
                }
            }
        }
        try? await client.shutdown()
    }

    /// A client of the sender's own rather than the shared browser-like one: a webhook's redirect
    /// is not followed (it counts as a failed attempt), answers are not decompressed (their bodies
    /// are ignored), and requests carry no tracing span. Up to 16 connections per receiver.
    static func makeClient(_ settings: CallbackSettings) -> HTTPClient {
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMs))
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 16),
            decompression: .disabled)
        configuration.tracing.tracer = nil
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    private struct Due: Sendable {
        var id: Int64
        var url: String
        var payload: Data
        var attempts: Int
        var secret: String
    }

    /// Sends one batch of due callbacks; returns how many were attempted.
    func deliverDue(with client: HTTPClient) async throws -> Int {
        let now = clock.now().epochMillis
        let due = try await writer.pool.read { db in
            try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT c.id, c.url, c.payload, c.attempts, a.webhook_secret FROM callbacks c
                        JOIN accounts a ON a.id = c.account_id
                        WHERE c.state = ? AND c.next_attempt_at <= ? ORDER BY c.next_attempt_at, c.id LIMIT 64
                        """), arguments: [CallbackState.pending.rawValue, now]
            ).map {
                Due(
                    id: $0["id"], url: $0["url"], payload: $0["payload"], attempts: $0["attempts"],
                    secret: $0["webhook_secret"])
            }
        }
        guard !due.isEmpty else { return 0 }
        let outcomes = await withTaskGroup(of: (Int64, String?).self) { group in
            for item in due {
                group.addTask { (item.id, await self.post(item, with: client)) }
            }
            var outcomes: [(Int64, String?)] = []
            for await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let attemptsByID = Dictionary(uniqueKeysWithValues: due.map { ($0.id, $0.attempts) })
        let settings = self.settings
        let finishedAt = clock.now().epochMillis
        try await writer.write { db in
            for (id, failure) in outcomes {
                let attempts = (attemptsByID[id] ?? 0) + 1
                if let failure {
                    let exhausted = attempts >= settings.maxAttempts
                    let backoff = min(Int64(settings.retryBaseMs) << Int64(min(attempts - 1, 20)), 3_600_000)
                    try db.cachedStatement(
                        sql:
                            "UPDATE callbacks SET attempts = ?, state = ?, next_attempt_at = ?, last_error = ? WHERE id = ?"
                    ).execute(arguments: [
                        attempts, (exhausted ? CallbackState.failed : .pending).rawValue, finishedAt + backoff, failure,
                        id,
                    ])
                } else {
                    try db.cachedStatement(
                        sql: "UPDATE callbacks SET attempts = ?, state = ?, last_error = NULL WHERE id = ?"
                    ).execute(arguments: [attempts, CallbackState.delivered.rawValue, id])
                }
            }
        }
        return due.count
    }

    static func signature(secret: String, timestamp: Int64, body: Data) -> String {
        var hmac = HMAC<SHA256>(key: SymmetricKey(data: Data(secret.utf8)))
        hmac.update(data: Data("\(timestamp).".utf8))
        hmac.update(data: body)
        return "t=\(timestamp),v1=" + Data(hmac.finalize()).hexString
    }

    /// POSTs one callback; nil on a 2xx answer, otherwise why it failed.
    private func post(_ item: Due, with client: HTTPClient) async -> String? {
        var request = HTTPClientRequest(url: item.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "Switchboard-Callbacks/1")
        let timestamp = Int64(clock.now().timeIntervalSince1970)
        request.headers.add(
            name: "Switchboard-Signature",
            value: Self.signature(secret: item.secret, timestamp: timestamp, body: item.payload))
        request.body = .bytes(ByteBuffer(bytes: item.payload))
        do {
            let response = try await client.execute(request, timeout: .milliseconds(Int64(settings.timeoutMs)))
            _ = try? await response.body.collect(upTo: 64 * 1024)
            if (200..<300).contains(response.status.code) { return nil }
            return "HTTP \(response.status.code)"
        } catch {
            return "\(error)"
        }
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
