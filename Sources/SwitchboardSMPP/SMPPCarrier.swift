import Foundation
import Logging
import NIOCore
import NIOSSL
import SMPP
import SwitchboardCore
import Synchronization

/// One SMPP 3.4 client connector: keeps its bind(s) to an SMSC up, submits within its window and
/// rate, and turns the SMSC's `deliver_sm` into delivery reports and inbound messages.
final class SMPPCarrier: Sendable {
    /// What one connector made of one submission.
    enum Attempt: Error, Sendable, Equatable {
        /// Every part accepted, with the SMSC's ids.
        case accepted([String])
        /// Refused for good (a permanent `command_status`, or a part lost after others were accepted).
        case rejected(code: Int, reason: String)
        /// Not taken now: not bound, throttling, or the connection dropped before the first part's
        /// response. Nothing of the message is known to have reached the SMSC.
        case unavailable(String)
    }

    private struct State {
        var transmitter: SMPPConnection?
        var receiver: SMPPConnection?
        var phase = ConnectorStatus.State.connecting
        var submitted = 0
        var accepted = 0
        var rejected = 0
        var throttled = 0
        var timeouts = 0
        var receipts = 0
        var inbound = 0
        var lastError: String?
        var lastErrorAt: Int64?
        var throttledUntil: ContinuousClock.Instant?
        var throttlePause: Duration = .milliseconds(250)
        var reference: UInt16 = UInt16.random(in: 0...UInt16.max)
        /// Accepted submits per second, for the last seconds (second since start → count).
        var perSecond: [Int: Int] = [:]
    }

    let settings: SMPPConnectorSettings
    private let logger: Logger
    private let window: SubmitWindow
    private let receipts: ReceiptMatcher
    private let partials: SMPPPartials
    private let delegate = Mutex<(any CarrierDelegate)?>(nil)
    private let state = Mutex(State())
    private let metrics: SMPPMetrics?
    private let started = ContinuousClock.now

    /// Times a throttled part is tried again on this connector before the message is deferred.
    static let throttleRetries = 8

    /// Connectors bound to the same SMSC with the same system_id, this one included: the SMSC may
    /// send a receipt on any of their binds, so they share `receipts` and look ids up together.
    private let siblings: [String]

    /// - Parameters:
    ///   - receipts: shared by the connectors in `siblings`.
    init(
        settings: SMPPConnectorSettings, siblings: [String], receipts: ReceiptMatcher, partials: SMPPPartials,
        metrics: SMPPMetrics?, logger: Logger
    ) {
        self.settings = settings
        self.partials = partials
        self.siblings = siblings
        self.metrics = metrics
        var logger = logger
        logger[metadataKey: "connector"] = "\(settings.name)"
        self.logger = logger
        window = SubmitWindow(size: settings.window, perSecond: settings.maxSubmitsPerSecond)
        self.receipts = receipts
    }

    func bind(_ delegate: any CarrierDelegate) {
        self.delegate.withLock { $0 = delegate }
    }

    var name: String { settings.name }

    var throttledUntil: ContinuousClock.Instant? {
        state.withLock { state in state.throttledUntil.flatMap { $0 > .now ? $0 : nil } }
    }

    var isBound: Bool { state.withLock { $0.phase == .bound } }

    // MARK: Binding

    /// Keeps the bind(s) up until the task is cancelled, reconnecting with backoff; on cancellation
    /// unbinds (SMPP 3.4 §4.2).
    func run() async {
        var backoff = settings.reconnectMinSeconds
        while !Task.isCancelled {
            do {
                let connections = try await bindAll()
                backoff = settings.reconnectMinSeconds
                logger.info("bound to the SMSC", metadata: ["address": "\(settings.host):\(settings.port)"])
                let cancelled = await waitForClose(connections)
                if cancelled { break }
                noteError("the connection to the SMSC closed")
                logger.warning("connection to the SMSC lost; reconnecting")
            } catch {
                noteError("\(error)")
                logger.error("could not bind to the SMSC", metadata: ["error": "\(error)", "retry_in_s": "\(backoff)"])
            }
            state.withLock {
                $0.transmitter = nil
                $0.receiver = nil
                $0.phase = .connecting
            }
            metrics?.bound(settings.name, false)
            try? await Task.sleep(for: .seconds(backoff))
            backoff = min(backoff * 2, settings.reconnectMaxSeconds)
        }
        state.withLock { $0.phase = .stopped }
        metrics?.bound(settings.name, false)
    }

    private func bindAll() async throws -> [SMPPConnection] {
        let request = BindRequest(
            systemID: settings.systemID, password: settings.password, systemType: settings.systemType)
        let handler: SMPPSessionHandler.RequestHandler = { [self] pdu in await self.answer(pdu) }
        let tls = try settings.tls.map { try Self.tlsContext($0) }
        func open(_ command: CommandID) async throws -> SMPPConnection {
            try await SMPPConnection.bind(
                host: settings.host, port: settings.port, as: command, bind: request,
                connectTimeout: .seconds(Int64(settings.responseTimeoutSeconds)),
                responseTimeout: .seconds(Int64(settings.responseTimeoutSeconds)),
                enquireLinkInterval: .seconds(Int64(settings.enquireLinkSeconds)), logger: logger, tls: tls,
                serverName: settings.tls.flatMap { $0.serverName ?? Self.hostName(settings.host) },
                onRequest: handler)
        }
        let connections: [SMPPConnection]
        switch settings.bindMode {
        case .transceiver:
            let session = try await open(.bindTransceiver)
            connections = [session]
            state.withLock {
                $0.transmitter = session
                $0.receiver = nil
            }
        case .transmitterAndReceiver:
            let transmitter = try await open(.bindTransmitter)
            let receiver: SMPPConnection
            do {
                receiver = try await open(.bindReceiver)
            } catch {
                await transmitter.unbind()
                throw error
            }
            connections = [transmitter, receiver]
            state.withLock {
                $0.transmitter = transmitter
                $0.receiver = receiver
            }
        }
        state.withLock { $0.phase = .bound }
        metrics?.bound(settings.name, true)
        delegate.withLock { $0 }?.carrierBecameAvailable()
        return connections
    }

    /// Waits until one of `connections` closes (then closes the others) or the task is cancelled
    /// (then unbinds them all); returns whether it was cancelled.
    private func waitForClose(_ connections: [SMPPConnection]) async -> Bool {
        let (closed, continuation) = AsyncStream<Void>.makeStream()
        for connection in connections {
            connection.channel.closeFuture.whenComplete { _ in continuation.yield() }
        }
        await withTaskCancellationHandler {
            var iterator = closed.makeAsyncIterator()
            _ = await iterator.next()
        } onCancel: {
            continuation.finish()
        }
        if Task.isCancelled {
            for connection in connections { await connection.unbind() }
            return true
        }
        for connection in connections { try? await connection.channel.close() }
        return false
    }

    private func noteError(_ error: String) {
        state.withLock {
            $0.lastError = error
            $0.lastErrorAt = Int64(Date().timeIntervalSince1970 * 1000)
        }
    }

    // MARK: Submitting

    /// Submits every part of `submission`; see `Attempt` for what comes back.
    func attempt(_ submission: CarrierSubmission) async -> Attempt {
        guard let connection = state.withLock({ $0.phase == .bound ? $0.transmitter : nil }) else {
            return .unavailable("not bound")
        }
        if throttledUntil != nil { return .unavailable("throttled by the SMSC") }
        let reference = state.withLock { state -> UInt16 in
            state.reference &+= 1
            return state.reference
        }
        let (dataCoding, parts) = settings.text.encode(submission.body, reference: reference)
        var ids: [String] = []
        for (index, part) in parts.enumerated() {
            var message = ShortMessage()
            message.source = settings.sourceAddress(submission.from)
            message.destination = settings.destinationAddress(submission.to)
            message.esmClass = part.esmClass
            message.registeredDelivery = settings.registeredDelivery
            message.dataCoding = dataCoding
            message.shortMessage = part.shortMessage
            message.tlvs = part.tlvs
            let label = parts.count > 1 ? "part \(index + 1) of \(parts.count)" : "the message"
            switch await submitPart(message, on: connection, first: index == 0, label: label) {
            case .success(let id):
                // An empty id names nothing a receipt could carry (it was logged).
                if !id.isEmpty { ids.append(id) }
            case .failure(let outcome):
                if case .unavailable = outcome, index > 0 {
                    // Earlier parts are at the SMSC: submitting the message again would repeat them.
                    return .rejected(
                        code: Int(CommandStatus.deliveryFailure.rawValue),
                        reason:
                            "connection to \(settings.name) lost after \(index) of \(parts.count) parts were accepted")
                }
                return outcome
            }
        }
        state.withLock { state in
            state.accepted += 1
            let second = Int((ContinuousClock.now - started).components.seconds)
            state.perSecond[second, default: 0] += 1
            state.perSecond = state.perSecond.filter { $0.key > second - 11 }
        }
        let overtaken = receipts.accepted(submission.messageID, as: ids)
        if let receipt = overtaken.first {
            // The receipt came before this response; apply it now that its message is known.
            let report = Self.report(receipt, messageID: submission.messageID)
            let delegate = self.delegate.withLock { $0 }
            Task { await delegate?.carrierDidReport([report]) }
        }
        return .accepted(ids)
    }

    private enum PartFailure: Error { case outcome(Attempt) }

    /// The transmitter link bound now, or the next one bound within `wait`; nil when none is.
    private func boundTransmitter(within wait: Duration) async -> SMPPConnection? {
        let deadline = ContinuousClock.now + wait
        while !Task.isCancelled {
            // The link closed a moment ago stays in the state until `run` notices: skip it.
            if let link = state.withLock({ $0.phase == .bound ? $0.transmitter : nil }), link.channel.isActive {
                return link
            }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    /// Sends one `submit_sm` and waits for its response: throttling waits and tries again, a timeout
    /// is tried once more (a timed-out submit may have been accepted, so never more than twice), on
    /// the next link when the silence closed this one.
    private func submitPart(_ message: ShortMessage, on connection: SMPPConnection, first: Bool, label: String) async
        -> Result<String, Attempt>
    {
        var connection = connection
        var timeouts = 0
        var throttles = 0
        while true {
            await window.acquire()
            metrics?.window(settings.name, window.inUse)
            state.withLock { $0.submitted += 1 }
            var outcome: Result<PDU, any Error>
            do {
                outcome = .success(try await connection.request(.submitSm, body: .submitSm(message)))
            } catch {
                outcome = .failure(error)
            }
            // Some SMSCs throttle with generic_nack: read as the same code in a submit_sm_resp
            // (slow down, try again), not as a refusal of the message.
            if case .failure(SMPPSessionError.nack(let status)) = outcome,
                status == .throttled || status == .messageQueueFull
            {
                outcome = .success(PDU(.submitSmResp, status: status, sequence: 0))
            }
            window.release()
            metrics?.window(settings.name, window.inUse)
            switch outcome {
            case .success(let response) where response.status == .ok:
                state.withLock { $0.throttlePause = .milliseconds(250) }
                metrics?.submit(settings.name, "accepted")
                guard case .messageResponse(let id) = response.body, !id.isEmpty else {
                    // Sent, but no receipt can name it: the message stays `sent`.
                    logger.warning(
                        "the SMSC accepted a submit_sm without a message_id; no receipt can be matched to it",
                        metadata: ["connector": "\(settings.name)", "message": "\(label)"])
                    return .success("")
                }
                return .success(id)
            case .success(let response) where response.status.isTransient:
                throttles += 1
                metrics?.submit(settings.name, "throttled")
                let pause = state.withLock { state -> Duration in
                    state.throttled += 1
                    let pause = state.throttlePause
                    state.throttlePause = min(pause * 2, .seconds(8))
                    state.throttledUntil = .now + pause
                    return pause
                }
                logger.debug("SMSC throttles", metadata: ["status": "\(response.status)", "pause": "\(pause)"])
                if first, throttles == 1 {
                    // The router may hand the message to another connector meanwhile.
                    return .failure(.unavailable("throttled by the SMSC (\(response.status.name))"))
                }
                if throttles > Self.throttleRetries {
                    return first
                        ? .failure(.unavailable("throttled by the SMSC (\(response.status.name))"))
                        : .failure(
                            .rejected(
                                code: Int(response.status.rawValue),
                                reason: "\(label) throttled by \(settings.name) \(throttles) times (\(response.status))"
                            ))
                }
                try? await Task.sleep(for: pause)
            case .success(let response):
                state.withLock { $0.rejected += 1 }
                metrics?.submit(settings.name, "rejected")
                return .failure(
                    .rejected(
                        code: Int(response.status.rawValue),
                        reason: "\(settings.name) refused \(label): \(response.status)"))
            case .failure(SMPPSessionError.malformedResponse(let reason)):
                // The SMSC may have taken it; sent again it could arrive twice.
                state.withLock { $0.rejected += 1 }
                metrics?.submit(settings.name, "rejected")
                return .failure(
                    .rejected(
                        code: Int(CommandStatus.deliveryFailure.rawValue),
                        reason:
                            "the submit_sm_resp of \(settings.name) for \(label) could not be read (\(reason)); not submitted again, so it is never sent twice"
                    ))
            case .failure(let error as SMPPSessionError) where error.isNoAnswer:
                // No answer in time, or the response of another command (counted as none): a
                // submit that may have been taken is tried once more, never a third time.
                timeouts += 1
                state.withLock { $0.timeouts += 1 }
                metrics?.submit(settings.name, "timeout")
                if timeouts < 2 {
                    guard !connection.channel.isActive else { continue }
                    // Nothing was read for the whole timeout and the link was closed: the one
                    // retry goes to the link bound next, not into the same silence.
                    let wait =
                        Duration.seconds(settings.responseTimeoutSeconds) + .seconds(settings.reconnectMinSeconds)
                    guard let next = await boundTransmitter(within: wait) else {
                        metrics?.submit(settings.name, "unavailable")
                        return .failure(
                            .unavailable(
                                "no submit_sm_resp from \(settings.name) for \(label) within \(settings.responseTimeoutSeconds) s, and the silent link was closed"
                            ))
                    }
                    connection = next
                    continue
                }
                let what =
                    if case .unexpectedResponse(let response, _) = error {
                        "\(settings.name) answered \(label)'s submit_sm with \(response), twice"
                    } else {
                        "no submit_sm_resp from \(settings.name) for \(label) within \(settings.responseTimeoutSeconds) s, twice"
                    }
                return .failure(
                    .rejected(
                        code: Int(CommandStatus.deliveryFailure.rawValue),
                        reason: "\(what); not submitted a third time, so it is never sent more than twice"))
            case .failure(SMPPSessionError.nack(let status)):
                state.withLock { $0.rejected += 1 }
                metrics?.submit(settings.name, "rejected")
                return .failure(
                    .rejected(code: Int(status.rawValue), reason: "\(settings.name) answered generic_nack \(status)"))
            case .failure(let error):
                metrics?.submit(settings.name, "unavailable")
                return .failure(.unavailable("\(error)"))
            }
        }
    }

    // MARK: What the SMSC sends

    /// Answers a request of the SMSC: `deliver_sm` (a receipt or an inbound message) once it is
    /// recorded, so an SMSC that gets no answer sends it again; anything else with `generic_nack`.
    private func answer(_ pdu: PDU) async -> PDU? {
        guard case .deliverSm(let message) = pdu.body else {
            return PDU(.genericNack, status: .invalidCommandID, sequence: pdu.sequence)
        }
        let status = message.isDeliveryReceipt ? await receipt(message) : await inbound(message, pdu: pdu)
        return pdu.response(status, body: .messageResponse(messageID: ""))
    }

    private func receipt(_ message: ShortMessage) async -> CommandStatus {
        guard let receipt = DeliveryReceipt(message) else {
            // Acknowledged all the same: the SMSC would otherwise send it again and again.
            logger.warning(
                "unreadable delivery receipt", metadata: ["text": "\(String(decoding: message.content, as: UTF8.self))"]
            )
            return .ok
        }
        guard receipt.state.isFinal else { return .ok }
        state.withLock { $0.receipts += 1 }
        metrics?.receipt(settings.name)
        let delegate = self.delegate.withLock { $0 }
        var messageID = receipts.recentMessage(for: receipt.messageID)?.messageID
        var settledMatch = false
        if messageID == nil {
            do {
                let candidates = receipts.candidates(receipt.messageID)
                let found =
                    try await delegate?.submissions(connectors: siblings, carrierMessageIDs: candidates) ?? [:]
                if let key = candidates.first(where: { found[$0] != nil }), let submission = found[key] {
                    receipts.matched(receipt.messageID, under: key)
                    // A message already final takes no receipt. Its id may have been given again (an
                    // SMSC that restarted counts from the start) to a submission whose
                    // submit_sm_resp is still being recorded: the receipt waits for it, as an early
                    // one does, rather than be spent on the old message.
                    if submission.settled { settledMatch = true } else { messageID = submission.messageID }
                }
            } catch {
                logger.error("could not look up a receipt's message", metadata: ["error": "\(error)"])
                return .temporaryAppError
            }
        }
        if messageID == nil {
            // Waiting briefly for a settled id's new submission: a response comes within seconds, and
            // the other parts' receipts of a settled long message need not be kept 10 minutes.
            messageID = receipts.keepEarly(receipt, keep: settledMatch ? .seconds(60) : .seconds(600))
        }
        guard let messageID else { return .ok }
        await delegate?.carrierDidReport([Self.report(receipt, messageID: messageID)])
        return .ok
    }

    static func report(_ receipt: DeliveryReceipt, messageID: String) -> DeliveryReport {
        let outcome: DeliveryReport.Outcome
        switch receipt.state {
        case .delivered: outcome = .delivered
        case .rejected: outcome = .failed
        default: outcome = .undelivered
        }
        return DeliveryReport(
            messageID: messageID, outcome: outcome, errorCode: outcome == .delivered ? nil : receipt.error,
            errorMessage: outcome == .delivered
                ? nil : "SMSC receipt stat:\(receipt.state.rawValue) err:\(receipt.error.map(String.init) ?? "-")")
    }

    private func inbound(_ message: ShortMessage, pdu: PDU) async -> CommandStatus {
        let data: TextCoding.UserData
        let part: TextCoding.Concatenation?
        var text: String
        do {
            (data, part) = try settings.text.userData(message, command: pdu.commandID, sequence: pdu.sequence)
            text = try settings.text.text(of: data, command: pdu.commandID, sequence: pdu.sequence, within: part)
        } catch {
            logger.warning("unreadable inbound message", metadata: ["error": "\(error)"])
            return error.status
        }
        let from = Self.number(message.source)
        let to = Self.number(message.destination)
        var parts: SMPPPartials.Key?
        if let part, part.total > 1, part.sequence >= 1, part.sequence <= part.total {
            // Kept in the database before deliver_sm_resp: the SMSC will not send the part again.
            // Parts may come over any bind of the same SMSC account.
            let key = SMPPPartials.Key(
                scope: "smsc:\(settings.host):\(settings.port):\(settings.systemID)", source: from, destination: to,
                reference: part.key, total: Int(part.total))
            let added: SMPPPartials.Added
            do {
                let kept = SMPPPartials.Part(dataCoding: data.dataCoding, content: data.units)
                added = try await partials.add(key, sequence: Int(part.sequence), part: kept)
            } catch {
                logger.error("could not store a part of an inbound message", metadata: ["error": "\(error)"])
                return .temporaryAppError
            }
            // A part of a message already received, sent again by the SMSC, is taken once.
            guard case .whole(let whole) = added else { return .ok }
            do {
                // Joined before it is read: a character the SMSC split between parts is read whole.
                text = try settings.text.text(
                    ofParts: whole.map { TextCoding.UserData(dataCoding: $0.dataCoding, units: $0.content) },
                    command: pdu.commandID, sequence: pdu.sequence)
            } catch {
                logger.warning("unreadable inbound message", metadata: ["error": "\(error)"])
                await unclaim(key, receiveAgain: false)
                return error.status
            }
            parts = key
        }
        state.withLock { $0.inbound += 1 }
        metrics?.inbound(settings.name)
        do {
            _ = try await delegate.withLock { $0 }?.carrierDidReceive(InboundSMS(from: from, to: to, body: text))
            return .ok
        } catch is UnroutableInbound {
            logger.warning("inbound message for a number no account holds", metadata: ["to": "\(to)"])
            await unclaim(parts, receiveAgain: false)
            return .invalidDestinationAddress
        } catch {
            logger.error("could not store an inbound message", metadata: ["error": "\(error)"])
            await unclaim(parts, receiveAgain: true)
            return .temporaryAppError
        }
    }

    /// After a message completed by its last part was not stored: releases its parts for the SMSC
    /// to send the last part again (`receiveAgain`, after ESME_RX_T_APPN), or forgets them (refused
    /// for good). A release that fails leaves the parts claimed until they expire.
    private func unclaim(_ parts: SMPPPartials.Key?, receiveAgain: Bool) async {
        guard let parts else { return }
        do {
            if receiveAgain {
                try await partials.release(parts)
            } else {
                try await partials.forget(parts)
            }
        } catch {
            logger.warning("the parts of an inbound message could not be settled", metadata: ["error": "\(error)"])
        }
    }

    /// An SMPP address as the platform writes numbers: E.164 with `+` for numbers (SMPP carries
    /// them without it), alphanumeric ids as they are.
    static func number(_ address: SMPPAddress) -> String {
        let digits = address.address.hasPrefix("+") ? String(address.address.dropFirst()) : address.address
        guard !digits.isEmpty, digits.allSatisfy(\.isASCIIDigit), address.ton != SMPPAddress.tonAlphanumeric else {
            return address.address
        }
        return "+" + digits
    }

    // MARK: Status

    func status() async -> ConnectorStatus {
        let transmitter = state.withLock { $0.transmitter }
        let inFlight = await transmitter?.inFlight() ?? 0
        let second = Int((ContinuousClock.now - started).components.seconds)
        return state.withLock { state in
            let recent = state.perSecond.filter { $0.key >= second - 10 && $0.key < second }.values.reduce(0, +)
            return ConnectorStatus(
                name: settings.name, address: "\(settings.host):\(settings.port)", bindMode: settings.bindMode.rawValue,
                state: state.phase, windowInUse: inFlight, window: settings.window, prefixes: settings.prefixes,
                submitted: state.submitted, accepted: state.accepted, rejected: state.rejected,
                throttled: state.throttled, timeouts: state.timeouts, receipts: state.receipts, inbound: state.inbound,
                throughput: Double(recent) / 10, lastError: state.lastError, lastErrorAt: state.lastErrorAt,
                throttledUntil: state.throttledUntil.flatMap { until in
                    until > .now
                        ? Int64(Date().timeIntervalSince1970 * 1000)
                            + Int64((until - .now).components.seconds * 1000)
                        : nil
                })
        }
    }
}

extension SMPPCarrier {
    /// A client context that offers TLS 1.2 and 1.3 and verifies the SMSC's certificate against
    /// `settings.caFile` or the system's roots. Made at each bind, so a renewed CA file is read.
    /// - Throws: `SMPPBindError.tls` when the CA file cannot be read.
    static func tlsContext(_ settings: SMPPConnectorSettings.TLSSettings) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let caFile = settings.caFile { configuration.trustRoots = .file(caFile) }
        do {
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw SMPPBindError.tls("cannot use tls.ca_file \(settings.caFile ?? "(system roots)"): \(error)")
        }
    }

    /// `host` when it is a name; nil for an IP address (checked against the certificate's
    /// addresses, and never sent as SNI, RFC 6066 §3).
    static func hostName(_ host: String) -> String? {
        (try? SocketAddress(ipAddress: host, port: 0)) == nil ? host : nil
    }
}
