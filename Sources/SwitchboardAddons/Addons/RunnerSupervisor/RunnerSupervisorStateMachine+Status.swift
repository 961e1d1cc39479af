/// What operators see of the supervisor (`switchboard addons status`, `GET /v1/admin/addons`,
/// /metrics) and what a failed caller is told.
extension RunnerSupervisorStateMachine {
    /// The state at `now`; a quarantine that has run out shows as restarting.
    package func runtimeState(now: Instant) -> AddonRuntimeState {
        switch state {
        case .running, .killed: .running
        case .spawning, .backoff: .restarting
        case .quarantined(let until, _), .probing(_, let until, _): until > now ? .quarantined : .restarting
        case .stopping, .stopped: .stopped
        }
    }

    /// The end of a quarantine still in force at `now`.
    package func quarantinedUntil(now: Instant) -> Instant? {
        switch state {
        case .quarantined(let until, _), .probing(_, let until, _): until > now ? until : nil
        default: nil
        }
    }

    /// The runner whose process lives (until its exit is seen).
    package var runner: Runner? {
        switch state {
        case .running(let runner), .killed(let runner), .stopping(let runner?, _), .probing(let runner?, _, _): runner
        default: nil
        }
    }

    /// Why a request could not be served, for its caller's message; nil when no failure is known
    /// (a request that timed out before its runner's exit was seen).
    package var unavailableReason: String? {
        switch state {
        case .quarantined, .probing: "quarantined"
        case .stopping, .stopped: "stopped"
        default: lastFailure
        }
    }
}
