import HTTPTypes
import NIOCore
import NIOHTTPTypes
import Synchronization

/// Counts the HTTP connections open at once and refuses those beyond `limit`.
///
/// Rationale: every connection holds a file descriptor, and the daemon's own work (SQLite's files,
/// add-on runners' pipes, status callbacks, carrier binds) needs descriptors too. Under a soft
/// limit of 1,024, 1,100 idle connections left none for that work and the process trapped. With a
/// cap below the limit (see `ConnectionBudget`), a connection beyond it is answered `503` with
/// `Retry-After` and closed, and the daemon keeps serving those it holds.
final class ConnectionLimiter: Sendable {
    let limit: Int
    private let open = Atomic<Int>(0)
    private let observe: @Sendable (_ open: Int, _ refused: Bool) -> Void

    /// - Parameter observe: told the connections open after every change, and whether a connection
    ///   was refused (for `/metrics`).
    init(limit: Int, observe: @escaping @Sendable (_ open: Int, _ refused: Bool) -> Void = { _, _ in }) {
        self.limit = limit
        self.observe = observe
    }

    /// Takes a place for a new connection; false when all `limit` are taken.
    fileprivate func admit() -> Bool {
        let now = open.wrappingAdd(1, ordering: .relaxed).newValue
        guard now > limit else {
            observe(now, false)
            return true
        }
        let after = open.wrappingSubtract(1, ordering: .relaxed).newValue
        observe(after, true)
        return false
    }

    fileprivate func release() {
        observe(open.wrappingSubtract(1, ordering: .relaxed).newValue, false)
    }

    /// A handler for one connection's pipeline (Hummingbird's `additionalChannelHandlers`).
    func handler() -> ConnectionLimitHandler { ConnectionLimitHandler(limiter: self) }
}

/// Admits its connection into the `ConnectionLimiter` when the connection becomes active, and gives
/// the place back when it is removed; a connection refused is answered `503` and closed.
final class ConnectionLimitHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundOut = HTTPResponsePart

    private let limiter: ConnectionLimiter
    private var state = State.pending

    private enum State { case pending, admitted, refused, released }

    init(limiter: ConnectionLimiter) {
        self.limiter = limiter
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { decide(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        decide(context)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A refused connection's request is not served: its answer was written already.
        guard state != .refused else { return }
        context.fireChannelRead(data)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        if state == .admitted { limiter.release() }
        state = .released
    }

    private func decide(_ context: ChannelHandlerContext) {
        guard state == .pending else { return }
        if limiter.admit() {
            state = .admitted
            return
        }
        state = .refused
        context.answerProblemAndClose(.serviceUnavailable, body: Self.refusal, retryAfter: 1)
    }

    private static let refusal = ByteBuffer(
        string:
            #"{"status":503,"title":"Too many connections","detail":"The server holds as many connections as it allows; retry after the given time, and reuse one keep-alive connection for many requests.","type":"about:blank"}"#
    )
}
