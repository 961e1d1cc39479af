import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A small HTTP client for talking to the daemon: over loopback, or straight to its router in-process.
struct TestClient: Sendable {
    /// Sends one request somewhere other than over HTTP (the router in-process).
    typealias Transport =
        @Sendable (
            _ method: HTTPMethod, _ path: String, _ headers: HTTPHeaders, _ body: Data?
        ) async throws -> Response

    let baseURL: String
    var basic: (String, String)?
    var bearer: String?
    var transport: Transport?

    init(baseURL: String, basic: (String, String)? = nil, bearer: String? = nil, transport: Transport? = nil) {
        self.baseURL = baseURL
        self.basic = basic
        self.bearer = bearer
        self.transport = transport
    }

    /// The same client, authenticated otherwise.
    func with(basic: (String, String)? = nil, bearer: String? = nil) -> TestClient {
        TestClient(baseURL: baseURL, basic: basic, bearer: bearer, transport: transport)
    }

    struct Response: Sendable {
        let status: Int
        let headers: HTTPHeaders
        let body: Data

        var text: String { String(decoding: body, as: UTF8.self) }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
        var data: [[String: Any]] { json["data"] as? [[String: Any]] ?? [] }
        /// The field names of a problem response's `errors`.
        var errorFields: [String] { (json["errors"] as? [[String: Any]] ?? []).compactMap { $0["field"] as? String } }
        var contentType: String? { headers.first(name: "Content-Type") }
    }

    func request(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json",
        headers extra: [(String, String)] = []
    ) async throws -> Response {
        var headers = HTTPHeaders()
        if let basic {
            let token = Data("\(basic.0):\(basic.1)".utf8).base64EncodedString()
            headers.add(name: "Authorization", value: "Basic \(token)")
        }
        if let bearer { headers.add(name: "Authorization", value: "Bearer \(bearer)") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        if body != nil { headers.add(name: "Content-Type", value: contentType) }
        if let transport { return try await transport(method, path, headers, body) }
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 << 20)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(buffer: bytes))
    }

    func get(_ path: String) async throws -> Response { try await request(.GET, path) }
    func delete(_ path: String) async throws -> Response { try await request(.DELETE, path) }

    func post(_ path: String, json: [String: Any]) async throws -> Response {
        try await request(.POST, path, body: try JSONSerialization.data(withJSONObject: json))
    }

    func patch(_ path: String, json: [String: Any]) async throws -> Response {
        try await request(.PATCH, path, body: try JSONSerialization.data(withJSONObject: json))
    }

    func put(_ path: String, json: [String: Any]) async throws -> Response {
        try await request(.PUT, path, body: try JSONSerialization.data(withJSONObject: json))
    }

    func post(_ path: String, raw: String, contentType: String = "application/json") async throws -> Response {
        try await request(.POST, path, body: Data(raw.utf8), contentType: contentType)
    }

    /// Sends a message and returns its id. The default sender is an alphanumeric sender id: a number
    /// as `from` must be one the account has claimed (POST /v1/account/numbers).
    func send(
        to: String = "+37255512345", from: String = "ACME", body: String = "Hello", callback: String? = nil
    )
        async throws -> Response
    {
        var json: [String: Any] = ["to": to, "from": from, "body": body]
        if let callback { json["status_callback"] = callback }
        return try await post("/v1/messages", json: json)
    }
}
