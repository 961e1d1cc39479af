import Foundation
import GRDB
import SwitchboardCore
import SwitchboardDaemon
import Testing

/// A database that refuses writes, as a full disk makes it: SQLite's own `SQLITE_FULL`, raised by
/// capping the writer connection's `max_page_count` at the file's current size (no page can be
/// added), and lifted again as if space had been freed.
struct FullDisk {
    let pool: DatabasePool

    func fill() async throws {
        try await pool.writeWithoutTransaction { db in
            let pages = try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 1
            try db.execute(sql: "PRAGMA max_page_count = \(pages)")
        }
    }

    func free() async throws {
        try await pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA max_page_count = 1073741823") }
    }
}

@Suite struct StorageFaultTests {
    /// While the disk is full, new work is refused with a problem that says why and when to retry;
    /// what was accepted before is recorded once space is freed, without a restart, and each of its
    /// status callbacks is attempted once: an outcome that could not be stored holds the callback
    /// back instead of letting it be sent again and again.
    @Test func aFullDiskAnswers503AndAcceptedWorkFinishesOnceSpaceIsFreed() async throws {
        try await CallbackReceiver.serving(delay: .milliseconds(800)) { receiver, port in
            try await withDaemon(configure: { $0.simulator.latencyMs = 1500 }) { daemon in
                let disk = FullDisk(pool: daemon.daemon.messages.writer.pool)
                let (_, client) = try await daemon.signUp()
                var accepted: [String] = []
                for _ in 0..<5 {
                    let sent = try await client.send(callback: "http://127.0.0.1:\(port)/status")
                    #expect(sent.status == 201)
                    accepted.append(try #require(sent.json["id"] as? String))
                }
                // The `sent` callbacks are in flight at the receiver when the disk fills.
                #expect(try await eventually { receiver.attempts.withLock { $0 } >= 1 })
                try await disk.fill()

                var refused: TestClient.Response?
                for _ in 0..<500 {
                    let sent = try await client.send()
                    if sent.status == 201 {
                        accepted.append(try #require(sent.json["id"] as? String))
                        continue
                    }
                    refused = sent
                    break
                }
                let problem = try #require(refused)
                #expect(problem.status == 503)
                #expect(problem.contentType == "application/problem+json")
                #expect(problem.headers.first(name: "Retry-After") == "30")
                #expect(problem.json["cause"] as? String == "disk_full")
                #expect((problem.json["detail"] as? String)?.contains("the disk is full") == true)
                // An account row may still fit in a page the file has; a few sign-ups fill it.
                var signUp: TestClient.Response?
                for _ in 0..<15 {
                    let answer = try await daemon.client.post(
                        "/v1/accounts",
                        json: [
                            "name": "Bo", "email": "bo-\(UUID().uuidString.prefix(6))@example.com",
                            "password": "plum-harbor-violet-42",
                        ])
                    signUp = answer
                    if answer.status != 201 { break }
                }
                #expect(signUp?.status == 503)
                #expect(signUp?.json["cause"] as? String == "disk_full")

                // Reports arrive while the disk is full: they cannot be recorded and are retried.
                try await Task.sleep(for: .seconds(3))
                let withCallbacks = 5
                let whileFull = receiver.received.withLock { Self.statuses($0) }
                #expect(
                    Set(whileFull).count == whileFull.count,
                    "callbacks whose outcome could not be stored were sent again: \(whileFull.sorted())")
                #expect(
                    try await eventually(seconds: 20) {
                        let metrics = try await daemon.client.get("/metrics").text
                        let retries = metrics.split(separator: "\n").first {
                            $0.hasPrefix("switchboard_storage_write_retries_total{work=\"delivery_reports\"} ")
                        }
                        return (retries?.split(separator: " ").last).flatMap { Int($0) } ?? 0 > 0
                    }, "no retry of a delivery report was counted")
                #expect(
                    daemon.logs.contains("could not record delivery reports; retrying with backoff", atLeast: .error))

                try await disk.free()
                for id in accepted {
                    #expect(
                        try await eventually(seconds: 30) {
                            try await client.get("/v1/messages/\(id)").json["status"] as? String == "delivered"
                        }, "message \(id) did not reach delivered without a restart")
                }
                #expect(
                    try await eventually(seconds: 30) { receiver.received.withLock { $0.count } >= 2 * withCallbacks })
                try await Task.sleep(for: .seconds(1))
                #expect(receiver.attempts.withLock { $0 } == receiver.received.withLock { $0.count })
                let statuses = receiver.received.withLock { Self.statuses($0) }
                #expect(Set(statuses).count == statuses.count, "a status was called back twice: \(statuses.sorted())")
            }
        }
    }

    /// `message_id/status` of each callback received.
    static func statuses(_ received: [CallbackReceiver.Received]) -> [String] {
        received.compactMap { try? JSONSerialization.jsonObject(with: $0.body) as? [String: Any] }
            .map { "\($0["message_id"] ?? "")/\($0["status"] ?? "")" }
    }

    /// A message whose submission began but whose result was never recorded (the daemon stopped in
    /// between) is not handed to the carrier again at the next start: the carrier is asked, and the
    /// message goes on from what it says. A message whose submission never began is submitted.
    @Test func aRestartReconcilesABegunSubmissionInsteadOfSubmittingItAgain() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try await TestDaemon.start(directory: directory)
        let (_, client) = try await first.signUp()
        var ids: [String] = []
        for _ in 0..<2 {
            let sent = try await client.send()
            ids.append(try #require(sent.json["id"] as? String))
        }
        for id in ids {
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(id)").json["status"] as? String == "delivered"
                })
        }
        await first.stop(removeData: false)

        let (begun, notBegun) = (ids[0], ids[1])
        // As the daemon would have left them: the first stopped after its submission began, the
        // second before it.
        let queue = try DatabaseQueue(path: directory.appendingPathComponent("switchboard.sqlite").path)
        try await queue.write { db in
            try db.execute(
                sql: """
                    UPDATE messages SET status = 'queued', sent_at = NULL, completed_at = NULL, submit_started_at = ?
                    WHERE id = ?
                    """, arguments: [Int64(Date().timeIntervalSince1970 * 1000), begun])
            try db.execute(
                sql: """
                    UPDATE messages SET status = 'queued', sent_at = NULL, completed_at = NULL, submit_started_at = NULL
                    WHERE id = ?
                    """, arguments: [notBegun])
        }
        try queue.close()

        let second = try await TestDaemon.start(directory: directory)
        let again = TestClient(baseURL: second.baseURL, basic: client.basic)
        for id in ids {
            #expect(
                try await eventually {
                    try await again.get("/v1/messages/\(id)").json["status"] as? String == "delivered"
                })
        }
        let metrics = try await second.client.get("/metrics").text
        #expect(metrics.contains("switchboard_carrier_reconciliations_total{answer=\"accepted\"} 1"))
        #expect(metrics.contains("switchboard_carrier_submissions_total{result=\"accepted\"} 1"))
        await second.stop()
    }
}
