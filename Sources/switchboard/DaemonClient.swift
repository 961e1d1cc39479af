import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// Operator commands that talk to the running daemon over its admin API, with the operator token
/// from the configuration or the data directory.
struct DaemonClient {
    let config: ServeConfiguration

    /// Sends the request and returns the HTTP status and the decoded JSON object of the answer.
    func call(_ method: HTTPMethod, _ path: String, timeout: TimeAmount = .seconds(5)) async throws -> (
        status: Int, json: [String: Any]
    ) {
        let tokenFile = URL(fileURLWithPath: config.dataDir).appendingPathComponent("secrets/operator-token").path
        let token: String
        if let configured = config.operatorToken {
            token = configured
        } else {
            do {
                token = try String(contentsOfFile: tokenFile, encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw ValidationError(
                    "cannot read the operator token at \(tokenFile); pass the daemon's --config or --data-dir, or set operator_token"
                )
            }
        }
        var request = HTTPClientRequest(url: "http://\(config.host):\(config.port)\(path)")
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        let response: HTTPClientResponse
        do {
            response = try await HTTPClient.shared.execute(request, timeout: timeout)
        } catch {
            throw ValidationError(
                "no daemon answers on \(config.host):\(config.port) (\(error)); is `switchboard serve` running with the same --config?"
            )
        }
        let body = try await response.body.collect(upTo: 1 << 20)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any] ?? [:]
        return (Int(response.status.code), json)
    }
}
