import Foundation
import SwitchboardCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A child process started with posix_spawn, for the tests that run `switchboard`, `cc` or a
/// shell.
///
/// Rationale: Foundation's `Process.run()` on Linux scans `/proc/self/fd` with a 256-byte copy of
/// each `dirent` and reads past glibc's buffer when a record sits at its end (fixed upstream in
/// swift-corelibs-foundation #5472, after the toolchain this project builds with). With a test
/// process holding many descriptors, that crashed the whole test run now and then. posix_spawn needs
/// no such scan: the descriptors that must not reach the child are opened close-on-exec (NIO's
/// sockets, SQLite's files, `RawConnection`).
final class ChildProcess: @unchecked Sendable {
    let processIdentifier: pid_t
    private let exit = Mutex<Int32?>(nil)

    /// Starts `executable` (a path, or a name looked up in `PATH`) with `arguments`; standard input
    /// is /dev/null, standard output and error go to the files at `output` and `errors` (created or
    /// truncated), or to /dev/null when nil. `environment` replaces the caller's when given.
    init(
        _ executable: String, _ arguments: [String], environment: [String: String]? = nil, output: String? = nil,
        errors: String? = nil
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, output ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        if let errors, errors == output {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, errors ?? "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        }
        // Only the three standard descriptors: SwiftNIO accepts without FD_CLOEXEC, so a child
        // started while the in-process daemon holds a connection would keep that socket open after
        // the daemon closed it, and the test at the other end would never see the close.
        SpawnDescriptors.closeAll(from: 3, in: &actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var defaultSignals = sigset_t()
        sigfillset(&defaultSignals)
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        var noneBlocked = sigset_t()
        sigemptyset(&noneBlocked)
        posix_spawnattr_setsigmask(&attributes, &noneBlocked)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let result = posix_spawnp(&pid, executable, &actions, &attributes, argv, env)
        guard result == 0 else {
            throw TestFailure("could not start \(executable): \(String(cString: strerror(result)))")
        }
        processIdentifier = pid
    }

    /// Whether the child has not exited yet (reaping it when it has).
    var isRunning: Bool {
        exit.withLock { status in
            guard status == nil else { return false }
            var raw: Int32 = 0
            let reaped = waitpid(processIdentifier, &raw, WNOHANG)
            guard reaped == processIdentifier else { return reaped == 0 }
            // WIFEXITED / WEXITSTATUS / WTERMSIG, which Glibc's macros do not bring to Swift.
            status = raw & 0x7f == 0 ? (raw >> 8) & 0xff : raw & 0x7f
            return false
        }
    }

    /// The exit code, or the number of the signal that ended the child; -1 while it runs.
    var terminationStatus: Int32 {
        _ = isRunning
        return exit.withLock { $0 } ?? -1
    }

    /// Waits (polling) until the child exits.
    func waitUntilExit() {
        while isRunning { usleep(2000) }
    }

    func signal(_ signal: Int32) {
        guard isRunning else { return }
        _ = Glibc.kill(processIdentifier, signal)
    }
}
