import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What one delivery attempt of a status callback came to.
package enum CallbackAttemptOutcome: Sendable, Equatable {
    /// The receiver answered 2xx.
    case delivered
    /// Another status, a connection error, or a name that did not resolve; retried with backoff.
    case failed(String)
    /// No answer within `callbacks.timeout_ms` (resolution, connection and response together); retried.
    case timedOut(milliseconds: Int)
    /// The target is one callbacks may not reach (`CallbackTargetPolicy`); not retried.
    case refused(CallbackTargetPolicy.Refusal)
    /// The daemon stopped during the attempt; the callback stays due for the next start.
    case cancelled

    /// The outcome without its details, as metrics count it.
    package var kind: CallbackAttemptKind {
        switch self {
        case .delivered: .delivered
        case .failed: .failed
        case .timedOut: .timedOut
        case .refused: .refused
        case .cancelled: .cancelled
        }
    }

    /// The reason stored in `callbacks.last_error`; nil when delivered.
    var reason: String? {
        switch self {
        case .delivered: nil
        case .failed(let reason): reason
        case .timedOut(let milliseconds): "no answer within \(milliseconds) ms"
        case .refused(let refusal): "refused: \(refusal)"
        case .cancelled: "cancelled at shutdown"
        }
    }
}

/// Callback attempt outcomes as counted; the raw value is the `outcome` label of
/// `switchboard_callback_attempts_total`.
public enum CallbackAttemptKind: String, Sendable, CaseIterable {
    case delivered
    case failed
    case timedOut = "timed_out"
    case refused
    case cancelled
}

/// Counts status callback attempts by outcome; the host implements it over its metrics registry.
public protocol CallbackMetrics: Sendable {
    /// One attempt ended so. Called from the deliverer's tasks; must not block.
    func attemptFinished(_ kind: CallbackAttemptKind)
}

/// Sends single callback attempts, each bounded in total time, and only ever to an address the
/// `CallbackTargetPolicy` checked at that moment.
///
/// A host name is resolved here, every address it has is checked, and the connection goes to the
/// first of them: the HTTP client gets a DNS override from the name to that address, so it neither
/// resolves the name again (a second answer could be a rebinding one) nor loses the name (it is
/// still the `Host` header, the TLS server name and the name the certificate is checked against).
/// One client per (name, address) pair keeps connections reusable; clients idle for a minute close.
final class CallbackTransport: Sendable {
    private let policy: CallbackTargetPolicy
    private let settings: CallbackSettings
    /// For hosts written as plain addresses, which the client connects to without resolving.
    private let direct: HTTPClient
    private let pinned = Mutex<[String: Pinned]>([:])

    private struct Pinned {
        var client: HTTPClient
        var inFlight = 0
        var lastUsed = ContinuousClock.now
    }

    init(policy: CallbackTargetPolicy, settings: CallbackSettings) {
        self.policy = policy
        self.settings = settings
        direct = Self.makeClient(settings, dnsOverride: [:])
    }

    /// A client of the sender's own rather than the shared browser-like one: a webhook's redirect
    /// is not followed (it counts as a failed attempt), answers are not decompressed (their bodies
    /// are ignored), and requests carry no tracing span. As many connections per receiver as
    /// callbacks may be in flight to it.
    static func makeClient(_ settings: CallbackSettings, dnsOverride: [String: String]) -> HTTPClient {
        let timeout = TimeAmount.milliseconds(Int64(settings.timeoutMs))
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeout, read: timeout),
            connectionPool: .init(
                idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: settings.perReceiverConcurrency),
            decompression: .disabled)
        configuration.tracing.tracer = nil
        configuration.dnsOverride = dnsOverride
        // A connection that cannot be made fails the attempt at once, with its reason (a refused
        // port, a certificate that does not verify) in `last_error`: the queue has its own backoff,
        // and the client's own retries until `timeout_ms` only turned every such reason into a timeout.
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }

    /// POSTs `body` to `url` once, within `callbacks.timeout_ms` in all (name resolution, connection,
    /// request and response head).
    func post(url: String, headers: [(String, String)], body: Data) async -> CallbackAttemptOutcome {
        let milliseconds = settings.timeoutMs
        do {
            return try await Self.within(.milliseconds(milliseconds)) {
                try await self.postUnbounded(url: url, headers: headers, body: body)
            } ?? .timedOut(milliseconds: milliseconds)
        } catch let refusal as CallbackTargetPolicy.Refusal {
            return .refused(refusal)
        } catch {
            if Task.isCancelled { return .cancelled }
            return .failed("\(error)")
        }
    }

    /// `body`'s value, or nil when `limit` passes first (then `body` is cancelled).
    static func within<T: Sendable>(
        _ limit: Duration, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T? {
        try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
    }

    private func postUnbounded(url: String, headers: [(String, String)], body: Data) async throws
        -> CallbackAttemptOutcome
    {
        guard let host = CallbackTargetPolicy.host(ofURL: url) else { return .failed("the URL has no host") }
        // A URL stored before the operator turned callbacks.allow_http off is not sent in the clear.
        if let refusal = policy.schemeRefusal(forURL: url) { throw refusal }
        let addresses: [HostAddress]
        if let literal = HostAddress(literal: host) {
            addresses = [literal]
        } else {
            if let refusal = policy.refusal(forName: host) { throw refusal }
            addresses = try await HostResolver.addresses(of: host)
        }
        if let refusal = policy.refusal(host: host, addresses: addresses) { throw refusal }
        try Task.checkCancellation()

        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let deadline = NIODeadline.now() + .milliseconds(Int64(settings.timeoutMs))
        // A host the client reads as an address is connected to as written; any other host goes to
        // the address checked above.
        if Self.isPresentationForm(host) {
            return try await Self.execute(request, with: direct, deadline: deadline)
        }
        let client = checkOut(host: host, address: addresses[0])
        defer { checkIn(host: host, address: addresses[0]) }
        return try await Self.execute(request, with: client, deadline: deadline)
    }

    private static func execute(_ request: HTTPClientRequest, with client: HTTPClient, deadline: NIODeadline)
        async throws -> CallbackAttemptOutcome
    {
        let response = try await client.execute(request, deadline: deadline)
        _ = try? await response.body.collect(upTo: 64 * 1024)
        if (200..<300).contains(response.status.code) { return .delivered }
        return .failed("HTTP \(response.status.code)")
    }

    /// Whether the HTTP client takes `host` as an address without resolving it (`inet_pton(3)`).
    private static func isPresentationForm(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    private func checkOut(host: String, address: HostAddress) -> HTTPClient {
        let key = host + "\u{0}" + address.description
        let settings = self.settings
        return pinned.withLock { pinned in
            var entry =
                pinned[key] ?? Pinned(client: Self.makeClient(settings, dnsOverride: [host: address.description]))
            entry.inFlight += 1
            pinned[key] = entry
            return entry.client
        }
    }

    private func checkIn(host: String, address: HostAddress) {
        let key = host + "\u{0}" + address.description
        pinned.withLock { pinned in
            pinned[key]?.inFlight -= 1
            pinned[key]?.lastUsed = .now
        }
    }

    /// Shuts down the clients of pairs unused for `idle`, with nothing in flight.
    func closeIdle(after idle: Duration = .seconds(60)) async {
        let cutoff = ContinuousClock.now - idle
        let closing = pinned.withLock { pinned -> [HTTPClient] in
            let stale = pinned.filter { $0.value.inFlight == 0 && $0.value.lastUsed < cutoff }
            for key in stale.keys { pinned[key] = nil }
            return stale.values.map(\.client)
        }
        for client in closing { try? await client.shutdown() }
    }

    /// Shuts down every client; call once, after the last attempt ended.
    func shutdown() async {
        let closing = pinned.withLock { pinned -> [HTTPClient] in
            defer { pinned.removeAll() }
            return pinned.values.map(\.client)
        }
        for client in closing { try? await client.shutdown() }
        try? await direct.shutdown()
    }
}
