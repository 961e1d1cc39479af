import Foundation
import Logging
import SMPP
import SwitchboardCore
import Synchronization

/// One customer connection to the SMPP server: its bind state and the answers to its requests.
package final class SMPPServerSession: Sendable {
    private struct State {
        var connection: SMPPConnection?
        var bind: (id: Int, accountID: String, systemID: String, canTransmit: Bool)?
        /// Requests of the ESME still being answered; while any is, the session is not idle.
        var answering = 0
    }

    private let server: SMPPServer
    private let remote: String
    private let state = Mutex(State())

    init(server: SMPPServer, remote: String) {
        self.server = server
        self.remote = remote
    }

    func attach(_ connection: SMPPConnection) {
        state.withLock { $0.connection = connection }
    }

    /// Whether a bind succeeded on this connection (it stays true after an unbind: the connection
    /// then closes).
    var isBound: Bool { state.withLock { $0.bind != nil } }

    /// Whether a request of the ESME (a bind among them) is being answered now.
    var isAnswering: Bool { state.withLock { $0.answering > 0 } }

    func closed() {
        if let id = state.withLock({ $0.bind?.id }) { server.binds.remove(id) }
    }

    /// Ends the session after the idle timeout (SMPP 3.4 §7.2, inactivity_timer): a bound ESME is
    /// taken off the binds (nothing more is sent to it) and sent `unbind`, then the connection closes.
    ///
    /// - Returns: false, ending nothing, while a request of the ESME is still being answered: the
    ///   inactivity timer counts the time between transactions, and an ESME waiting for a slow bind
    ///   response is not idle.
    func idle() async -> Bool {
        let (bind, connection, answering) = state.withLock { ($0.bind, $0.connection, $0.answering) }
        guard answering == 0 else { return false }
        guard let connection else { return true }
        if let bind {
            server.binds.remove(bind.id)
            await connection.unbind()
        } else {
            try? await connection.channel.close()
        }
        return true
    }

    private var logger: Logger { server.logger }

    /// The response to a request of the ESME.
    func answer(_ pdu: PDU) async -> PDU? {
        state.withLock { $0.answering += 1 }
        defer { state.withLock { $0.answering -= 1 } }
        switch pdu.body {
        case .bind(let request):
            return await bind(pdu, request)
        case .submitSm(let message):
            return await submit(pdu, message)
        case .querySm(let messageID, let source):
            return await query(pdu, messageID: messageID, source: source)
        case .deliverSm:
            // deliver_sm goes from the SMSC to the ESME, not the other way (SMPP 3.4 §4.6).
            return PDU(.genericNack, status: .invalidCommandID, sequence: pdu.sequence)
        default:
            return PDU(.genericNack, status: .invalidCommandID, sequence: pdu.sequence)
        }
    }

    // MARK: Bind

    private func bind(_ pdu: PDU, _ request: BindRequest) async -> PDU {
        func refuse(_ status: CommandStatus, _ reason: String) -> PDU {
            logger.info(
                "SMPP bind refused",
                metadata: ["system_id": "\(request.systemID)", "remote": "\(remote)", "reason": "\(reason)"])
            // An unbound connection has nothing more to do; it is closed once the answer left.
            if let channel = state.withLock({ $0.bind == nil ? $0.connection?.channel : nil }) {
                Task {
                    try? await Task.sleep(for: .milliseconds(200))
                    try? await channel.close()
                }
            }
            return pdu.response(status, body: .bindResponse(systemID: "", tlvs: []))
        }
        guard state.withLock({ $0.bind == nil }) else { return refuse(.alreadyBound, "already bound") }
        // SMPP 3.4 §5.2.4: interface_version below 0x34 is SMPP 3.3 or earlier, which has no
        // bind_transceiver (3.4 §4.1.5 added it); such an ESME binds a transmitter and a receiver.
        guard pdu.commandID != .bindTransceiver || request.interfaceVersion >= 0x34 else {
            return refuse(
                .invalidCommandID,
                "bind_transceiver with interface_version 0x\(String(request.interfaceVersion, radix: 16)): SMPP 3.3 has no transceiver; bind a transmitter and a receiver, or bind with interface_version 0x34"
            )
        }
        let dependencies = server.dependencies
        // Per address only, as API keys are: the password is 8 characters the server drew from 57
        // (about 47 bits), beyond any guessing rate, and a lock per system_id would let anyone who
        // learns one (it is no secret) lock its owner's binds out.
        let keys: [AuthThrottle.Key] = [.address(remote)]
        guard case .admitted(let reservation) = dependencies.throttle.reserve(keys) else {
            return refuse(.bindFailed, "too many failed binds from this address")
        }
        let accountID: String?
        do {
            accountID = try await dependencies.credentials.authenticate(
                systemID: request.systemID, password: request.password)
        } catch {
            dependencies.throttle.giveBack(reservation)
            return refuse(.systemError, "could not check the credentials: \(error)")
        }
        guard let accountID else { return refuse(.invalidPassword, "wrong system_id or password") }
        dependencies.throttle.giveBack(reservation)
        guard let connection = state.withLock({ $0.connection }) else { return refuse(.systemError, "no connection") }
        let canReceive = pdu.commandID != .bindTransmitter
        let canTransmit = pdu.commandID != .bindReceiver
        guard
            let id = server.binds.add(
                accountID: accountID, systemID: request.systemID, canReceive: canReceive,
                optionalParameters: request.interfaceVersion >= 0x34, connection: connection,
                limit: server.settings.maxBindsPerAccount)
        else {
            return refuse(
                .bindFailed,
                "the account holds \(server.settings.maxBindsPerAccount) binds already (smpp_server.max_binds_per_account)"
            )
        }
        state.withLock { $0.bind = (id, accountID, request.systemID, canTransmit) }
        logger.info(
            "SMPP bound",
            metadata: ["system_id": "\(request.systemID)", "remote": "\(remote)", "bind": "\(pdu.commandID)"])
        // sc_interface_version only to an ESME of SMPP 3.4 or later: one of 3.3 would not expect
        // optional parameters in its bind response (SMPP 3.4 §4.1.2).
        let version =
            request.interfaceVersion >= 0x34 ? [TLV(tag: TLV.scInterfaceVersion, value: [0x34])] : []
        return pdu.response(.ok, body: .bindResponse(systemID: "Switchboard", tlvs: version))
    }

    // MARK: submit_sm

    private func submit(_ pdu: PDU, _ message: ShortMessage) async -> PDU {
        let started = ContinuousClock.now
        guard let bind = state.withLock({ $0.bind }), bind.canTransmit, server.binds.contains(bind.id) else {
            return pdu.response(.invalidBindStatus, body: .messageResponse(messageID: ""))
        }
        // Switchboard sends at once: a delivery asked for later is refused, not sent early.
        if !message.scheduleDeliveryTime.isEmpty {
            log(bind.accountID, status: 422, started: started)
            logger.info(
                "submit_sm refused: schedule_delivery_time is not offered; send the message when it is due",
                metadata: ["system_id": "\(bind.systemID)"])
            return pdu.response(.invalidScheduledDeliveryTime, body: .messageResponse(messageID: ""))
        }
        if let problem = SMPPTime.validityProblem(message.validityPeriod, now: Date()) {
            log(bind.accountID, status: 422, started: started)
            logger.info("submit_sm refused: \(problem)", metadata: ["system_id": "\(bind.systemID)"])
            return pdu.response(.invalidExpiry, body: .messageResponse(messageID: ""))
        }
        if let refusal = SMPPSubmitRules.check(message) {
            log(bind.accountID, status: 422, started: started)
            logger.info("submit_sm refused: \(refusal.reason)", metadata: ["system_id": "\(bind.systemID)"])
            return pdu.response(refusal.status, body: .messageResponse(messageID: ""))
        }
        let coding = TextCoding(packing: server.settings.text.gsm7Packed ? .packed : .unpacked)
        let data: TextCoding.UserData
        let text: String
        let part: TextCoding.Concatenation?
        do {
            (data, part) = try coding.userData(message, command: pdu.commandID, sequence: pdu.sequence, strict: true)
            // A part is checked on its own as it comes, so that its fault is answered on it; it may
            // start or end inside a character, which the joined text decides.
            text = try coding.text(of: data, command: pdu.commandID, sequence: pdu.sequence, strict: true, within: part)
        } catch {
            log(bind.accountID, status: 422, started: started)
            logger.info("submit_sm refused: \(error)", metadata: ["system_id": "\(bind.systemID)"])
            return pdu.response(error.status, body: .messageResponse(messageID: ""))
        }
        let to = SMPPCarrier.number(message.destination)
        let from = SMPPCarrier.number(message.source)
        var body = text
        var parts: SMPPPartials.Key?
        // A part numbered out of range was refused above; a total of 1 is a whole message.
        if let part, part.total > 1 {
            // Kept in the database before the part is acknowledged: the ESME will not send it again.
            // Parts of one message may come over any of the account's binds.
            let key = SMPPPartials.Key(
                scope: SMPPPartials.Key.account(bind.accountID), source: from, destination: to,
                reference: part.key, total: Int(part.total))
            let added: SMPPPartials.Added
            do {
                added = try await server.dependencies.partials.add(
                    key, sequence: Int(part.sequence),
                    part: SMPPPartials.Part(dataCoding: data.dataCoding, content: data.units), replacing: false)
            } catch let held as SMPPPartials.PartHeld {
                log(bind.accountID, status: 409, started: started)
                logger.info("submit_sm refused: \(held)", metadata: ["system_id": "\(bind.systemID)"])
                return pdu.response(.submitFailed, body: .messageResponse(messageID: ""))
            } catch {
                log(bind.accountID, status: 503, started: started)
                logger.error("a message part could not be stored", metadata: ["error": "\(error)"])
                return pdu.response(.temporaryAppError, body: .messageResponse(messageID: ""))
            }
            guard case .whole(let whole) = added else {
                // Earlier parts are answered with an id of their own, never one given before (an
                // ESME reuses its 8-bit references soon); the receipt names the message's id,
                // given with the last part. A part of a message already completed, sent again
                // (also the last, twice at once or over two binds), is taken once the same way.
                return pdu.response(.ok, body: .messageResponse(messageID: Identifier.make("part")))
            }
            do {
                body = try coding.text(
                    ofParts: whole.map { TextCoding.UserData(dataCoding: $0.dataCoding, units: $0.content) },
                    command: pdu.commandID, sequence: pdu.sequence, strict: true)
            } catch {
                // Each part was readable alone, the message is not (a surrogate or an escape whose
                // other half never came): refused for good, on the part that completed it.
                log(bind.accountID, status: 422, started: started)
                logger.info("submit_sm refused: \(error)", metadata: ["system_id": "\(bind.systemID)"])
                await unclaim(key, sendAgain: false)
                return pdu.response(error.status, body: .messageResponse(messageID: ""))
            }
            parts = key
        }
        var request = SendService.Request(accountID: bind.accountID, to: to, from: from, body: body)
        request.smppRegisteredDelivery = message.registeredDelivery & 3
        do {
            let sent = try await server.dependencies.sending.send(request)
            log(bind.accountID, status: 201, started: started)
            return pdu.response(.ok, body: .messageResponse(messageID: sent.id))
        } catch let refusal as SendService.Refusal {
            let (status, http, reason) = Self.answer(for: refusal)
            log(bind.accountID, status: http, started: started)
            // Refused for good: the parts go. Throttled: they stay for the last part sent again.
            if case .rateLimited = refusal {
                await unclaim(parts, sendAgain: true)
            } else {
                await unclaim(parts, sendAgain: false)
            }
            logger.info(
                "submit_sm refused",
                metadata: ["system_id": "\(bind.systemID)", "status": "\(status)", "reason": "\(reason)"])
            return pdu.response(status, body: .messageResponse(messageID: ""))
        } catch {
            log(bind.accountID, status: 503, started: started)
            logger.error("submit_sm could not be stored", metadata: ["error": "\(error)"])
            await unclaim(parts, sendAgain: true)
            return pdu.response(.temporaryAppError, body: .messageResponse(messageID: ""))
        }
    }

    // MARK: query_sm

    /// A message's state (SMPP 3.4 §4.8): one the account sent, by the id its `submit_sm_resp`
    /// carried (or `POST /v1/messages` gave). Another account's id, an inbound message's, a part's
    /// or one erased is `ESME_RINVMSGID`; a `source_addr` that is not the message's sender is
    /// `ESME_RINVSRCADR` (an empty one is not checked).
    private func query(_ pdu: PDU, messageID: String, source: SMPPAddress) async -> PDU {
        let refused = PDUBody.querySmResponse(
            QueryResult(messageID: messageID, finalDate: "", messageState: 0, errorCode: 0))
        guard let bind = state.withLock({ $0.bind }), server.binds.contains(bind.id) else {
            return pdu.response(.invalidBindStatus, body: refused)
        }
        let message: Message?
        do {
            message = try await server.dependencies.messages.find(accountID: bind.accountID, id: messageID)
        } catch {
            logger.error("query_sm could not read the message", metadata: ["error": "\(error)"])
            return pdu.response(.queryFailed, body: refused)
        }
        guard let message, message.direction == .outbound else {
            return pdu.response(.invalidMessageID, body: refused)
        }
        if !source.address.isEmpty, SMPPCarrier.number(source) != message.from {
            return pdu.response(.invalidSourceAddress, body: refused)
        }
        let state = SMPPServer.messageState(of: message.status).messageState
        let finalDate = message.status.isFinal ? message.completedAt.map(SMPPTime.absolute) ?? "" : ""
        return pdu.response(
            .ok,
            body: .querySmResponse(
                QueryResult(
                    messageID: message.id, finalDate: finalDate, messageState: state,
                    errorCode: message.status.isFinal
                        ? UInt8(clamping: SMPPServer.receiptError(message.errorCode)) : 0)))
    }

    /// After a message completed by its last part was not stored: releases its parts for the last
    /// part sent again (`sendAgain`: throttled, storage), or forgets them (refused for good). A
    /// release that fails leaves the parts claimed until they expire.
    private func unclaim(_ parts: SMPPPartials.Key?, sendAgain: Bool) async {
        guard let parts else { return }
        do {
            if sendAgain {
                try await server.dependencies.partials.release(parts)
            } else {
                try await server.dependencies.partials.forget(parts)
            }
        } catch {
            logger.warning("the parts of a refused message could not be settled", metadata: ["error": "\(error)"])
        }
    }

    /// The SMPP answer to a refusal, the HTTP status the same refusal gets (for the activity log)
    /// and the reason for the log.
    /// The rules are `POST /v1/messages`'s; a reason names the submit_sm field the ESME sent.
    private static let smppNames = [
        "to": "destination_addr", "from": "source_addr", "body": "the text (short_message or message_payload)",
    ]

    package static func answer(for refusal: SendService.Refusal) -> (CommandStatus, Int, String) {
        switch refusal {
        case .invalid(let problems):
            let reason = problems.map { "\(smppNames[$0.field] ?? $0.field) \($0.message)" }.joined(separator: "; ")
            let fields = Set(problems.map(\.field))
            if fields.contains("to") { return (.invalidDestinationAddress, 422, reason) }
            if fields.contains("from") { return (.invalidSourceAddress, 422, reason) }
            if fields.contains("body") { return (.invalidMessageLength, 422, reason) }
            return (.submitFailed, 422, reason)
        case .rateLimited(let retryAfter, let perSecond):
            return (.throttled, 429, "send rate \(perSecond)/s exceeded; retry in \(retryAfter) s")
        case .blocked(let addonID, let name, let code, let reason):
            return (.rejectedByApp, 422, "blocked by \(name) (\(addonID)) \(code): \(reason)")
        case .optedOut(let number, let keyword, _):
            return (.permanentAppError, 422, "\(number) opted out with \(keyword)")
        }
    }

    private func log(_ accountID: String, status: Int, started: ContinuousClock.Instant) {
        let elapsed = (ContinuousClock.now - started).components
        server.dependencies.usage.log(
            UsageStore.RequestRecord(
                at: Date(), accountID: accountID, method: "SMPP", path: "submit_sm", status: status,
                latencyMicros: elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000, ip: remote))
    }
}
