/// What was measured while the retry of a pre-send check waited in vain, and whose fault that was:
/// a host too busy to run the add-on's runner, or the add-on.
///
/// A check that times out is sent once more with the same budget; only when that retry times out
/// too is it judged, from what happened during the retry. It is the host's fault ("host slow") when
/// all three hold:
/// - the runner's process used little CPU time while the retry waited: less than a quarter of the
///   wait, and never less than two clock ticks, the resolution of the kernel's accounting, so that
///   short budgets are not judged by one tick of noise. A runner that burns CPU and still does not
///   answer is broken or too slow, however busy the host.
/// - the runner was runnable when the retry ran out (running or waiting for a core), not sleeping
///   or blocked: a check that waits on a lock, another thread or the network waits for the add-on,
///   not the host, and a deadlocked runner must still be restarted.
/// - the host's run queue held more runnable threads than it has cores.
///
/// A host-slow timeout is logged and counted (`hostSlowTimeouts`) but not against the add-on: its
/// runner keeps serving and the timeout does not count towards quarantine. Without the evidence
/// (an unreadable `/proc`), the timeout counts against the add-on, as it always did.
package struct CheckTimeout: Sendable, Equatable {
    /// Wall time from writing the retry to giving up on it.
    package var waited: Duration
    /// CPU time (user and system) the runner's process used in that time; nil when unknown.
    package var runnerCPU: Duration?
    /// Whether the runner was runnable when the retry ran out; nil when unknown.
    package var runnerRunnable: Bool?
    /// Threads runnable on the host when the retry ran out (`/proc/loadavg`); nil when unknown.
    package var runQueue: Int?
    /// The host's online cores.
    package var cores: Int
    /// The resolution of `runnerCPU` (one clock tick, usually 10 ms).
    package var clockTick: Duration

    package init(
        waited: Duration, runnerCPU: Duration?, runnerRunnable: Bool?, runQueue: Int?, cores: Int,
        clockTick: Duration
    ) {
        self.waited = waited
        self.runnerCPU = runnerCPU
        self.runnerRunnable = runnerRunnable
        self.runQueue = runQueue
        self.cores = cores
        self.clockTick = clockTick
    }

    package enum Cause: Sendable, Equatable {
        /// The host was too busy to run the runner: not counted against the add-on.
        case hostSlow
        /// The add-on did not answer: its runner is killed as hung and the failure counts.
        case addon
    }

    /// Whose fault the timeout was, by the rule above.
    package var cause: Cause {
        guard let runnerCPU, let runnerRunnable, let runQueue else { return .addon }
        let littleCPU = runnerCPU < max(waited / 4, clockTick * 2)
        return littleCPU && runnerRunnable && runQueue > cores ? .hostSlow : .addon
    }
}
