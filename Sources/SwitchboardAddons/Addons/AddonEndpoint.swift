import PluginAPI
import SwitchboardCore

/// How the platform talks to one add-on, wherever it runs: in this process (`AddonLibrary`) or in
/// its own runner process (`IsolatedAddon`). Both speak the same C ABI to the add-on.
protocol AddonEndpoint: Sendable {
    var manifest: Manifest { get }
    var sha256: String { get }
    var isolation: Manifest.Isolation { get }

    /// Delivers work in order, stopping at the first SB_RETRY; returns the codes of the items the
    /// add-on answered (fewer than given when it stopped or became unavailable) and how many after
    /// those reached it unanswered. A batch whose `end_batch` failed is answered SB_RETRY throughout.
    func deliver(_ work: [OutboxWorker.Work]) async -> Delivery

    /// The synchronous pre-send check within the manifest's time budget.
    func check(_ view: AddonView) async -> AddonLibrary.CheckOutcome

    /// How the add-on is doing, for operators.
    func status() -> AddonRuntimeStatus

    /// Takes this version out of service once it holds no work (after a reload): the add-on's
    /// `destroy` runs and no call reaches it afterwards.
    func shutdown()
}

/// What became of work handed to an add-on (`AddonEndpoint.deliver`).
package struct Delivery: Sendable, Equatable {
    /// The add-on's answers (`SB_OK`, `SB_RETRY`, an error code), in order, for a prefix of the work.
    package var codes: [Int32]
    /// Items right after those answered that reached the add-on without an answer: written to its
    /// runner, which then exited or outlived its budget. The add-on may have read them, so each is a
    /// share all the same (the ledger records what crossed, not what was acknowledged); they are
    /// offered again, as any unanswered item is.
    package var unanswered: Int

    package init(codes: [Int32], unanswered: Int = 0) {
        self.codes = codes
        self.unanswered = unanswered
    }
}

/// Whether an add-on serves, as operators see it (`runtime.state` in `GET /v1/admin/addons` and
/// `switchboard addons status`, `switchboard_addon_quarantined` on /metrics). The raw values are
/// what the API answers.
public enum AddonRuntimeState: String, Sendable, Equatable, Encodable {
    /// In process, or its runner is up.
    case running
    /// Its runner failed or is starting; the first request after the backoff starts the next one.
    case restarting
    /// It failed repeatedly; requests fail at once until `quarantinedUntil`.
    case quarantined
    /// Out of service for good (daemon shutdown, or a version retired by a reload).
    case stopped
}

/// What `switchboard addons status` and `GET /v1/admin/addons` show about a running add-on.
public struct AddonRuntimeStatus: Sendable, Equatable, Encodable {
    public var state: AddonRuntimeState
    public var pid: Int32?
    public var restarts: Int
    public var crashes: Int
    /// Requests the add-on did not answer within budget that counted against it.
    public var timeouts: Int
    /// Pre-send checks whose retry timed out too while the host was overloaded (not counted
    /// against the add-on). On /metrics only, not in the API's `runtime` object.
    public var hostSlowTimeouts = 0
    /// Pre-send checks sent a second time after a timeout. On /metrics only.
    public var checkRetries = 0
    public var lastFailure: String?
    public var quarantinedUntil: String?
    /// Filled in by the platform: rows waiting in the add-on's outbox.
    public var outboxDepth: Int?
    /// Filled in by the registry: delivery batches and checks the add-on is working on.
    public var inFlight: Int?

    /// The API's `runtime` object (`GET /v1/admin/addons`); the retry counters are left to /metrics.
    private enum CodingKeys: String, CodingKey {
        case state, pid, restarts, crashes, timeouts, lastFailure, quarantinedUntil, outboxDepth, inFlight
    }

    package init(
        state: AddonRuntimeState, pid: Int32? = nil, restarts: Int, crashes: Int, timeouts: Int,
        lastFailure: String? = nil, quarantinedUntil: String? = nil, outboxDepth: Int? = nil, inFlight: Int? = nil
    ) {
        self.state = state
        self.pid = pid
        self.restarts = restarts
        self.crashes = crashes
        self.timeouts = timeouts
        self.lastFailure = lastFailure
        self.quarantinedUntil = quarantinedUntil
        self.outboxDepth = outboxDepth
        self.inFlight = inFlight
    }
}

extension AddonLibrary: AddonEndpoint {
    var isolation: Manifest.Isolation { .inProcess }

    /// Delivers `work` in order, as the runner does: each run of consecutive events, then each
    /// erasure order, is one batch that `end_batch` ends. Stops at the first `SB_RETRY`.
    /// In process an add-on that crashes takes the daemon with it; what it was handed is offered
    /// again after the restart, and recorded then.
    package func deliver(_ work: [OutboxWorker.Work]) async -> Delivery {
        Delivery(codes: await deliverInProcess(work))
    }

    /// The codes of `deliver`, for callers that hold the library itself.
    package func deliverInProcess(_ work: [OutboxWorker.Work]) async -> [Int32] {
        await withCheckedContinuation { continuation in
            queue.async {
                var codes: [Int32] = []
                var index = 0
                while index < work.count {
                    var batch: [Int32] = []
                    if case .erase(_, let accountID, let order, let pseudonym) = work[index] {
                        batch.append(
                            self.erase(
                                kind: order.subjectKind.abiKind, accountID: accountID, value: order.value,
                                pseudonym: pseudonym))
                        index += 1
                    } else {
                        while index < work.count, case .event(_, let view, _) = work[index] {
                            let code = self.deliver(view)
                            batch.append(code)
                            index += 1
                            if code == SB_RETRY { break }
                        }
                    }
                    codes += self.endBatch(batch)
                    if codes.last == SB_RETRY { break }
                }
                continuation.resume(returning: codes)
            }
        }
    }

    func shutdown() {
        queue.async { self.destroy() }
    }

    func status() -> AddonRuntimeStatus {
        AddonRuntimeStatus(
            state: .running, pid: nil, restarts: 0, crashes: 0, timeouts: 0, lastFailure: nil, quarantinedUntil: nil)
    }
}
