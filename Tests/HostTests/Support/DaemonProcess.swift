import Foundation

/// The real `switchboard` executable, run as a child process.
final class DaemonProcess: @unchecked Sendable {
    let process = Process()
    let port: Int
    let stderr = Pipe()

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

    init(arguments: [String], port: Int, environment: [String: String] = [:]) throws {
        self.port = port
        process.executableURL = Self.executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardError = stderr
        process.standardOutput = FileHandle.nullDevice
        try process.run()
    }

    static func serve(dataDir: URL, config: URL? = nil, token: String) throws -> DaemonProcess {
        let port = try freePort()
        var arguments = ["serve", "--port", String(port), "--data-dir", dataDir.path, "--log-level", "warning"]
        if let config { arguments += ["--config", config.path] }
        return try DaemonProcess(arguments: arguments, port: port, environment: ["SWITCHBOARD_OPERATOR_TOKEN": token])
    }

    var client: TestClient { TestClient(baseURL: "http://127.0.0.1:\(port)") }

    func waitUntilHealthy() async throws {
        let healthy = try await eventually(seconds: 30) {
            guard process.isRunning else { throw TestFailure("daemon exited: \(errorOutput())") }
            return (try? await client.get("/healthz").status) == 200
        }
        if !healthy { throw TestFailure("daemon did not become healthy") }
    }

    private var collected = Data()

    /// Everything the process wrote to standard error so far.
    func errorOutput() -> String {
        collected.append(stderr.fileHandleForReading.availableData)
        return String(decoding: collected, as: UTF8.self)
    }

    func kill(_ signal: Int32) {
        // Never signal a pid that may already belong to another process.
        guard process.isRunning else { return }
        _ = Foundation.kill(process.processIdentifier, signal)
    }

    func waitForExit(seconds: Double = 20) async throws -> Int32 {
        let exited = try await eventually(seconds: seconds) { !process.isRunning }
        if !exited { throw TestFailure("daemon did not exit") }
        return process.terminationStatus
    }
}
