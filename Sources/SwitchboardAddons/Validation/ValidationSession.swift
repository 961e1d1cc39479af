import Foundation
import Logging
import RunnerProtocol
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// One add-on in a `switchboard-addon-runner`, driven one request at a time by the validator: the
/// same runner, handshake and frames as the daemon's isolated add-ons, without the daemon's
/// supervision (no restarts, no quarantine), so every misbehaviour shows as it is.
final class ValidationSession {
    enum Answer {
        case codes([Int32])
        case verdict(Requests.Verdict)
    }

    /// Why a request got no answer: the runner died (how), broke the protocol, or was too slow.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    let connection: RunnerConnection
    private var nextID: UInt64 = 1
    /// The add-on's last log line, shown with a runner's death (often it says why).
    private var lastLogLine: String?
    private var ended: String?

    var pid: pid_t { connection.process.pid }
    /// False once the runner was stopped, killed or found dead.
    var isRunning: Bool { ended == nil }

    private init(connection: RunnerConnection) {
        self.connection = connection
    }

    /// Spawns the runner and waits for it to load the add-on. `arguments` go to the runner (its
    /// `--hooks`, and `--refuse-emits` for the refusal rule); `stdout` receives what the add-on prints.
    static func start(
        runner: String, arguments: [String], setup: WireInit, logger: Logger,
        stdout: @escaping @Sendable (String) -> Void
    ) throws(Failure) -> ValidationSession {
        do {
            let connection = try RunnerConnection.open(
                executable: runner, arguments: arguments, setup: setup, addonID: setup.addonID, logger: logger,
                onStdout: stdout)
            return ValidationSession(connection: connection)
        } catch {
            throw Failure(description: error.description)
        }
    }

    func deliver(_ events: [WireEvent], timeoutMs: Int = 10_000) throws(Failure) -> [Int32] {
        guard case .codes(let codes) = try request(timeoutMs: timeoutMs, { Requests.events(id: $0, now: $1, events) })
        else { throw Failure(description: "the runner answered events with a verdict") }
        return codes
    }

    func check(_ event: WireEvent, timeoutMs: Int = 10_000) throws(Failure) -> Requests.Verdict {
        guard case .verdict(let verdict) = try request(timeoutMs: timeoutMs, { Requests.check(id: $0, now: $1, event) })
        else { throw Failure(description: "the runner answered a check with codes") }
        return verdict
    }

    func erase(_ subject: Requests.Subject, timeoutMs: Int = 10_000) throws(Failure) -> Int32 {
        guard case .codes(let codes) = try request(timeoutMs: timeoutMs, { Requests.erase(id: $0, now: $1, subject) }),
            let code = codes.first
        else { throw Failure(description: "the runner answered an erasure without a code") }
        return code
    }

    func recreate(_ count: UInt32, timeoutMs: Int = 60_000) throws(Failure) {
        _ = try request(timeoutMs: timeoutMs) { Requests.recreate(id: $0, now: $1, count: count) }
    }

    func deliverConcurrently(_ events: [WireEvent], threads: UInt32, timeoutMs: Int = 60_000) throws(Failure)
        -> [Int32]
    {
        guard
            case .codes(let codes) = try request(
                timeoutMs: timeoutMs, { Requests.concurrentEvents(id: $0, now: $1, threads: threads, events) })
        else { throw Failure(description: "the runner answered events with a verdict") }
        return codes
    }

    /// Closes the runner's input so it destroys the instance and exits; waits up to `timeoutMs`,
    /// then kills it. Returns how it ended ("exited with status 0" when all went well).
    @discardableResult
    func stop(timeoutMs: Int = 10_000) -> String {
        if let ended { return ended }
        connection.process.endInput()
        let deadline = ContinuousClock.now + .milliseconds(timeoutMs)
        // Reads what it still says (its destroy may log) until it closes its end.
        var open = true
        while open && ContinuousClock.now < deadline {
            if case .closed = readOnce(waitMs: 50, answering: nil) { open = false }
        }
        if open { connection.process.kill() }
        let how = connection.process.reap()
        ended = how
        return how
    }

    /// Kills the runner (used when a rule already failed and its state is unknown).
    func kill() {
        if ended != nil { return }
        connection.process.kill()
        ended = connection.process.reap()
    }

    private func request(timeoutMs: Int, _ make: (UInt64, Int64) -> Frame) throws(Failure) -> Answer {
        if let ended { throw Failure(description: "the runner already \(ended)") }
        let id = nextID
        nextID += 1
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        guard connection.process.write(make(id, now)) else { throw died() }
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(timeoutMs))
        while ContinuousClock.now < deadline {
            switch readOnce(waitMs: 20, answering: id) {
            case .answer(let answer): return answer
            case .nothing: continue
            case .closed: throw died()
            case .broken(let reason):
                kill()
                throw Failure(description: reason)
            }
        }
        kill()
        throw Failure(description: "no answer within \(timeoutMs) ms (the runner was killed)")
    }

    private enum Read {
        case answer(Answer), nothing, closed, broken(String)
    }

    /// Waits up to `waitMs` for frames and handles them; the answer to request `id` when it came.
    private func readOnce(waitMs: Int32, answering id: UInt64?) -> Read {
        var poller = pollfd(fd: connection.process.socket, events: Int16(POLLIN), revents: 0)
        if poll(&poller, 1, waitMs) <= 0 { return .nothing }
        var answer: Answer?
        var broken: String?
        let outcome = connection.inbox.pump(wait: true) { frame in
            do {
                var reader = WireReader(frame.body)
                switch frame.type {
                case .log:
                    _ = try reader.u32()
                    lastLogLine = try reader.string()
                case .emit:
                    break  // What it records is the daemon's business, not a rule's.
                case .eventResults, .eraseResult:
                    let (answered, codes) = try Requests.readCodes(frame.body)
                    if answered == id { answer = .codes(codes) }
                case .verdict:
                    let (answered, verdict) = try Requests.readVerdict(frame.body)
                    if answered == id { answer = .verdict(verdict) }
                case .failed:
                    broken = "the runner failed: \(String(decoding: frame.body, as: UTF8.self))"
                default:
                    broken = "the runner sent an unexpected \(frame.type) frame"
                }
            } catch {
                broken = "the runner sent an unreadable \(frame.type) frame (\(error))"
            }
        }
        if let answer { return .answer(answer) }
        if let broken { return .broken(broken) }
        switch outcome {
        case .closed: return .closed
        case .invalid(let reason): return .broken("the runner \(reason)")
        case .drained, .busy: return .nothing
        }
    }

    private func died() -> Failure {
        if ended == nil {
            connection.process.kill()
            ended = connection.process.reap()
        }
        return Failure(description: "the runner \(ended ?? "ended")\(lastLog)")
    }

    private var lastLog: String {
        guard let line = lastLogLine else { return "" }
        return "; its last log line: \(line)"
    }
}
