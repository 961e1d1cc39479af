import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// Operator commands that talk to the running daemon over its admin API (`/v1/admin/...`), at the
/// endpoint `DaemonOptions` resolves, with the operator token from `SWITCHBOARD_OPERATOR_TOKEN`, the
/// configuration's `operator_token` or `<data_dir>/secrets/operator-token`.
struct DaemonClient {
    let config: ServeConfiguration
    let endpoint: DaemonEndpoint
    var environment = ProcessInfo.processInfo.environment

    /// Sends the request and returns the decoded JSON object of a `2xx` answer.
    ///
    /// - Parameters:
    ///   - path: the admin path, starting with `/` (`/v1/admin/addons`).
    ///   - timeout: how long to wait for the whole answer.
    /// - Throws: `DaemonClientError` when there is no operator token, no daemon answers at the
    ///   endpoint, the daemon refuses the token (`401`), or answers anything else but `2xx` (with its
    ///   RFC 9457 problem document when it sent one).
    func call(_ method: HTTPMethod, _ path: String, timeout: TimeAmount = .seconds(5)) async throws -> [String: Any] {
        let (token, tokenSource) = try operatorToken()
        let url = endpoint.baseURL + path
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        // One request from a command line: a refused connection is the answer, not something to
        // retry with backoff until the deadline (AsyncHTTPClient's default).
        var settings = HTTPClient.Configuration()
        settings.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
        let answer: Result<(HTTPClientResponse, ByteBuffer), any Error>
        do {
            let response = try await client.execute(request, timeout: timeout)
            answer = .success((response, try await response.body.collect(upTo: 1 << 20)))
        } catch {
            answer = .failure(error)
        }
        try? await client.shutdown()
        let response: HTTPClientResponse
        let body: ByteBuffer
        switch answer {
        case .success(let received): (response, body) = received
        case .failure(let error):
            throw DaemonClientError.unreachable(endpoint, cause: Self.describe(error, timeout: timeout))
        }
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
        let status = Int(response.status.code)
        if (200..<300).contains(status), let json { return json }
        let problem =
            response.headers.first(name: "Content-Type")?.hasPrefix("application/problem+json") == true
            ? json : nil
        if status == 401 {
            throw DaemonClientError.tokenRefused(
                endpoint, tokenSource: tokenSource, title: problem?["title"] as? String)
        }
        throw DaemonClientError.answered(endpoint, method: method, path: path, status: status, problem: problem)
    }

    /// The operator token and where it came from: `SWITCHBOARD_OPERATOR_TOKEN`, the configuration
    /// file's `operator_token`, or the data directory's `secrets/operator-token`.
    func operatorToken() throws -> (token: String, source: String) {
        if let configured = config.operatorToken {
            let fromEnvironment = environment["SWITCHBOARD_OPERATOR_TOKEN"].map { !$0.isEmpty } ?? false
            return (configured, fromEnvironment ? "SWITCHBOARD_OPERATOR_TOKEN" : "operator_token in --config")
        }
        let file = URL(fileURLWithPath: config.dataDir).appendingPathComponent("secrets/operator-token")
        do {
            let token = try String(contentsOf: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            guard !token.isEmpty else { throw CocoaError(.fileReadCorruptFile) }
            return (token, file.path)
        } catch {
            throw DaemonClientError.noToken(file: file.path)
        }
    }

    private static func describe(_ error: any Error, timeout: TimeAmount) -> String {
        if let error = error as? HTTPClientError, error == .deadlineExceeded || error == .readTimeout {
            return "no answer within \(timeout.nanoseconds / 1_000_000_000) s"
        }
        if let error = error as? IOError, error.errnoCode == ECONNREFUSED { return "connection refused" }
        // Something listens there but does not speak HTTP: the SMPP port is the usual mix-up.
        if error is HTTPParserError {
            return "something answered, but not in HTTP (\(error)): if that is the SMPP port, give the HTTP one"
        }
        if let error = error as? HTTPClientError, error == .connectTimeout {
            return "the connection was not accepted in time"
        }
        return "\(error)"
    }
}

/// Why a command could not get its answer from the running daemon. Each message names the URL and
/// where it came from, and what to change.
struct DaemonClientError: Error, CustomStringConvertible {
    var description: String

    static func unreachable(_ endpoint: DaemonEndpoint, cause: String) -> Self {
        Self(
            description: """
                no daemon answers at \(endpoint.baseURL) (\(cause)); the URL came from \(endpoint.source).
                Start it with `switchboard serve`, or point at the running one with --url http://HOST:PORT \
                (or --host/--port, or SWITCHBOARD_URL), or give the --data-dir it runs on.
                """)
    }

    static func noToken(file: String) -> Self {
        Self(
            description: """
                no operator token: \(file) cannot be read. Give the daemon's --data-dir or --config, \
                or set SWITCHBOARD_OPERATOR_TOKEN to the daemon's operator token.
                """)
    }

    static func tokenRefused(_ endpoint: DaemonEndpoint, tokenSource: String, title: String?) -> Self {
        Self(
            description: """
                the daemon at \(endpoint.baseURL) refused the operator token from \(tokenSource) (401\
                \(title.map { " \($0)" } ?? "")).
                Use that daemon's token: SWITCHBOARD_OPERATOR_TOKEN, operator_token in its --config, or its \
                data directory's secrets/operator-token (--data-dir).
                """)
    }

    static func answered(
        _ endpoint: DaemonEndpoint, method: HTTPMethod, path: String, status: Int, problem: [String: Any]?
    ) -> Self {
        guard let problem else {
            return Self(
                description: """
                    \(method.rawValue) \(endpoint.baseURL)\(path) answered HTTP \(status) without a problem \
                    document; is \(endpoint.baseURL) (from \(endpoint.source)) a Switchboard daemon?
                    """)
        }
        var text =
            "\(method.rawValue) \(endpoint.baseURL)\(path): the daemon answered \(status) \(problem["title"] as? String ?? "")"
        if let detail = problem["detail"] as? String { text += ": \(detail)" }
        for error in problem["errors"] as? [[String: Any]] ?? [] {
            text += "\n  \(error["field"] ?? "?"): \(error["message"] ?? "")"
        }
        return Self(description: text)
    }
}
