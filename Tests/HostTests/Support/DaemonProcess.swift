import Foundation

/// The real `switchboard` executable, run as a child process.
final class DaemonProcess: @unchecked Sendable {
    let process: ChildProcess
    let port: Int
    /// Where the daemon's standard error goes (removed with the process object).
    private let errorLog = FileManager.default.temporaryDirectory.appendingPathComponent(
        "sb-daemon-\(UUID().uuidString).stderr")

    /// The built executable: beside the test binary, or `SWITCHBOARD_BINARY`.
    static var executable: URL {
        if let path = ProcessInfo.processInfo.environment["SWITCHBOARD_BINARY"] { return URL(fileURLWithPath: path) }
        let testBinary = URL(
            fileURLWithPath: (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0])
        return testBinary.deletingLastPathComponent().appendingPathComponent("switchboard")
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard bound else { throw TestFailure("could not find a free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// - Parameter descriptorLimit: when set, the daemon runs under `ulimit -n` of it (soft and hard).
    init(arguments: [String], port: Int, environment: [String: String] = [:], descriptorLimit: Int? = nil) throws {
        self.port = port
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        if let descriptorLimit {
            process = try ChildProcess(
                "/bin/sh",
                ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", Self.executable.path] + arguments,
                environment: env, errors: errorLog.path)
        } else {
            process = try ChildProcess(Self.executable.path, arguments, environment: env, errors: errorLog.path)
        }
    }

    deinit { try? FileManager.default.removeItem(at: errorLog) }

    static func serve(
        dataDir: URL, config: URL? = nil, token: String, descriptorLimit: Int? = nil
    ) throws -> DaemonProcess {
        let port = try freePort()
        var arguments = ["serve", "--port", String(port), "--data-dir", dataDir.path, "--log-level", "warning"]
        if let config { arguments += ["--config", config.path] }
        return try DaemonProcess(
            arguments: arguments, port: port, environment: ["SWITCHBOARD_OPERATOR_TOKEN": token],
            descriptorLimit: descriptorLimit)
    }

    var client: TestClient { TestClient(baseURL: "http://127.0.0.1:\(port)") }

    func waitUntilHealthy() async throws {
        let healthy = try await eventually(seconds: 30) {
            guard process.isRunning else { throw TestFailure("daemon exited: \(errorOutput())") }
            return (try? await client.get("/healthz").status) == 200
        }
        if !healthy { throw TestFailure("daemon did not become healthy") }
    }

    /// Everything the process wrote to standard error so far.
    func errorOutput() -> String {
        String(decoding: (try? Data(contentsOf: errorLog)) ?? Data(), as: UTF8.self)
    }

    func kill(_ signal: Int32) {
        // Never signal a pid that may already belong to another process: `signal` reaps first.
        process.signal(signal)
    }

    func waitForExit(seconds: Double = 20) async throws -> Int32 {
        let exited = try await eventually(seconds: seconds) { !process.isRunning }
        if !exited { throw TestFailure("daemon did not exit") }
        return process.terminationStatus
    }
}
