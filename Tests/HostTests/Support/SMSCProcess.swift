import Foundation

/// The test SMSC (`Tests/Peers/smsc.py`, on PyPI's smpp34: an SMPP implementation Switchboard shares
/// no code with), started on free loopback ports for one test and killed after it.
final class SMSCProcess: Sendable {
    let port: Int
    let controlPort: Int
    let logPath: String
    private let process: ChildProcess

    /// Starts the SMSC with `options` (`--id-format dec`, `--fail-every 2`…) and waits until it
    /// listens; on `port` when given (an SMSC started again where the last one was). Throws when it
    /// does not start (is smpp34 installed? `scripts/setup --tests`).
    init(_ options: [String] = [], port: Int? = nil) async throws {
        self.port = try port ?? DaemonProcess.freePort()
        controlPort = try DaemonProcess.freePort()
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smsc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logPath = directory.appendingPathComponent("submits.jsonl").path
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Peers/smsc.py").path
        process = try ChildProcess(
            "python3",
            [script, "--port", "\(self.port)", "--control-port", "\(controlPort)", "--log", logPath] + options,
            output: directory.appendingPathComponent("smsc.out").path,
            errors: directory.appendingPathComponent("smsc.out").path)
        for _ in 0..<200 {
            if (try? RawConnection(port: controlPort)) != nil { return }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        let output = (try? String(contentsOf: directory.appendingPathComponent("smsc.out"), encoding: .utf8)) ?? ""
        process.signal(SIGKILL)
        process.waitUntilExit()
        throw TestFailure("the test SMSC did not start (run scripts/setup --tests for smpp34): \(output)")
    }

    /// Sends one control line (`MO from to text`, `COUNTS`) and returns the answer. The blocking
    /// socket calls run on a thread of their own, not on the few threads Swift's tasks share.
    func control(_ line: String) async throws -> String {
        let port = controlPort
        return try await offThePool { try Self.control(line, port: port) }
    }

    private static func control(_ line: String, port: Int) throws -> String {
        let connection = try RawConnection(port: port)
        connection.write(line + "\n")
        var answer = ""
        let deadline = Date().addingTimeInterval(10)
        while !answer.contains("\n"), Date() < deadline {
            let read = connection.read(seconds: 0.05)
            answer += read.text
            if read.closed { break }
        }
        return answer.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Every `submit_sm` received so far, as logged (fields as received, `short_message` in hex).
    func submits() -> [[String: Any]] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    func kill() {
        process.signal(SIGKILL)
        process.waitUntilExit()
    }
}

/// Runs `body` with a test SMSC, and kills it afterwards.
func withSMSC<T>(_ options: [String] = [], _ body: (SMSCProcess) async throws -> T) async throws -> T {
    let smsc = try await SMSCProcess(options)
    defer { smsc.kill() }
    return try await body(smsc)
}

/// Runs the test ESME (`Tests/Peers/esme.py`, on smpp34's client) against an SMPP server and
/// returns what it printed: `bind`, `submits` (status and message_id of each submit_sm_resp) and
/// `deliveries` (each deliver_sm received).
func runESME(
    port: Int, systemID: String, password: String, bind: String = "trx", wait: Double = 3,
    untilDeliveries: Int = 0, messages: [[String: Any]] = [], expectRefusal: Bool = false
) async throws -> [String: Any] {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Peers/esme.py").path
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("esme-\(UUID().uuidString).json").path
    var arguments = [
        script, "--port", "\(port)", "--system-id", systemID, "--password", password, "--bind", bind, "--wait",
        "\(wait)", "--until-deliveries", "\(untilDeliveries)", "--bind-timeout-ms", expectRefusal ? "1500" : "30000",
    ]
    for message in messages {
        arguments += [
            "--message", String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self),
        ]
    }
    let process = try ChildProcess("python3", arguments, output: output, errors: output + ".err")
    // Beyond the bind timeout (30 s), so a slow bind still reports instead of being killed silent.
    let deadline = ContinuousClock.now + .seconds(wait + 45)
    while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
    process.signal(SIGKILL)
    let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").last,
        let result = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
    else {
        let errors = (try? String(contentsOfFile: output + ".err", encoding: .utf8)) ?? ""
        throw TestFailure("the test ESME printed no result: \(text) \(errors)")
    }
    // smpp34 reports a refused or unanswered bind only as a timeout; the daemon's log says which.
    if !expectRefusal, result["bind"] as? String != "ok", let logs = ESMEDiagnostics.daemonLogs {
        let lines = logs.lines(atLeast: .info).filter { $0.message.contains("SMPP") || $0.level >= .warning }
            .map { record in
                let metadata = record.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
                return "[\(record.level)] \(record.message) \(metadata.joined(separator: " "))"
            }
        throw TestFailure(
            "the ESME did not bind: \(result["bind"] ?? "nil"); the daemon logged:\n\(lines.joined(separator: "\n"))")
    }
    return result
}

/// What `runESME` reports beside its own result when a bind fails.
enum ESMEDiagnostics {
    /// The log of the daemon the ESME binds to, at info or below (set by the SMPP server tests).
    @TaskLocal static var daemonLogs: LogCapture?
}
