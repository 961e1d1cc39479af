import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SMPP
import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// The SMPP 3.4 server customers' ESMEs bind to: a second front door beside HTTP.
///
/// A `submit_sm` goes through `SendService`, exactly as `POST /v1/messages` does (validation, the
/// sender's ownership, the send rate, opt-outs, add-ons' pre-send checks, consent and the ledger),
/// and is logged in the activity log as `SMPP submit_sm`. Receipts asked for with
/// `registered_delivery` and inbound messages to the account's numbers are owed to the account's
/// receiver binds (`SMPPDeliveries`) until one acknowledges them.
public final class SMPPServer: Service, Sendable {
    /// What the server needs of the platform.
    public struct Dependencies: Sendable {
        public var sending: SendService
        public var credentials: SMPPCredentials
        public var deliveries: SMPPDeliveries
        public var throttle: AuthThrottle
        public var usage: UsageStore
        /// Parts of long messages waiting for the rest.
        public var partials: SMPPPartials
        /// The account's messages, for `query_sm`.
        public var messages: MessageStore

        public init(
            sending: SendService, credentials: SMPPCredentials, deliveries: SMPPDeliveries, throttle: AuthThrottle,
            usage: UsageStore, partials: SMPPPartials, messages: MessageStore
        ) {
            self.messages = messages
            self.sending = sending
            self.credentials = credentials
            self.deliveries = deliveries
            self.throttle = throttle
            self.usage = usage
            self.partials = partials
        }
    }

    let settings: SMPPServerSettings
    let host: String
    let dependencies: Dependencies
    let logger: Logger
    let binds = BindRegistry()
    private let boundPort = Mutex<Int?>(nil)
    private let listening: @Sendable (Int) async -> Void
    private let metrics: SMPPMetrics?
    private let tlsConfiguration: TLSConfiguration?
    private let boundTLSPort = Mutex<Int?>(nil)
    /// Connections open now, and how many may be (`limitConnections(to:)`).
    private let openConnections = Atomic<Int>(0)
    /// One refusal line per 10 s: a peer opening connections in a loop must not fill the log.
    private let refusalLog = LogThrottle()
    private let connectionLimit: Atomic<Int>

    /// Without a configured `max_connections` or a budget from the daemon.
    public static let defaultConnectionLimit = 256

    /// - Parameters:
    ///   - tlsConfiguration: the server side of TLS for `settings.tlsPort` (required when it is set).
    ///   - onListening: told the plain port once listening (or the TLS port when there is no plain one).
    public init(
        settings: SMPPServerSettings, defaultHost: String, dependencies: Dependencies, logger: Logger,
        metrics: SMPPMetrics? = nil, tlsConfiguration: TLSConfiguration? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.settings = settings
        self.metrics = metrics
        self.tlsConfiguration = tlsConfiguration
        host = settings.host ?? defaultHost
        connectionLimit = Atomic(settings.maxConnections ?? Self.defaultConnectionLimit)
        self.dependencies = dependencies
        var logger = logger
        logger[metadataKey: "front_door"] = "smpp"
        self.logger = logger
        listening = onListening
    }

    /// Caps the connections open at once; the daemon passes its descriptor budget's share for SMPP
    /// (a configured `max_connections` stays in force when lower). Call before `run`.
    public func limitConnections(to limit: Int) {
        connectionLimit.store(min(limit, settings.maxConnections ?? limit), ordering: .relaxed)
    }

    /// Connections allowed at once.
    public var maxConnections: Int { connectionLimit.load(ordering: .relaxed) }

    /// Connections open now, bound or not.
    public var openConnectionCount: Int { openConnections.load(ordering: .relaxed) }

    /// Customer binds open now.
    public var bindCount: Int { binds.all().count }

    /// The port listened on, once listening (useful with port 0 in tests).
    public var port: Int? { boundPort.withLock { $0 } }

    /// The TLS port listened on, once listening.
    public var tlsPort: Int? { boundTLSPort.withLock { $0 } }

    public func run() async throws {
        metrics?.serverStarted(connectionLimit: maxConnections)
        var servers: [any Channel] = []
        if settings.port > 0 {
            let server = try await listen(port: settings.port, tls: nil)
            boundPort.withLock { $0 = server.localAddress?.port }
            servers.append(server)
        }
        if settings.tlsPort > 0 {
            guard let tlsConfiguration else {
                throw SMPPServerError(
                    description: "smpp_server.tls.port is set but no certificate was given (smpp_server.tls)")
            }
            // One context for the listener; its configuration asks for the current certificate at
            // every handshake, so a renewed one is served without a new context.
            let context = try NIOSSLContext(configuration: tlsConfiguration)
            let server = try await listen(port: settings.tlsPort, tls: context)
            boundTLSPort.withLock { $0 = server.localAddress?.port }
            servers.append(server)
        }
        if let port = self.port ?? tlsPort { await listening(port) }
        let listeners = servers
        let pusher = Task { await self.pushDeliveries() }
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                for server in listeners { try? await server.closeFuture.get() }
            } onGracefulShutdown: {
                for server in listeners { server.close(promise: nil) }
            }
        } onCancel: {
            for server in listeners { server.close(promise: nil) }
        }
        pusher.cancel()
        await binds.unbindAll()
    }

    /// A listener that could not be opened, named with its address and what to do.
    public struct ListenFailure: Error, CustomStringConvertible {
        public let description: String
    }

    private func listen(port: Int, tls: NIOSSLContext?) async throws -> any Channel {
        do {
            return try await bind(port: port, tls: tls)
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ListenFailure(
                description:
                    "cannot listen for SMPP\(tls == nil ? "" : " over TLS") on \(host):\(port): the address is in use; another process holds the port (`ss -ltnp` shows which): stop it, or give smpp_server.\(tls == nil ? "port" : "tls.port") another port"
            )
        }
    }

    private func bind(port: Int, tls: NIOSSLContext?) async throws -> any Channel {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
                    try self.accept(channel)
                }
            }
            .bind(host: host, port: port).get()
        logger.info(
            tls == nil ? "SMPP server listening" : "SMPP server listening over TLS",
            metadata: ["address": "\(host):\(server.localAddress?.port ?? port)"])
        return server
    }

    private func accept(_ channel: any Channel) throws {
        // Every connection holds a descriptor: beyond the limit one is closed at once (SMPP has no
        // answer before a bind), so that idle connections cannot starve SQLite and the add-ons.
        let open = openConnections.wrappingAdd(1, ordering: .relaxed).newValue
        guard open <= maxConnections else {
            metrics?.serverConnections(openConnections.wrappingSubtract(1, ordering: .relaxed).newValue)
            metrics?.serverConnectionRefused()
            // At most one line per 10 s, with the count held back (every refusal is on /metrics).
            if let held = refusalLog.admit() {
                logger.warning(
                    "SMPP connection refused: the server holds as many as it allows",
                    metadata: [
                        "limit": "\(maxConnections)", "remote": "\(channel.remoteAddress?.ipAddress ?? "unknown")",
                        "refused_since_last_line": "\(held)",
                    ])
            }
            throw SMPPServerError(description: "connection limit reached")
        }
        metrics?.serverConnections(open)
        channel.closeFuture.whenComplete { [self] _ in
            metrics?.serverConnections(openConnections.wrappingSubtract(1, ordering: .relaxed).newValue)
        }
        let session = SMPPServerSession(server: self, remote: channel.remoteAddress?.ipAddress ?? "unknown")
        armSessionInitTimer(channel, session)
        try channel.pipeline.syncOperations.addHandler(
            IdleStateHandler(readTimeout: .seconds(Int64(settings.idleTimeoutSeconds))))
        try channel.pipeline.syncOperations.addHandler(
            IdleCloser(logger: logger) { await session.idle() })
        let connection = try SMPPConnection.configure(
            channel, responseTimeout: .seconds(Int64(settings.responseTimeoutSeconds)), enquireLinkInterval: nil,
            logger: logger, peerWindow: settings.submitWindow,
            onWindowFull: { [metrics] in metrics?.serverWindowFull() },
            onRequest: { pdu in await session.answer(pdu) })
        session.attach(connection)
        channel.closeFuture.whenComplete { _ in session.closed() }
    }

    /// SMPP 3.4 section 7.2, session_init_timer: the time allowed between a connection and its
    /// bind request. A connection still unbound when it runs out is closed, unless its bind is
    /// being answered (the password check waits its turn in the hashing pool, seconds on a busy
    /// machine): the ESME did bind in time, so the check runs again one period later.
    private func armSessionInitTimer(_ channel: any Channel, _ session: SMPPServerSession) {
        channel.eventLoop.scheduleTask(in: .seconds(Int64(settings.sessionInitSeconds))) { [self] in
            guard !session.isBound, channel.isActive else { return }
            guard !session.isAnswering else { return armSessionInitTimer(channel, session) }
            metrics?.serverBindTimeout()
            logger.info(
                "closing an SMPP connection that did not bind in time",
                metadata: ["session_init_seconds": "\(settings.sessionInitSeconds)"])
            channel.close(promise: nil)
        }
    }

    // MARK: Receipts and inbound messages

    /// Sends what is owed to accounts with a receiver bound, and closes binds whose credential was
    /// revoked or whose account was erased (once a second). It looks every 250 ms while little is
    /// owed; after a pass that found a full page for an account and got it accepted it goes on at
    /// once, so that a busy receiver is fed as fast as its window allows rather than one page per
    /// tick (which capped receipts at about 600/s per account). A receiver that defers what it is
    /// sent (a transient code, no answer) is asked again after a back-off that doubles from 250 ms
    /// to 30 s while it keeps deferring; what it refuses for good is not offered again.
    private func pushDeliveries() async {
        var lastRevocationCheck = ContinuousClock.now
        var backlog = false
        // Per account: passes deferred in a row, until when to wait, and the receiver binds that
        // deferred (a new bind is tried at once).
        var deferring: [String: (times: Int, until: ContinuousClock.Instant, binds: Set<Int>)] = [:]
        while !Task.isCancelled {
            if !backlog { try? await Task.sleep(for: .milliseconds(250)) }
            backlog = false
            if ContinuousClock.now - lastRevocationCheck >= .seconds(1) {
                lastRevocationCheck = ContinuousClock.now
                await closeRevoked()
            }
            let now = ContinuousClock.now
            let accounts = binds.receivingAccounts().filter { account in
                guard let wait = deferring[account] else { return true }
                return wait.until <= now || wait.binds != binds.receiverIDs(for: account)
            }
            guard !accounts.isEmpty else { continue }
            guard let due = try? await dependencies.deliveries.accountsWithDue(among: accounts) else { continue }
            for account in due {
                switch await push(account: account) {
                case .more:
                    deferring[account] = nil
                    backlog = true
                case .done:
                    deferring[account] = nil
                case .deferred:
                    let times = (deferring[account]?.times ?? 0) + 1
                    deferring[account] = (
                        times, .now + Self.backOff(afterDeferrals: times), binds.receiverIDs(for: account)
                    )
                }
            }
        }
    }

    /// How long to leave a receiver that deferred `times` passes in a row: 250 ms doubled each
    /// time, at most 30 s (an ESME that answers `ESME_RTHROTTLED` asks for less, not for the same).
    static func backOff(afterDeferrals times: Int) -> Duration {
        .milliseconds(min(30_000, 250 << min(max(times - 1, 0), 7)))
    }

    /// The most deliveries read for one account in one pass.
    static let pushPage = 200

    /// What a pass over one account's page left to do.
    enum PushOutcome: Equatable {
        /// The page was full and acknowledged: more may be owed at once.
        case more
        /// Nothing more is owed now.
        case done
        /// The receiver deferred some (a transient code, a timeout, the bind went): back off.
        case deferred
    }

    /// A receiver's answer to one `deliver_sm`.
    enum Answer: Sendable {
        case acknowledged(Int64)
        case refused(Int64, CommandStatus)
        case deferred
    }

    /// Pushes one page of what is owed to the account: acknowledged deliveries are settled, those
    /// refused for good (a permanent `deliver_sm_resp` code, SMPP 3.4 §5.1.3) settled as refused
    /// with the code kept, deferred ones stay owed.
    private func push(account: String) async -> PushOutcome {
        guard let pending = try? await dependencies.deliveries.due(accountID: account, limit: Self.pushPage),
            !pending.isEmpty
        else { return .done }
        let answers = await withTaskGroup(of: Answer.self) { group in
            var inFlight = 0
            var answers: [Answer] = []
            for delivery in pending {
                guard let bind = binds.receiver(for: account) else { break }
                if inFlight >= settings.window * max(1, binds.receiverCount(for: account)) {
                    if let done = await group.next() { answers.append(done) }
                    inFlight -= 1
                }
                inFlight += 1
                group.addTask {
                    // Parts of a long inbound message to an SMPP 3.3 receiver go one after the
                    // other; the delivery is acknowledged only when every part is.
                    for message in Self.deliverSm(for: delivery, optionalParameters: bind.optionalParameters) {
                        let status: CommandStatus
                        do {
                            status = try await bind.connection.request(.deliverSm, body: .deliverSm(message)).status
                        } catch SMPPSessionError.nack(let nack) {
                            // generic_nack: the receiver could not take the PDU at all (SMPP 3.4
                            // §4.3.1); the same PDU would fare no better, unless it said it was busy.
                            status = nack == .ok ? .unknownError : nack
                        } catch {
                            return .deferred
                        }
                        if status == .ok { continue }
                        return status.isTransient ? .deferred : .refused(delivery.id, status)
                    }
                    return .acknowledged(delivery.id)
                }
            }
            for await done in group { answers.append(done) }
            return answers
        }
        var acknowledged: [Int64] = []
        var refused: [(id: Int64, status: UInt32)] = []
        var deferred = 0
        for answer in answers {
            switch answer {
            case .acknowledged(let id): acknowledged.append(id)
            case .refused(let id, let status): refused.append((id, status.rawValue))
            case .deferred: deferred += 1
            }
        }
        try? await dependencies.deliveries.settle(acknowledged)
        if !refused.isEmpty {
            try? await dependencies.deliveries.refuse(refused)
            let codes = Set(refused.map { CommandStatus($0.status).name }).sorted()
            logger.warning(
                "the customer's receiver refused deliver_sm for good; they are not offered again",
                metadata: [
                    "account": "\(account)", "count": "\(refused.count)", "codes": "\(codes.joined(separator: ","))",
                ])
        }
        metrics?.serverDeliveries("acknowledged", acknowledged.count)
        metrics?.serverDeliveries("refused", refused.count)
        metrics?.serverDeliveries("deferred", deferred)
        if deferred > 0 { return .deferred }
        return pending.count == Self.pushPage && !acknowledged.isEmpty ? .more : .done
    }

    /// A message's `error_code` as SMPP carries it: the receipt's `err` has three digits (SMPP 3.4
    /// Appendix B), so a carrier's code of up to three digits goes as it is and the platform's own
    /// five-digit codes (30003 unreachable, 30006 no route, 30008 refused) as their last three
    /// (003, 006, 008). `query_sm_resp`'s `error_code` is one octet (§4.8.2): the same value, at
    /// most 255. 0 without a code.
    package static func receiptError(_ code: Int?) -> Int {
        guard let code, code > 0 else { return 0 }
        return code <= 999 ? code : code % 1000
    }

    /// The `deliver_sm` PDUs for a receipt (esm_class 0x04, SMPP 3.4 Appendix B text and the
    /// `receipted_message_id` and `message_state` TLVs) or an inbound message (one PDU, long text in
    /// `message_payload`). For a receiver of SMPP 3.3 (`optionalParameters` false), which knows no
    /// optional parameters, a receipt is its text alone and a long inbound message goes as parts
    /// with a concatenation header (esm_class 0x40, 3GPP TS 23.040 §9.2.3.24.1).
    static func deliverSm(for delivery: SMPPDeliveries.Pending, optionalParameters: Bool = true) -> [ShortMessage] {
        var message = ShortMessage()
        switch delivery.kind {
        case .receipt:
            // A receipt travels back: from the recipient to the sender.
            message.source = SMPPConnectorSettings.address(delivery.to)
            message.destination = SMPPConnectorSettings.address(delivery.from)
            message.esmClass = 0x04
            let state = Self.messageState(of: delivery.status)
            let receipt = DeliveryReceipt(
                messageID: delivery.messageID, state: state, error: Self.receiptError(delivery.errorCode))
            message.shortMessage = Array(
                receipt.text(
                    submitted: Self.smppDate(delivery.createdAt),
                    done: Self.smppDate(delivery.completedAt ?? delivery.createdAt)
                ).utf8)
            if optionalParameters {
                message.tlvs = [
                    TLV.cString(TLV.receiptedMessageID, delivery.messageID),
                    TLV(tag: TLV.messageState, value: [state.messageState]),
                ]
            }
            return [message]
        case .inbound:
            message.source = SMPPConnectorSettings.address(delivery.from)
            message.destination = SMPPConnectorSettings.address(delivery.to)
            let coding = TextCoding(longMessages: optionalParameters ? .messagePayload : .udh)
            let (dataCoding, parts) = coding.encode(
                delivery.body ?? "", reference: UInt16(truncatingIfNeeded: delivery.id))
            message.dataCoding = dataCoding
            return parts.map { part in
                var piece = message
                piece.shortMessage = part.shortMessage
                piece.esmClass = part.esmClass
                piece.tlvs = part.tlvs
                return piece
            }
        }
    }

    /// A message's status as SMPP 3.4 §5.2.28 names it, for receipts and `query_sm`: ENROUTE until
    /// final, then DELIVERED, UNDELIVERABLE, or REJECTED for a failed message.
    static func messageState(of status: MessageStatus) -> DeliveryReceipt.State {
        switch status {
        case .delivered: .delivered
        case .failed: .rejected
        case .undelivered: .undeliverable
        case .queued, .sent, .received: .enroute
        }
    }

    /// `YYMMDDhhmm` in UTC, as receipts write dates (SMPP 3.4 Appendix B): the absolute time's
    /// first ten characters.
    static func smppDate(_ millis: Int64) -> String { String(SMPPTime.absolute(millis).prefix(10)) }

    private func closeRevoked() async {
        for bind in binds.all() {
            if (try? await dependencies.credentials.isActive(systemID: bind.systemID)) == false {
                logger.info("closing a bind whose credential was revoked", metadata: ["system_id": "\(bind.systemID)"])
                // Removed first: a submit_sm that arrives before the ESME answers the unbind (or
                // while it ignores it) is refused, not sent under a revoked credential.
                binds.remove(bind.id)
                await bind.connection.unbind()
            }
        }
    }
}

/// Ends a connection that sent nothing for the idle timeout (SMPP 3.4 §7.2, inactivity_timer):
/// `onIdle` unbinds a bound one first, so its ESME knows the session ended by design. When
/// `onIdle` answers false (a request is still being answered) the next idle period is watched
/// again.
final class IdleCloser: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let logger: Logger
    let onIdle: @Sendable () async -> Bool
    private var ending = false

    init(logger: Logger, onIdle: @escaping @Sendable () async -> Bool) {
        self.logger = logger
        self.onIdle = onIdle
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? IdleStateHandler.IdleStateEvent, event == .read {
            guard !ending else { return }
            ending = true
            let loop = context.eventLoop
            let closer = NIOLoopBound(self, eventLoop: loop)
            let (onIdle, logger) = (self.onIdle, self.logger)
            Task {
                if await onIdle() {
                    logger.info("ended an idle SMPP connection")
                } else {
                    loop.execute { closer.value.ending = false }
                }
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// A server setting that cannot work, with what to change.
struct SMPPServerError: Error, CustomStringConvertible {
    let description: String
}
