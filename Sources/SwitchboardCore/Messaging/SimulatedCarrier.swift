import Crypto
import Foundation
import ServiceLifecycle
import Synchronization

/// Settings of the built-in carrier simulator.
public struct SimulatorSettings: Sendable, Codable, Equatable {
    /// Time from acceptance to the delivery report.
    public var latencyMs: Int = 50
    /// Share of messages that do not arrive (half refused at submission, half undelivered after sending).
    public var failureRate: Double = 0
    /// Makes every outcome a function of (seed, message id), so test runs repeat exactly.
    public var seed: UInt64 = 1

    public init() {}

    enum CodingKeys: String, CodingKey {
        case latencyMs = "latency_ms"
        case failureRate = "failure_rate"
        case seed
    }
}

/// A carrier that accepts every well-formed message and reports on it after a fixed latency; the
/// outcome of each message is decided by a keyed hash of its id so runs are reproducible.
public final class SimulatedCarrier: CarrierConnector, Service {
    private let settings: SimulatorSettings
    private let delegate = Mutex<(any CarrierDelegate)?>(nil)
    private let pending = BatchQueue<(due: ContinuousClock.Instant, report: DeliveryReport)>()

    public init(settings: SimulatorSettings) {
        self.settings = settings
    }

    public func bind(_ delegate: any CarrierDelegate) {
        self.delegate.withLock { $0 = delegate }
    }

    /// A number in [0, 1) fixed by the seed and the message id.
    package func draw(_ messageID: String) -> Double {
        var hasher = SHA256()
        withUnsafeBytes(of: settings.seed.littleEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Data(messageID.utf8))
        let value = hasher.finalize().withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }
        return Double(value >> 11) / Double(1 << 53)
    }

    public func submit(_ submission: CarrierSubmission) async -> CarrierSubmitResult {
        let roll = draw(submission.messageID)
        if roll < settings.failureRate / 2 {
            return .rejected(code: 30008, reason: "carrier refused the message (simulated)")
        }
        schedule(submission, roll: roll)
        return .accepted
    }

    /// The simulator's answer is a function of the message id: it accepted every message whose
    /// draw it would not refuse.
    public func acceptance(of submissions: [CarrierSubmission]) async -> [String: Bool] {
        Dictionary(
            uniqueKeysWithValues: submissions.map { ($0.messageID, draw($0.messageID) >= settings.failureRate / 2) })
    }

    public func resume(_ submissions: [CarrierSubmission]) async {
        for submission in submissions { schedule(submission, roll: draw(submission.messageID)) }
    }

    private func schedule(_ submission: CarrierSubmission, roll: Double) {
        let report: DeliveryReport
        if roll < settings.failureRate {
            report = DeliveryReport(
                messageID: submission.messageID, outcome: .undelivered, errorCode: 30003,
                errorMessage: "handset unreachable (simulated)")
        } else {
            report = DeliveryReport(messageID: submission.messageID, outcome: .delivered)
        }
        let due = ContinuousClock.now.advanced(by: .milliseconds(settings.latencyMs))
        pending.push((due, report))
    }

    /// Injects a message as if a handset had sent it; the platform's answer comes back.
    public func inject(_ inbound: InboundSMS) async throws -> InboundOutcome {
        guard let delegate = delegate.withLock({ $0 }) else {
            throw CancellationError()
        }
        return try await delegate.carrierDidReceive(inbound)
    }

    /// Releases reports as they fall due. Latency is constant, so arrival order is due order.
    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while let batch = await self.pending.next() {
                var index = 0
                while index < batch.count {
                    let due = batch[index].due
                    if due > .now { try? await Task.sleep(until: due, clock: .continuous) }
                    if Task.isCancelled { return }
                    var ready: [DeliveryReport] = []
                    let now = ContinuousClock.now
                    while index < batch.count, batch[index].due <= now {
                        ready.append(batch[index].report)
                        index += 1
                    }
                    if let delegate = self.delegate.withLock({ $0 }), !ready.isEmpty {
                        await delegate.carrierDidReport(ready)
                    }
                }
            }
        }
    }
}
