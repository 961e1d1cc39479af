/// A message handed to the carrier.
public struct CarrierSubmission: Sendable, Equatable {
    public var messageID: String
    public var to: String
    public var from: String
    public var body: String
}

public enum CarrierSubmitResult: Sendable, Equatable {
    /// Accepted by a carrier that reports by our message id (the simulator).
    case accepted
    /// Accepted by a carrier that reports by its own ids (an SMSC's `submit_sm_resp` message ids),
    /// recorded so that a report arriving after a restart still finds its message.
    case acceptedAs(CarrierReference)
    /// Refused for good: the message fails with the carrier's code.
    case rejected(code: Int, reason: String)
    /// Not handed over now (no carrier bound, or every route throttling): the message stays
    /// `queued` and is submitted again after `after`.
    case retryLater(reason: String, after: Duration)
}

/// How a carrier knows a message it accepted: the connector's name and the carrier's ids (one per
/// part of a long message).
public struct CarrierReference: Sendable, Equatable {
    public var connector: String
    public var messageIDs: [String]

    public init(connector: String, messageIDs: [String]) {
        self.connector = connector
        self.messageIDs = messageIDs
    }
}

/// The carrier's final word on a message it accepted.
public struct DeliveryReport: Sendable, Equatable {
    public enum Outcome: String, Sendable {
        case delivered, undelivered, failed
    }

    public var messageID: String
    public var outcome: Outcome
    public var errorCode: Int?
    public var errorMessage: String?

    public init(messageID: String, outcome: Outcome, errorCode: Int? = nil, errorMessage: String? = nil) {
        self.messageID = messageID
        self.outcome = outcome
        self.errorCode = errorCode
        self.errorMessage = errorMessage
    }
}

/// A message from a handset to one of the platform's numbers.
public struct InboundSMS: Sendable, Equatable {
    public var from: String
    public var to: String
    public var body: String

    public init(from: String, to: String, body: String) {
        self.from = from
        self.to = to
        self.body = body
    }
}

/// What the platform did with an inbound message.
public struct InboundOutcome: Sendable {
    public var message: Message
    public var optOut: OptOutKeyword.Action?
}

/// The message an SMSC's id was last given for, and whether it already has its final status.
public struct SubmittedMessage: Sendable, Equatable {
    public var messageID: String
    /// The message is final (delivered, undelivered, failed): a receipt can no longer move it. An
    /// SMSC that restarted gives its ids again from the start, so a receipt under such an id is
    /// likely about a newer submission whose `submit_sm_resp` is not recorded yet.
    public var settled: Bool

    public init(messageID: String, settled: Bool) {
        self.messageID = messageID
        self.settled = settled
    }
}

/// Receives what the carrier sends back. Implemented by the delivery pipeline.
public protocol CarrierDelegate: Sendable {
    func carrierDidReport(_ reports: [DeliveryReport]) async
    func carrierDidReceive(_ inbound: InboundSMS) async throws -> InboundOutcome
    /// Our messages for ids that one of `connectors` was given (`CarrierSubmitResult.acceptedAs`),
    /// for the ids that are known; the carrier's id is the key. Several connectors bound to one SMSC
    /// with one system_id share ids: the SMSC may send a receipt on any of their binds.
    func submissions(connectors: [String], carrierMessageIDs: [String]) async throws -> [String: SubmittedMessage]
    /// A link to the carrier came up (an SMPP connector bound): messages deferred because no route
    /// could take them (`retryLater`) are worth submitting now rather than at the end of their wait.
    func carrierBecameAvailable()
}

/// The link to an SMS carrier (SMPP, HTTP, or the built-in simulator).
public protocol CarrierConnector: Sendable {
    /// Called once, before the first submission.
    func bind(_ delegate: any CarrierDelegate)
    /// Hands one message to the carrier; returns once the carrier accepted or refused it.
    func submit(_ submission: CarrierSubmission) async -> CarrierSubmitResult
    /// Re-attaches to messages the carrier accepted before a restart, so their reports still arrive.
    func resume(_ submissions: [CarrierSubmission]) async
    /// What the carrier says of messages whose submission began before a crash or restart but whose
    /// result was never recorded: `true` accepted, `false` never received (safe to submit), absent
    /// when it cannot tell. The pipeline submits again only on `false`, so a message is never handed
    /// to the carrier twice.
    func acceptance(of submissions: [CarrierSubmission]) async -> [String: Bool]
    /// Each connection to a carrier (SMPP connectors); empty for the simulator.
    func status() async -> [ConnectorStatus]
    /// How many messages are worth handing over at once: beyond it, more would only wait inside the
    /// connector (an SMPP connector's windows, each SMPP 3.4 §2.6, with as many again waiting for a
    /// place). Nil when a carrier takes whatever it is given at once (the simulator).
    var submitCapacity: Int? { get }
}

extension CarrierConnector {
    public func status() async -> [ConnectorStatus] { [] }

    public var submitCapacity: Int? { nil }

    /// A carrier that keeps no record to ask cannot tell.
    public func acceptance(of submissions: [CarrierSubmission]) async -> [String: Bool] { [:] }
}
