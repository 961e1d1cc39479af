import Logging
import ServiceLifecycle
import SwitchboardCore

/// The carrier when SMPP connectors are configured: routes each message to the first connector
/// (in configuration order) whose prefixes match its destination, and fails over to the next when
/// one is not bound or its SMSC throttles.
///
/// A message no connector can take now is deferred (`retryLater`), never failed: it stays `queued`
/// and is tried again, a second later when a route is throttling, as soon as one binds when none
/// is bound. After a restart, a message whose submission began but whose acceptance was
/// not recorded is submitted again (`acceptance(of:)` says `false`): SMPP has no way to ask an SMSC
/// about a message by our id, and a lost message is worse than a repeated one. Only the few
/// milliseconds between an SMSC's `submit_sm_resp` and the commit that records it are exposed.
public final class SMPPCarrierRouter: CarrierConnector, Service {
    let carriers: [SMPPCarrier]
    private let logger: Logger

    /// - Throws: nothing; `settings` were validated when the configuration was read.
    /// - Parameter partials: where parts of long inbound messages wait for the rest.
    public init(settings: [SMPPConnectorSettings], partials: SMPPPartials, metrics: SMPPMetrics?, logger: Logger) {
        // Connectors on one SMSC account (host, port, system_id) share receipts.
        func account(_ connector: SMPPConnectorSettings) -> String {
            "\(connector.host)|\(connector.port)|\(connector.systemID)"
        }
        var matchers: [String: ReceiptMatcher] = [:]
        carriers = settings.map { connector in
            let key = account(connector)
            let matcher = matchers[key] ?? ReceiptMatcher(format: connector.receiptIDs)
            matchers[key] = matcher
            return SMPPCarrier(
                settings: connector, siblings: settings.filter { account($0) == key }.map(\.name), receipts: matcher,
                partials: partials, metrics: metrics, logger: logger)
        }
        self.logger = logger
    }

    public func bind(_ delegate: any CarrierDelegate) {
        for carrier in carriers { carrier.bind(delegate) }
    }

    public func submit(_ submission: CarrierSubmission) async -> CarrierSubmitResult {
        let candidates = carriers.filter { $0.settings.serves(submission.to) }
        guard !candidates.isEmpty else {
            return .rejected(
                code: 30006,
                reason:
                    "no carrier connector serves this destination (connectors' prefixes: \(carriers.flatMap(\.settings.prefixes).joined(separator: ", ")))"
            )
        }
        var reasons: [String] = []
        for round in 0..<3 {
            reasons = []
            for carrier in candidates {
                switch await carrier.attempt(submission) {
                case .accepted(let ids):
                    return .acceptedAs(CarrierReference(connector: carrier.name, messageIDs: ids))
                case .rejected(let code, let reason):
                    return .rejected(code: code, reason: reason)
                case .unavailable(let reason):
                    reasons.append("\(carrier.name): \(reason)")
                }
            }
            // Every route is throttling or down. Wait out a short throttle here; otherwise the
            // message goes back to the queue.
            guard round < 2, let until = candidates.compactMap(\.throttledUntil).min(),
                until - .now < .seconds(2)
            else { break }
            try? await Task.sleep(until: until, clock: .continuous)
        }
        // A throttling SMSC is tried again in a second. With no route bound, the message waits
        // until one binds (`carrierBecameAvailable` wakes it), or 30 s at most: retried every
        // second, each queued message cost a claim and its release per second for as long as the
        // SMSC was down (1.05 cores with 7,535 queued, docs/benchmarks.md).
        let anyBound = candidates.contains { $0.isBound }
        return .retryLater(reason: reasons.joined(separator: "; "), after: anyBound ? .seconds(1) : .seconds(30))
    }

    /// Twice the connectors' windows together: one window's worth in flight on each, and as many
    /// claimed and ready to take a place the moment one frees.
    public var submitCapacity: Int? {
        2 * carriers.reduce(0) { $0 + $1.settings.window }
    }

    /// Receipts for messages sent before a restart arrive from the SMSC by its ids
    /// (`carrier_submissions`); nothing to re-attach.
    public func resume(_ submissions: [CarrierSubmission]) async {}

    /// See the type's documentation: never received, as far as the record shows.
    public func acceptance(of submissions: [CarrierSubmission]) async -> [String: Bool] {
        Dictionary(uniqueKeysWithValues: submissions.map { ($0.messageID, false) })
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                for carrier in self.carriers {
                    group.addTask { await carrier.run() }
                }
            }
        }
    }

    /// Each connector's state, in configuration order.
    public func status() async -> [ConnectorStatus] {
        var result: [ConnectorStatus] = []
        for carrier in carriers { result.append(await carrier.status()) }
        return result
    }
}
