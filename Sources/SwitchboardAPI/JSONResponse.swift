import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// JSON output with snake_case keys, the one encoder all routes share.
enum JSONResponse {
    static func make<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        let encoder = SnakeCaseJSON.encoder()
        let data = try encoder.encode(value)
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A JSON body written without `JSONEncoder` (see `JSONWriter`).
    static func make(json: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    static func noContent() -> Response { Response(status: .noContent) }
}

extension Request {
    /// The body, refused with 413 when larger than `limit.maxBytes`.
    func collectBody(limit: BodyLimits) async throws -> ByteBuffer {
        do {
            return try await body.collect(upTo: limit.maxBytes)
        } catch {
            throw Problem(
                .contentTooLarge, "Request body too large",
                detail:
                    "The body must be at most \(limit.maxBytes) bytes; split the request or ask the operator to raise max_body_bytes."
            )
        }
    }

    func jsonInput(limit: BodyLimits, allowed: Set<String>) async throws -> JSONInput {
        try JSONInput(bytes: try await collectBody(limit: limit), allowed: allowed)
    }

    /// A query parameter checked against a parser; a bad value is a 422 naming the parameter. A route
    /// that reads several parameters uses `queryInput()` instead, so that one 422 names every bad one.
    func query<T>(_ name: String, hint: String, _ parse: (String) -> T?) throws -> T? {
        var parameters = queryInput()
        let value = parameters.value(name, hint: hint, parse)
        try parameters.finish()
        return value
    }

    func limitParameter(default value: Int = 50, max: Int = 200) throws -> Int {
        try query("limit", hint: "must be a whole number from 1 to \(max)") {
            Int($0).flatMap { (1...max).contains($0) ? $0 : nil }
        }
            ?? value
    }
}

/// Opaque pagination cursors: callers pass back what they were given.
///
/// A cursor the server cannot have given is refused (`422 cursor: must be a next_cursor value…`),
/// never read as a position: a damaged or made-up one would otherwise answer an empty page with no
/// `next_cursor`, which a client takes for the end of the list.
enum Cursor {
    static func encode(_ value: String) -> String { Data(value.utf8).base64URLEncoded() }

    /// The value `encode` turned into `text`; nil for text it cannot have made (not base64url
    /// without padding, not UTF-8, or not the form `encode` writes).
    static func decode(_ text: String) -> String? {
        guard !text.isEmpty, text.count % 4 != 1 else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let value = String(validating: data, as: UTF8.self),
            encode(value) == text
        else { return nil }
        return value
    }

    /// A position in a list ordered by sequence or row id: a whole number from 1.
    static func sequence(_ text: String) -> Int64? {
        decode(text).flatMap { Int64($0) }.flatMap { $0 > 0 ? $0 : nil }
    }

    /// A position in a list ordered by id: an id with `prefix` (`con_`, `acc_`), as `Identifier` makes.
    static func identifier(_ prefix: String) -> @Sendable (String) -> String? {
        { text in
            decode(text).flatMap { id in
                id.hasPrefix(prefix) && id.count > prefix.count
                    && id.utf8.dropFirst(prefix.utf8.count).allSatisfy { byte in
                        byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
                            || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                            || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                            || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                    } ? id : nil
            }
        }
    }
}
