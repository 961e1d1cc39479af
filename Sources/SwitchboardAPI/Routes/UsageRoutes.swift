import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Per-day usage and the account's own API activity log.
struct UsageRoutes {
    let services: HostServices

    func add(to group: RouterGroup<AppContext>) {
        group.get("usage", use: daily)
        group.get("usage/requests", use: requests)
    }

    struct DayView: Encodable {
        var date: String
        var messages: [String: Int]
        var segments: [String: Int]
    }

    struct Daily: Encodable {
        var from: String
        var to: String
        var days: [DayView]
    }

    static func isDay(_ text: String) -> Bool { Timestamp.isDay(text) }

    @Sendable func daily(_ request: Request, context: AppContext) async throws -> Response {
        let today = String(Timestamp.string(services.usage.clock.now()).prefix(10))
        let hint = "must be a date as YYYY-MM-DD, e.g. 2026-01-31"
        var parameters = request.queryInput()
        let to = parameters.value("to", hint: hint) { Self.isDay($0) ? $0 : nil } ?? today
        let from =
            parameters.value("from", hint: hint) { Self.isDay($0) ? $0 : nil }
            ?? String(Timestamp.string(services.usage.clock.now().addingTimeInterval(-29 * 86_400)).prefix(10))
        try parameters.finish()
        if from > to { throw Problem.invalid("from", "must not be after to (\(to))") }
        let days = try await services.usage.daily(accountID: try context.accountID(), from: from, to: to)
        return try JSONResponse.make(
            Daily(
                from: from, to: to,
                days: days.map { DayView(date: $0.date, messages: $0.messages, segments: $0.segments) }))
    }

    struct RequestView: Encodable {
        var at: String?
        var method: String
        var path: String
        var status: Int
        var latencyMs: Double
        var ip: String?
    }

    @Sendable func requests(_ request: Request, context: AppContext) async throws -> Response {
        var parameters = request.queryInput()
        let limit = parameters.limit()
        let before = parameters.value("cursor", hint: "must be a next_cursor value from an earlier page") {
            Cursor.sequence($0)
        }
        let accountID = try context.accountID()
        if let before, !(try await services.usage.isPosition(before, accountID: accountID)) {
            parameters.fail("cursor", "must be a next_cursor value from an earlier page")
        }
        try parameters.finish()
        let rows = try await services.usage.requests(accountID: accountID, beforeID: before, limit: limit)
        let next = rows.count == limit ? rows.last.map { Cursor.encode(String($0.id)) } : nil
        let views = rows.map {
            RequestView(
                at: Timestamp.string($0.at), method: $0.method, path: $0.path, status: $0.status,
                latencyMs: Double($0.latencyMicros) / 1000, ip: $0.ip)
        }
        return try JSONResponse.make(Page(data: views, nextCursor: next))
    }
}
