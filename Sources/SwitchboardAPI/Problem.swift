import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// An RFC 9457 problem: every error the API returns is one of these, as `application/problem+json`.
public struct Problem: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    public var errors: [FieldError]
    public var retryAfterSeconds: Int?
    /// Extension members of the problem (RFC 9457 section 3.2), e.g. the add-on that blocked a send.
    public var extra: [String: String]

    public init(
        _ status: HTTPResponse.Status, _ title: String, detail: String, errors: [FieldError] = [],
        retryAfterSeconds: Int? = nil, extra: [String: String] = [:]
    ) {
        self.status = status
        self.title = title
        self.detail = detail
        self.errors = errors
        self.retryAfterSeconds = retryAfterSeconds
        self.extra = extra
    }

    public static func invalid(_ errors: [FieldError]) -> Problem {
        let detail = errors.map { "\($0.field): \($0.message)" }.joined(separator: "; ")
        return Problem(.unprocessableContent, "Invalid request", detail: detail, errors: errors)
    }

    public static func invalid(_ field: String, _ message: String) -> Problem {
        invalid([FieldError(field, message)])
    }

    public static func notFound(_ what: String) -> Problem {
        Problem(.notFound, "Not found", detail: "\(what) does not exist or belongs to another account.")
    }

    /// An operator's request names an account that does not exist (operators see every account).
    public static func noSuchAccount(_ id: String) -> Problem {
        Problem(.notFound, "Not found", detail: "account \(id) does not exist; GET /v1/admin/accounts lists them.")
    }

    public static let unauthorized = Problem(
        .unauthorized, "Authentication required",
        detail: "Send HTTP Basic credentials: your account id as the user name and an API key as the password."
    )

    private struct Body: Encodable {
        var type: String
        var title: String
        var status: Int
        var detail: String
        var errors: [FieldError]?
        var extra: [String: String]

        enum CodingKeys: String, CodingKey { case type, title, status, detail, errors }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(type, forKey: .type)
            try container.encode(title, forKey: .title)
            try container.encode(status, forKey: .status)
            try container.encode(detail, forKey: .detail)
            try container.encodeIfPresent(errors, forKey: .errors)
            var members = encoder.container(keyedBy: AnyKey.self)
            for (key, value) in extra { try members.encode(value, forKey: AnyKey(key)) }
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(
            type: "about:blank", title: title, status: Int(status.code), detail: detail,
            errors: errors.isEmpty ? nil : errors, extra: extra)
        var headers = HTTPFields()
        headers[.contentType] = "application/problem+json"
        if let retryAfterSeconds { headers[.retryAfter] = String(retryAfterSeconds) }
        if status == .unauthorized { headers[.wwwAuthenticate] = "Basic realm=\"switchboard\"" }
        let data = try JSONEncoder().encode(body)
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
