import Foundation
import Logging
import RunnerProtocol
import SwitchboardCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One spawned `switchboard-addon-runner`: the daemon's end of its socket (the runner's fd 3), and a
/// pipe carrying whatever the add-on prints, which goes to the log tagged with the add-on's id.
final class RunnerProcess: @unchecked Sendable {
    // @unchecked: pid and fds are written once in `spawn`; `closed` is guarded by `lock`.
    let pid: pid_t
    let socket: Int32
    /// The mark in the environment of the runner and of everything it starts
    /// (`SWITCHBOARD_RUNNER=<mark>`): a process the add-on forked that left the runner's process
    /// group (`setsid`) is still found by it.
    let mark: String
    private let lock = NSLock()
    private var closed = false
    private let reaped = Atomic(false)
    private let straysKilled = Atomic(0)

    /// Processes the add-on started that were still running, in the runner's process group, when
    /// the runner ended; `reap` kills them. The validator fails an add-on that leaves any.
    var strays: Int { straysKilled.load(ordering: .acquiring) }

    private init(pid: pid_t, socket: Int32, mark: String) {
        self.pid = pid
        self.socket = socket
        self.mark = mark
    }

    struct SpawnError: Error, CustomStringConvertible {
        var description: String
    }

    /// Spawns with posix_spawn (Foundation's Process reaps children itself and misreports crashes),
    /// a scrubbed environment, and the backtracer off so a crash is seen at once.
    /// `onStdout`, when given, receives each line the add-on writes to its stdout (the validator's
    /// rule that an add-on prints nothing there); stderr still goes to the log.
    static func spawn(
        executable: String, arguments: [String], addonID: String, logger: Logger,
        onStdout: (@Sendable (String) -> Void)? = nil
    ) throws(SpawnError) -> RunnerProcess {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &pair) == 0 else {
            throw SpawnError(description: "socketpair failed: \(String(cString: strerror(errno)))")
        }
        var output: [Int32] = [-1, -1]
        guard pipe(&output) == 0 else {
            close(pair[0])
            close(pair[1])
            throw SpawnError(description: "pipe failed: \(String(cString: strerror(errno)))")
        }
        for fd in output { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var stdout: [Int32] = [-1, -1]
        if onStdout != nil {
            guard pipe(&stdout) == 0 else {
                for fd in pair + output { close(fd) }
                throw SpawnError(description: "pipe failed: \(String(cString: strerror(errno)))")
            }
            for fd in stdout { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, onStdout == nil ? output[1] : stdout[1], 1)
        posix_spawn_file_actions_adddup2(&actions, output[1], 2)
        posix_spawn_file_actions_adddup2(&actions, pair[1], 3)
        // Nothing else of the daemon's reaches the runner. SwiftNIO accepts connections without
        // FD_CLOEXEC (accept4 with SOCK_NONBLOCK only), so a runner started while a customer's HTTP
        // or SMPP connection is open would otherwise hold that socket: the daemon's close would send
        // no FIN while the runner lives, and the client would wait on a connection already ended.
        SpawnDescriptors.closeAll(from: 4, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // The runner starts with no signal blocked and default actions for the signals the daemon
        // ignores or handles (exec would otherwise pass an ignored or blocked SIGXCPU on, and the
        // CPU limit would only bite at its hard limit).
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGPIPE, SIGXCPU, SIGXFSZ, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2] {
            sigaddset(&defaultSignals, signal)
        }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        // Its own process group (led by the runner), so that whatever the add-on forks is found and
        // ended with it, never left behind the daemon.
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETPGROUP))
        let words: [String] = [executable] + arguments
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        var generator = SystemRandomNumberGenerator()
        let mark = String(generator.next() as UInt64, radix: 16) + String(generator.next() as UInt64, radix: 16)
        let variables: [String] = [
            "PATH=/usr/bin:/bin", "SWIFT_BACKTRACE=enable=no", "SWITCHBOARD_ADDON_ID=\(addonID)", "LANG=C.UTF-8",
            "\(markVariable)=\(mark)",
        ]
        let environment: [UnsafeMutablePointer<CChar>?] = variables.map { strdup($0) } + [nil]
        defer {
            for pointer in argv { free(pointer) }
            for pointer in environment { free(pointer) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, environment)
        close(pair[1])
        close(output[1])
        if onStdout != nil { close(stdout[1]) }
        guard result == 0 else {
            close(pair[0])
            close(output[0])
            if onStdout != nil { close(stdout[0]) }
            throw SpawnError(description: "cannot start \(executable): \(String(cString: strerror(result)))")
        }
        let process = RunnerProcess(pid: pid, socket: pair[0], mark: mark)
        forwardOutput(fd: output[0], addonID: addonID, logger: logger)
        if let onStdout { forwardLines(fd: stdout[0], to: onStdout) }
        return process
    }

    /// Every line read from `fd` (up to 2,000 bytes of each), until its end.
    private static func forwardLines(fd: Int32, to sink: @escaping @Sendable (String) -> Void) {
        Thread.detachNewThread {
            var pending: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                if count <= 0 { break }
                pending.append(contentsOf: buffer[0..<count])
                while let newline = pending.firstIndex(of: 10) {
                    sink(String(decoding: pending[..<min(newline, 2000)], as: UTF8.self))
                    pending.removeSubrange(...newline)
                }
                if pending.count > 65536 { pending.removeAll(keepingCapacity: true) }
            }
            if !pending.isEmpty { sink(String(decoding: pending.prefix(2000), as: UTF8.self)) }
            close(fd)
        }
    }

    /// Lines the add-on prints become log lines, never frames.
    private static func forwardOutput(fd: Int32, addonID: String, logger: Logger) {
        let printed = LineCount()
        forwardLines(fd: fd) { text in
            let lines = printed.value.add(1, ordering: .relaxed).newValue
            // A chatty add-on must not flood the log: the first lines, then every thousandth.
            if lines <= 100 || lines % 1000 == 0 {
                logger.info(
                    "add-on output", metadata: ["addon.id": "\(addonID)", "line": "\(text)", "lines": "\(lines)"])
            }
        }
    }

    private final class LineCount: Sendable {
        let value = Atomic(0)
    }

    /// Writes a whole frame; false when the runner is gone.
    func write(_ frame: Frame) -> Bool {
        let bytes = frame.encoded()
        lock.lock()
        defer { lock.unlock() }
        if closed { return false }
        var offset = 0
        while offset < bytes.count {
            let sent = bytes.withUnsafeBytes {
                send(socket, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            if sent < 0 && errno == EINTR { continue }
            if sent <= 0 { return false }
            offset += sent
        }
        return true
    }

    /// Kills the runner (if still alive); the reader then sees the end of the socket.
    func kill() {
        // Once reaped, the pid may already belong to another process. No lock: `write` holds it
        // while blocked on a runner that stopped reading, and this is how that runner gets unstuck.
        if !reaped.load(ordering: .acquiring) { _ = Glibc.kill(pid, SIGKILL) }
    }

    /// Tells the runner no more requests come; it finishes and exits.
    func endInput() {
        lock.lock()
        defer { lock.unlock() }
        if !closed { _ = Glibc.shutdown(socket, Int32(SHUT_WR)) }
    }

    /// The environment variable that marks a runner and what it starts.
    static let markVariable = "SWITCHBOARD_RUNNER"

    /// The processes of process group `group` (from `/proc/PID/stat`: the group is its fifth field,
    /// the second after the command name's closing parenthesis), and, with `mark`, every process
    /// whose environment carries `SWITCHBOARD_RUNNER=<mark>` (from `/proc/PID/environ`, readable for
    /// this user's processes): one that called `setsid` left the group but kept the environment it
    /// was started with. A process that replaced its environment on exec and left the group is not
    /// found; a container or a systemd unit (`KillMode=control-group`) bounds those.
    static func members(ofGroup group: pid_t, mark: String? = nil) -> [pid_t] {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        let needle = mark.map { Array("\(markVariable)=\($0)".utf8) + [0] }
        let me = getpid()
        return entries.compactMap { entry in
            guard let pid = pid_t(entry), pid != group, pid != me,
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            if fields.count > 2 && pid_t(fields[2]) == group { return pid }
            guard let needle, let environment = FileManager.default.contents(atPath: "/proc/\(entry)/environ")
            else { return nil }
            return Self.contains(Array(environment), needle) ? pid : nil
        }
    }

    /// Whether `environment` (NUL-separated `NAME=value` entries) holds `entry` (with its NUL) as a
    /// whole entry.
    private static func contains(_ environment: [UInt8], _ entry: [UInt8]) -> Bool {
        guard environment.count >= entry.count else { return false }
        var start = 0
        while start + entry.count <= environment.count {
            if environment[start..<(start + entry.count)].elementsEqual(entry) { return true }
            guard let end = environment[start...].firstIndex(of: 0) else { return false }
            start = end + 1
        }
        return false
    }

    /// Reaps the process and says how it ended; kills what it left running in its process group.
    func reap() -> String {
        var status: Int32 = 0
        var result: pid_t
        repeat { result = waitpid(pid, &status, 0) } while result < 0 && errno == EINTR
        // Rounds, because a stray may fork again between the scan and the kill.
        var killed = Set<pid_t>()
        for _ in 0..<5 {
            let strays = Self.members(ofGroup: pid, mark: mark).filter { !killed.contains($0) }
            if strays.isEmpty { break }
            for stray in strays { _ = Glibc.kill(stray, SIGKILL) }
            killed.formUnion(strays)
        }
        if !killed.isEmpty { straysKilled.store(killed.count, ordering: .releasing) }
        reaped.store(true, ordering: .releasing)
        lock.lock()
        if !closed {
            closed = true
            close(socket)
        }
        lock.unlock()
        guard result == pid else { return "ended" }
        let signal = status & 0x7F
        if signal != 0 { return "killed by signal \(signal) (\(String(cString: strsignal(signal))))" }
        return "exited with status \((status >> 8) & 0xFF)"
    }
}
