import Foundation
import SwitchboardDaemon
import Testing

@Suite struct ConnectionLimitTests {
    /// Connections beyond `http.max_connections` are answered 503 with Retry-After and closed, the
    /// ones held are closed once idle for `http.idle_timeout_seconds`, and the daemon serves again.
    @Test func connectionsBeyondTheCapAreRefusedAndIdleOnesClosed() async throws {
        try await withDaemon(configure: {
            $0.http.maxConnections = 20
            // Long enough that the held connections outlast the probes on a loaded machine.
            $0.http.idleTimeoutSeconds = 10
        }) { daemon in
            let idle = try (0..<20).map { _ in try RawConnection(port: daemon.port) }
            // Each held connection is admitted when the server sees it active, a moment after
            // connect() returned here: until then a probe may still be served, and closes again.
            var answer: (text: String, closed: Bool) = ("", false)
            for _ in 0..<100 {
                let probe = try RawConnection(port: daemon.port)
                probe.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                answer = try await offThePool { probe.read(seconds: 10) }
                if answer.text.hasPrefix("HTTP/1.1 503") { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(answer.text.hasPrefix("HTTP/1.1 503"), "\(answer.text)")
            #expect(answer.text.lowercased().contains("retry-after: 1"))
            #expect(answer.text.contains("Too many connections"))
            #expect(answer.closed)

            // The held connections said nothing: they are closed after the idle timeout.
            // Blocking reads run off the threads Swift's tasks share (the daemon's work runs there too).
            let closed = try await offThePool { idle.map { $0.read(seconds: 60).closed } }
            #expect(closed.allSatisfy { $0 }, "\(closed.filter { !$0 }.count) idle connections were not closed")
            #expect(try await daemon.client.get("/healthz").status == 200)
            let metrics = try await daemon.client.get("/metrics").text
            #expect(metrics.contains("switchboard_http_connections_limit 20"))
            #expect(!metrics.contains("switchboard_http_connections_refused_total 0\n"))
        }
    }

    /// A client that trickles its request head (slowloris) is closed after the idle timeout: the
    /// head must arrive whole within it.
    @Test func aTrickledRequestHeadIsClosedAtTheIdleTimeout() async throws {
        try await withDaemon(configure: { $0.http.idleTimeoutSeconds = 2 }) { daemon in
            let slow = try RawConnection(port: daemon.port)
            slow.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
            let started = Date()
            let closed = try await offThePool {
                for index in 0..<40 {
                    guard slow.write("X-Slow-\(index): a\r\n") else { return true }
                    if slow.read(seconds: 0.25).closed { return true }
                }
                return false
            }
            #expect(closed, "a request head trickled for 10 s was still being read")
            #expect(Date().timeIntervalSince(started) < 8)
        }
    }

    /// A client that trickles its request body is answered 408 and closed once
    /// `http.request_timeout_seconds` passed since the head, although every byte restarted the idle
    /// timer; a body sent whole on the same kind of connection is served.
    @Test func aTrickledRequestBodyIsCutOffAtTheRequestTimeout() async throws {
        // The idle timeout stays long: it would otherwise also close the test client's keep-alive
        // connections between requests.
        try await withDaemon(configure: { $0.http.requestTimeoutSeconds = 3 }) { daemon in
            let (_, client) = try await daemon.signUp()
            let slow = try RawConnection(port: daemon.port)
            slow.write(
                "POST /v1/accounts HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: 1000\r\n\r\n{")
            let started = Date()
            var answer = ""
            var closed = false
            for _ in 0..<40 {
                slow.write(" ")
                let read = slow.read(seconds: 0.5)
                answer += read.text
                if read.closed {
                    closed = true
                    break
                }
            }
            #expect(closed, "a body trickled for 20 s was still being read")
            #expect(answer.hasPrefix("HTTP/1.1 408"), "\(answer)")
            #expect(answer.contains("request_timeout_seconds"))
            #expect(Date().timeIntervalSince(started) < 10)
            #expect(try await client.send(body: "after the slow client").status == 201)
            #expect(try await daemon.client.get("/metrics").text.contains("switchboard_http_request_timeouts_total 1"))
        }
    }

    /// Under a descriptor limit of 256, far more connections than descriptors neither crash the
    /// daemon nor stop it: those beyond the budget are refused, and once the idle ones are closed it
    /// accepts and delivers messages again.
    @Test func manyMoreConnectionsThanDescriptorsNeverCrashTheDaemon() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sb-fd-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let config = directory.appendingPathExtension("json")
        defer { try? FileManager.default.removeItem(at: config) }
        try Data(#"{"http": {"idle_timeout_seconds": 3}, "simulator": {"latency_ms": 10}}"#.utf8).write(to: config)
        let daemon = try DaemonProcess.serve(
            dataDir: directory, config: config, token: "op_connection-limit-tests-0123", descriptorLimit: 256)
        defer { daemon.kill(SIGKILL) }
        try await daemon.waitUntilHealthy()

        var held: [RawConnection] = []
        var refused = 0
        for _ in 0..<400 {
            guard let connection = try? RawConnection(port: daemon.port) else { continue }
            held.append(connection)
        }
        for connection in held.suffix(100) where connection.read(seconds: 0.05).text.hasPrefix("HTTP/1.1 503") {
            refused += 1
        }
        #expect(refused > 0, "no connection was refused at the cap")
        #expect(daemon.process.isRunning, "the daemon died: \(daemon.errorOutput())")

        // Once the held connections idle out, the daemon serves again.
        #expect(try await eventually(seconds: 20) { (try? await daemon.client.get("/healthz").status) == 200 })
        held.removeAll()
        let signUp = try await daemon.client.post(
            "/v1/accounts",
            json: ["name": "Ada", "email": "ada@example.com", "password": "plum-harbor-violet-42"])
        #expect(signUp.status == 201)
        let accountID = try #require(signUp.json["account_id"] as? String)
        let key = try #require(signUp.json["api_key"] as? String)
        let client = daemon.client.with(basic: (accountID, key))
        var ids: [String] = []
        for _ in 0..<20 {
            let sent = try await client.send()
            #expect(sent.status == 201)
            if let id = sent.json["id"] as? String { ids.append(id) }
        }
        for id in ids {
            #expect(
                try await eventually {
                    try await client.get("/v1/messages/\(id)").json["status"] as? String == "delivered"
                })
        }
        #expect(daemon.process.isRunning, "the daemon died: \(daemon.errorOutput())")
    }
}
