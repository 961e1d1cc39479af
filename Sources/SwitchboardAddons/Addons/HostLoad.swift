import Foundation

/// Reads what `CheckTimeout` judges from `/proc`: a process's CPU time and scheduling state, and the
/// host's run queue. Linux only; every reading is nil where `/proc` cannot be read.
package enum HostLoad {
    /// A process's CPU time and whether it was runnable, at one moment.
    package struct ProcessSample: Sendable, Equatable {
        /// User plus system CPU time of all its threads since it started.
        package var cpu: Duration
        /// True when its main thread was running or waiting for a core (state `R`), false when it
        /// slept, was blocked or stopped.
        package var runnable: Bool
    }

    /// One clock tick, the unit of the CPU times in `/proc/<pid>/stat` (`sysconf(_SC_CLK_TCK)`).
    package static let clockTick: Duration = .nanoseconds(1_000_000_000 / max(Int64(sysconf(Int32(_SC_CLK_TCK))), 1))

    /// The host's online cores.
    package static var cores: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// Process `pid`'s sample from `/proc/<pid>/stat` (fields 3, 14 and 15: state, utime and stime
    /// in clock ticks); nil when it cannot be read or parsed (the process is gone).
    package static func sample(pid: pid_t) -> ProcessSample? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else { return nil }
        return parseStat(text)
    }

    /// Parses the text of `/proc/<pid>/stat`. The command name (field 2) is in parentheses and may
    /// itself hold spaces and parentheses, so fields are counted from the last `)`.
    package static func parseStat(_ text: String) -> ProcessSample? {
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ", omittingEmptySubsequences: true)
        // After the name: state is field 3 (index 0), utime field 14 (index 11), stime field 15 (index 12).
        guard fields.count > 12, let utime = Int64(fields[11]), let stime = Int64(fields[12]) else { return nil }
        return ProcessSample(cpu: clockTick * (utime + stime), runnable: fields[0] == "R")
    }

    /// Threads runnable on the host now: the number before the `/` in the fourth field of
    /// `/proc/loadavg` (it counts the reader too); nil when it cannot be read.
    package static func runQueue() -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return nil }
        return parseRunQueue(text)
    }

    /// Parses the text of `/proc/loadavg`, e.g. `2.44 3.52 3.89 3/105 21739` → 3.
    package static func parseRunQueue(_ text: String) -> Int? {
        let fields = text.split(separator: " ")
        guard fields.count > 3, let running = fields[3].split(separator: "/").first else { return nil }
        return Int(running)
    }
}
