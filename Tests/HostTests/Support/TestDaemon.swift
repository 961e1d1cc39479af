import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOHTTP1
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardDaemon

/// A real daemon on 127.0.0.1 with a fresh data directory, stopped by `stop()`.
final class TestDaemon: Sendable {
    let daemon: Daemon
    let port: Int
    let directory: URL
    /// Everything the daemon (and its add-ons) logged, at warning and above unless started with
    /// another `logLevel`.
    let logs: LogCapture
    private let task: Task<Void, any Error>?
    /// Set when requests go straight to the router in-process instead of over loopback.
    private let transport: TestClient.Transport?

    var baseURL: String { "http://127.0.0.1:\(port)" }
    var client: TestClient { TestClient(baseURL: baseURL, transport: transport) }
    var admin: TestClient { TestClient(baseURL: baseURL, bearer: daemon.operatorToken, transport: transport) }

    /// The configuration every test daemon starts from, on a fresh data directory.
    static func configuration(directory: URL, configure: (inout ServeConfiguration) -> Void) -> ServeConfiguration {
        var config = ServeConfiguration()
        config.port = 0
        config.dataDir = directory.path
        config.passwordCost = 10
        config.simulator.latencyMs = 5
        config.callbacks.retryBaseMs = 50
        // The tests' callback receivers listen on loopback, which callbacks may not reach by default;
        // the tests of that refusal start from an empty allow-list.
        config.callbacks.allowTargets = ["127.0.0.1"]
        // The tests' receivers speak plain HTTP; the https-only default has its own test.
        config.callbacks.allowHTTP = true
        // A receiver in this process answers late while dozens of daemons share two cores; an
        // attempt cut off at 5 s would be sent again, a duplicate the tests would then count.
        config.callbacks.timeoutMs = 20_000
        // The test machine runs dozens of daemons at once; a production budget of 50 ms would
        // measure the machine's load, not the add-on.
        config.addons.syncTimeouts["com.switchboard.compliance-scrub"] = 2000
        configure(&config)
        return config
    }

    /// - Parameter logLevel: the lowest level `logs` keeps (`.info` where a failure should show
    ///   what the daemon did, such as why it refused a bind).
    static func start(
        clock: any WallClock = SystemWallClock(),
        directory: URL? = nil,
        logLevel: Logger.Level = .warning,
        configure: (inout ServeConfiguration) -> Void = { _ in }
    ) async throws -> TestDaemon {
        let directory =
            directory ?? FileManager.default.temporaryDirectory.appendingPathComponent("sb-test-\(UUID().uuidString)")
        let config = configuration(directory: directory, configure: configure)
        let logs = LogCapture()
        let logger = logs.logger(label: "test-daemon", level: logLevel)
        let daemon = try Daemon(config: config, clock: clock, logger: logger)
        let (ports, portContinuation) = AsyncStream.makeStream(of: Int.self)
        let task = Task {
            try await daemon.run(signals: []) { port in portContinuation.yield(port) }
        }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        return TestDaemon(daemon: daemon, port: port, directory: directory, logs: logs, task: task, transport: nil)
    }

    private init(
        daemon: Daemon, port: Int, directory: URL, logs: LogCapture, task: Task<Void, any Error>?,
        transport: TestClient.Transport?
    ) {
        self.logs = logs
        self.daemon = daemon
        self.port = port
        self.directory = directory
        self.task = task
        self.transport = transport
    }

    /// Runs `body` against the daemon's router in-process (Hummingbird's router test framework): the
    /// same routes, middleware and stores, no socket and no background services (nothing is sent
    /// to the carrier and add-on workers do not run). For tests of what the API answers.
    static func withRouter<T: Sendable>(
        configure: (inout ServeConfiguration) -> Void = { _ in }, _ body: @Sendable (TestDaemon) async throws -> T
    ) async throws -> T {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-router-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let logs = LogCapture()
        let logger = logs.logger(label: "test-router", level: .warning)
        let daemon = try Daemon(
            config: configuration(directory: directory, configure: configure), logger: logger)
        let app = Application(router: daemon.makeRouter(), logger: logger)
        return try await app.test(.router) { client in
            let transport: TestClient.Transport = { method, path, headers, body in
                var fields = HTTPFields()
                for header in headers {
                    fields.append(HTTPField(name: HTTPField.Name(header.name)!, value: header.value))
                }
                let response = try await client.executeRequest(
                    uri: path, method: HTTPRequest.Method(rawValue: method.rawValue)!, headers: fields,
                    body: body.map { ByteBuffer(bytes: $0) })
                var received = HTTPHeaders()
                for field in response.headers { received.add(name: field.name.rawName, value: field.value) }
                return TestClient.Response(
                    status: Int(response.status.code), headers: received, body: Data(buffer: response.body))
            }
            let daemon = TestDaemon(
                daemon: daemon, port: 0, directory: directory, logs: logs, task: nil, transport: transport)
            return try await body(daemon)
        }
    }

    func stop(removeData: Bool = true) async {
        if let task {
            await daemon.shutdown()
            _ = await task.result
        }
        if removeData { try? FileManager.default.removeItem(at: directory) }
    }

    /// Signs up a fresh account and returns a client authenticated as it.
    func signUp(email: String? = nil, name: String = "Ada Lovelace") async throws -> (
        accountID: String, client: TestClient
    ) {
        let address = email ?? "user-\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let response = try await client.post(
            "/v1/accounts", json: ["name": name, "email": address, "password": "plum-harbor-violet-42"])
        guard response.status == 201, let id = response.json["account_id"] as? String,
            let key = response.json["api_key"] as? String
        else { throw TestFailure("sign-up failed: \(response.status) \(response.text)") }
        return (id, TestClient(baseURL: baseURL, basic: (id, key), transport: transport))
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Polls `condition` every 20 ms for up to `seconds`.
func eventually(seconds: Double = 10, _ condition: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Runs `body` against a fresh daemon (on `directory` when given, to start again on another's data)
/// and stops it afterwards, also when `body` throws.
func withDaemon<T>(
    clock: any WallClock = SystemWallClock(),
    directory: URL? = nil,
    logLevel: Logger.Level = .warning,
    configure: (inout ServeConfiguration) -> Void = { _ in },
    _ body: (TestDaemon) async throws -> T
) async throws -> T {
    let daemon = try await TestDaemon.start(
        clock: clock, directory: directory, logLevel: logLevel, configure: configure)
    do {
        let result = try await body(daemon)
        await daemon.stop()
        return result
    } catch {
        await daemon.stop()
        throw error
    }
}
