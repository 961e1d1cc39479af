import Logging
import NIOCore
import NIOSSL
import SMPP

/// One SMPP session's bookkeeping on its channel's event loop: numbers and matches requests with
/// their responses (SMPP 3.4 §2.6), times them out, answers `enquire_link` and `unbind`, keeps the
/// link alive with `enquire_link` when idle, and hands the peer's other requests to `onRequest`.
///
/// Errors of the peer are answered as SMPP 3.4 §4.3 asks: an unknown command (request or
/// response) with `generic_nack` (`ESME_RINVCMDID`) and the session goes on; a `command_length`
/// that cannot be trusted with `generic_nack`, and a body that does not parse with the request's
/// own response and the code naming the field, and the connection is closed. Only this connection
/// ends; other binds are untouched.
///
/// The peer's requests are answered `peerWindow` at a time: beyond that, the connection is not read
/// until an answer goes out, so TCP holds the peer back (the window of SMPP 3.4 §2.6, kept by the
/// receiving side), and a peer that never waits for its responses costs bounded memory.
final class SMPPSessionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Result<PDU, SMPPError>
    typealias OutboundOut = PDU

    /// Answers a request of the peer (`submit_sm`, `deliver_sm`, a bind); nil sends nothing.
    typealias RequestHandler = @Sendable (PDU) async -> PDU?

    private struct Pending {
        let command: CommandID
        let promise: EventLoopPromise<PDU>
        let timeout: Scheduled<Void>
    }

    /// What a request that outlives the response timeout says about the link.
    enum Silence: Sendable {
        /// Only that request failed (an ESME's receiver may take its time over one deliver_sm).
        case failsTheRequest
        /// When nothing at all was read since the request was written, the link is closed too:
        /// the peer is gone, or its stream is out of step (a length word read from garbage leaves
        /// the decoder waiting for octets that never come) and every later answer would be lost
        /// in it. Kannel offers the same on an expired acknowledgement (`wait-ack-expire 0x00`,
        /// disconnect and reconnect). A slow peer that answers anything in the meantime keeps it.
        case closesASilentLink
    }

    private let eventLoop: any EventLoop
    private let responseTimeout: TimeAmount
    private let enquireLinkInterval: TimeAmount?
    private let silence: Silence
    private let onRequest: RequestHandler
    private let peerWindow: Int
    private let onWindowFull: @Sendable () -> Void
    private let logger: Logger
    /// The peer's requests being answered, and those read but not yet started (at most one read's worth).
    private var peerInProgress = 0
    private var peerWaiting = CircularBuffer<PDU>()
    private var readingPaused = false
    private var pending: [UInt32: Pending] = [:]
    private var nextSequence: UInt32 = 1
    private var context: ChannelHandlerContext?
    private var lastRead = NIODeadline.now()
    private var keepAlive: Scheduled<Void>?
    /// Whether a flush of the writes made so far is queued on the event loop (`flushSoon`).
    private var flushScheduled = false
    /// Whether the session is ending (`end(_:with:)`), and what it sends last.
    private var ending: Ending = .no

    private enum Ending {
        case no
        /// Nothing more is read or started; `last` goes out once every request read before has
        /// its answer, and the connection closes.
        case draining(last: PDU)
        case done
    }

    /// - Parameters:
    ///   - peerWindow: the peer's requests answered at once; reading pauses while that many are.
    ///   - onWindowFull: told each time reading pauses (for `/metrics`).
    init(
        eventLoop: any EventLoop, responseTimeout: TimeAmount, enquireLinkInterval: TimeAmount?,
        silence: Silence = .failsTheRequest, logger: Logger, peerWindow: Int = 64,
        onWindowFull: @escaping @Sendable () -> Void = {}, onRequest: @escaping RequestHandler
    ) {
        self.eventLoop = eventLoop
        self.responseTimeout = responseTimeout
        self.enquireLinkInterval = enquireLinkInterval
        self.silence = silence
        self.logger = logger
        self.peerWindow = max(1, peerWindow)
        self.onWindowFull = onWindowFull
        self.onRequest = onRequest
    }

    /// Requests in flight (the window in use).
    var inFlight: Int { pending.count }

    /// Why the TLS layer below ended the connection, if it did (an untrusted certificate…).
    private(set) var tlsFailure: String?

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if let interval = enquireLinkInterval { scheduleProbe(context, in: interval) }
    }

    /// Looks again when `interval` will have passed since the last read, not a fixed period
    /// later: a link that went quiet just after a check is probed `interval` after its last read,
    /// not up to twice that.
    private func scheduleProbe(_ context: ChannelHandlerContext, in delay: TimeAmount) {
        guard let interval = enquireLinkInterval else { return }
        keepAlive = context.eventLoop.assumeIsolated().scheduleTask(in: delay) { [self] in
            let quiet = NIODeadline.now() - self.lastRead
            if quiet >= interval { self.probe(interval: interval) }
            guard let context = self.context else { return }
            self.scheduleProbe(context, in: quiet >= interval ? interval : interval - quiet)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        keepAlive?.cancel()
        self.context = nil
    }

    /// Sends `enquire_link` when nothing was read for `interval`; a peer that does not answer it
    /// within the response timeout is gone, and the connection is closed.
    private func probe(interval: TimeAmount) {
        guard NIODeadline.now() - lastRead >= interval, let context else { return }
        request(.enquireLink).assumeIsolated().whenFailure { [self] error in
            self.logger.warning("enquire_link unanswered; closing the connection", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    /// Sends a request and returns its response (a `generic_nack` is a failure,
    /// `SMPPSessionError.nack`). Must be called on the event loop.
    func request(_ command: CommandID, body: PDUBody = .empty) -> EventLoopFuture<PDU> {
        guard let context, context.channel.isActive else {
            return eventLoop.makeFailedFuture(SMPPSessionError.closed)
        }
        let sequence = nextSequence
        // Sequence numbers run from 1 to 0x7FFFFFFF (SMPP 3.4 §5.1.4).
        nextSequence = nextSequence >= 0x7FFF_FFFF ? 1 : nextSequence + 1
        let promise = context.eventLoop.makePromise(of: PDU.self)
        let written = NIODeadline.now()
        let timeout = context.eventLoop.assumeIsolated().scheduleTask(in: responseTimeout) { [self] in
            guard let waiting = self.pending.removeValue(forKey: sequence) else { return }
            if self.silence == .closesASilentLink, self.lastRead < written, let context = self.context {
                self.logger.warning(
                    "nothing read from the peer for a whole response timeout while a request waited; closing the link",
                    metadata: ["request": "\(command)"])
                // Closed first, so the request's owner finds the link gone and retries on the next.
                context.close(promise: nil)
            }
            waiting.promise.fail(SMPPSessionError.timedOut(command))
        }
        pending[sequence] = Pending(command: command, promise: promise, timeout: timeout)
        context.write(wrapOutboundOut(PDU(command, sequence: sequence, body: body)), promise: nil)
        flushSoon(context)
        return promise.futureResult
    }

    /// Writes a PDU that is not a request (a response). Must be called on the event loop.
    func send(_ pdu: PDU) {
        guard let context else { return }
        context.write(wrapOutboundOut(pdu), promise: nil)
        flushSoon(context)
    }

    /// Flushes once the event loop has run the tasks queued now, so that the PDUs written in one
    /// pass leave in one `writev`: the answers to a batch of receipts recorded together, and the
    /// submits the pipeline hands over at once, each took a system call of their own (and a read
    /// of their own at the peer).
    private func flushSoon(_ context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute { [self] in
            flushScheduled = false
            self.context?.flush()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        lastRead = .now()
        switch unwrapInboundIn(data) {
        case .failure(let error):
            if case .malformed(let command, let sequence, _, _) = error, command.isResponse {
                // A response answers nothing when no request waits for it, readable or not: it is
                // dropped as a late response is (`received`), not made the end of the session. Its
                // frame was read whole, so the stream after it is still in step.
                guard let waiting = pending.removeValue(forKey: sequence) else {
                    logger.warning(
                        "unreadable response to no request in flight; dropped", metadata: ["error": "\(error)"])
                    return
                }
                // A response that does not parse answers its request all the same: the request must
                // hear of it, not of a mere closed connection (a submit whose answer was unreadable
                // may have been taken, and sending it again could deliver it twice).
                waiting.timeout.cancel()
                waiting.promise.fail(SMPPSessionError.malformedResponse("\(error)"))
            }
            logger.warning("malformed PDU from the peer; closing this connection", metadata: ["error": "\(error)"])
            end(context, with: Self.refusal(of: error))
        case .success(let pdu):
            received(pdu, context: context)
        }
    }

    /// Ends the session after answering every request of the peer read so far (those being
    /// answered and those waiting for room in the window), then sends `last` and closes. A peer
    /// that unbinds or sends something unreadable with submits still in flight gets an answer for
    /// each: a `submit_sm` that was taken is sent, so it must be acknowledged, or the ESME would
    /// send it again as a second SMS. (`unbind`, SMPP 3.4 §4.2, ends the session; an ESME should
    /// have its answers first, but not every one waits.) Nothing more is read meanwhile. After the
    /// response timeout `last` goes out whatever is still unanswered.
    private func end(_ context: ChannelHandlerContext, with last: PDU) {
        guard case .no = ending else { return }
        ending = .draining(last: last)
        readingPaused = true
        try? context.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: false)
        context.eventLoop.assumeIsolated().scheduleTask(in: responseTimeout) { [self] in
            self.finishEnding(force: true)
        }
        finishEnding(force: false)
    }

    /// Sends the last PDU of an ending session and closes, once nothing read is left unanswered
    /// (or when `force`d).
    private func finishEnding(force: Bool) {
        guard case .draining(let last) = ending, let context else { return }
        guard force || (peerInProgress == 0 && peerWaiting.isEmpty) else { return }
        ending = .done
        context.writeAndFlush(wrapOutboundOut(last)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// The answer to a PDU whose body does not parse: the request's own response with the code that
    /// names the field (a bind with a 20-character system_id gets `bind_transmitter_resp`
    /// `ESME_RINVSYSID`, as its client expects), or `generic_nack` where SMPP 3.4 §4.3 asks for one.
    static func refusal(of error: SMPPError) -> PDU {
        let body: PDUBody =
            switch error.response {
            case .bindTransmitterResp, .bindReceiverResp, .bindTransceiverResp: .bindResponse(systemID: "", tlvs: [])
            case .submitSmResp, .deliverSmResp: .messageResponse(messageID: "")
            default: .empty
            }
        return PDU(error.response, status: error.status, sequence: error.sequence, body: body)
    }

    private func received(_ pdu: PDU, context: ChannelHandlerContext) {
        if pdu.commandID.isResponse {
            // An unknown command_id is answered generic_nack, a response's as much as a request's
            // (SMPP 3.4 §4.3); a known response to nothing in flight (a late one) is dropped.
            guard pdu.commandID.isDefined else {
                send(PDU(.genericNack, status: .invalidCommandID, sequence: pdu.sequence))
                return
            }
            guard let waiting = pending.removeValue(forKey: pdu.sequence) else {
                logger.debug("response to no request in flight", metadata: ["pdu": "\(pdu.commandID)"])
                return
            }
            waiting.timeout.cancel()
            if pdu.commandID == .genericNack {
                waiting.promise.fail(SMPPSessionError.nack(pdu.status))
            } else if pdu.commandID != waiting.command.response {
                // A response of another command under this sequence number answers nothing that
                // was asked (SMPP 3.4 §2.6 pairs a request with its own response): a submit_sm_resp
                // does not acknowledge a deliver_sm.
                logger.warning(
                    "the peer answered with the response of another command",
                    metadata: ["request": "\(waiting.command)", "response": "\(pdu.commandID)"])
                waiting.promise.fail(SMPPSessionError.unexpectedResponse(pdu.commandID, to: waiting.command))
            } else {
                waiting.promise.succeed(pdu)
            }
            return
        }
        guard case .no = ending else {
            // Read in the same pass as the unbind or the unreadable PDU that ends the session.
            logger.debug("request after the session began to end; not answered", metadata: ["pdu": "\(pdu.commandID)"])
            return
        }
        switch pdu.commandID {
        case .enquireLink:
            send(pdu.response())
        case .unbind:
            end(context, with: pdu.response())
        default:
            if case .unsupported = pdu.body {
                send(PDU(.genericNack, status: .invalidCommandID, sequence: pdu.sequence))
                return
            }
            peerWaiting.append(pdu)
            startPeerRequests(context)
        }
    }

    /// Starts waiting requests while the window has room, and reads from the peer only then.
    private func startPeerRequests(_ context: ChannelHandlerContext) {
        let onRequest = self.onRequest
        let loop = context.eventLoop
        while peerInProgress < peerWindow, let next = peerWaiting.popFirst() {
            peerInProgress += 1
            let handler = NIOLoopBound(self, eventLoop: loop)
            Task {
                let response = await onRequest(next)
                loop.execute { handler.value.answered(response) }
            }
        }
        guard case .no = ending else { return finishEnding(force: false) }
        let full = peerInProgress >= peerWindow
        guard full != readingPaused, let options = context.channel.syncOptions else { return }
        readingPaused = full
        try? options.setOption(ChannelOptions.autoRead, value: !full)
        if full { onWindowFull() }
    }

    private func answered(_ response: PDU?) {
        peerInProgress -= 1
        if let response { send(response) }
        if let context { startPeerRequests(context) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let waiting = pending
        pending = [:]
        for entry in waiting.values {
            entry.timeout.cancel()
            entry.promise.fail(SMPPSessionError.closed)
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let error = error as? SMPPError {
            logger.warning("unreadable PDU stream; closing this connection", metadata: ["error": "\(error)"])
            end(context, with: PDU(.genericNack, status: error.status, sequence: error.sequence))
            return
        }
        if error is NIOSSLError || error is BoringSSLError { tlsFailure = "\(error)" }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        context.close(promise: nil)
    }
}

/// Why a request got no usable response.
enum SMPPSessionError: Error, Equatable, CustomStringConvertible {
    case closed
    case timedOut(CommandID)
    case nack(CommandStatus)
    case unexpectedResponse(CommandID, to: CommandID)
    case malformedResponse(String)

    /// A request that got no response of its own: none in time, or another command's.
    var isNoAnswer: Bool {
        switch self {
        case .timedOut, .unexpectedResponse: true
        default: false
        }
    }

    var description: String {
        switch self {
        case .unexpectedResponse(let response, let request): "\(response) answered \(request)"
        case .malformedResponse(let reason): "the response could not be read: \(reason)"
        case .closed: "the connection closed before the response arrived"
        case .timedOut(let command): "no response to \(command) in time"
        case .nack(let status): "generic_nack \(status)"
        }
    }
}
