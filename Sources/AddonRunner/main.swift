import PluginAPI
import RunnerProtocol

// The isolated add-on runner: loads one add-on library and serves the daemon's requests on fd 3.
// Anything the add-on prints goes to stdout/stderr, which the daemon logs; only this file's frame
// writer touches fd 3, so a stray printf can never corrupt the protocol.
#if canImport(Glibc)
    import Glibc
#endif

let channel: Int32 = 3

/// Applies the resource limits the daemon passed (`--as-mb`, `--cpu-seconds`, `--nofile`) before the
/// add-on's code is loaded, so the limits bind it from its first instruction.
func applyLimits(_ arguments: [String]) {
    var index = 1
    while index + 1 < arguments.count {
        // The one option without a value.
        if arguments[index] == "--refuse-emits" {
            index += 1
            continue
        }
        let value = rlim_t(UInt64(arguments[index + 1]) ?? 0)
        switch arguments[index] {
        case "--as-mb":
            var limit = rlimit(rlim_cur: value << 20, rlim_max: value << 20)
            setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit)
        case "--cpu-seconds":
            // 0 means no limit: as an rlimit it would be a one-second budget.
            guard value > 0 else { break }
            var limit = rlimit(rlim_cur: value, rlim_max: value + 1)
            setrlimit(__rlimit_resource_t(RLIMIT_CPU.rawValue), &limit)
        case "--nofile":
            var limit = rlimit(rlim_cur: value, rlim_max: value)
            setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        default: break
        }
        index += 2
    }
}

/// `--spin-us N`: how long to keep reading after an answer before sleeping in `read`.
func spinMicroseconds(_ arguments: [String]) -> Int {
    guard let index = arguments.firstIndex(of: "--spin-us"), index + 1 < arguments.count else { return 0 }
    return Int(arguments[index + 1]) ?? 0
}

/// `--hooks message.submit,message.status`: the manifest's hooks, so that the runner refuses a
/// library lacking a callback one of them needs, as the in-process loader does; nil when not passed.
func hookNames(_ arguments: [String]) -> [String]? {
    guard let index = arguments.firstIndex(of: "--hooks"), index + 1 < arguments.count else { return nil }
    return arguments[index + 1].split(separator: ",").map(String.init)
}

/// In every process the add-on forks, the protocol socket is closed at once (a `fork` handler,
/// POSIX `pthread_atfork`). A child holding it kept the daemon's end open after this runner died:
/// the daemon saw no end of the socket, took the dead runner for a hung one, and found and killed
/// none of the children.
func closeChannelInForkedChildren() {
    pthread_atfork(nil, nil) { _ = close(channel) }
    // And in whatever such a child executes.
    _ = fcntl(channel, F_SETFD, FD_CLOEXEC)
}

applyLimits(CommandLine.arguments)
closeChannelInForkedChildren()
signal(SIGPIPE, SIG_IGN)
var runner = Runner(
    channel: channel, spinMicroseconds: spinMicroseconds(CommandLine.arguments),
    hookNames: hookNames(CommandLine.arguments), refuseEmits: CommandLine.arguments.contains("--refuse-emits"))
runner.serve()
exit(0)
