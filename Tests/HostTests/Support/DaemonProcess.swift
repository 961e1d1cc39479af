import Foundation
import Synchronization

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

    /// A loopback port free at the moment, for a peer (a daemon, an SMSC, Kannel) to listen on.
    ///
    /// Picked below Linux's ephemeral range (32768–60999 by default,
    /// `/proc/sys/net/ipv4/ip_local_port_range`): a port the kernel handed out for port 0 can be
    /// taken as the source port of any outgoing connection before the peer binds it, and the
    /// tests open thousands. No port is handed out twice in one test process.
    static func freePort() throws -> Int {
        for _ in 0..<500 {
            let candidate = Int.random(in: 20_000..<32_000)
            guard handedOut.withLock({ $0.insert(candidate).inserted }) else { continue }
            if canListen(on: candidate) { return candidate }
        }
        throw TestFailure("could not find a free port between 20000 and 32000")
    }

    private static let handedOut = Mutex<Set<Int>>([])

    private static func canListen(on port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
            }
        }
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
