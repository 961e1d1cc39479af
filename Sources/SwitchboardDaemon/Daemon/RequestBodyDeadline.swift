import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Gives each request `timeout` from its head to the end of its body, then answers `408 Request
/// Timeout` (RFC 9110 §15.5.9) and closes the connection.
///
/// Rationale: the idle timeout (Hummingbird's connection state handler) restarts at every body
/// chunk, so a client that sends one byte every few seconds could hold a connection, and its
/// descriptor, for as long as its `Content-Length` lasts. A deadline for the whole body bounds it.
/// A request whose answer has started (the route did not wait for the body) is only closed.
final class RequestBodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var deadline: Scheduled<Void>?
    /// A response head for the current request has been written.
    private var answering = false

    /// - Parameters:
    ///   - timeout: from the request head to the end of the body.
    ///   - onTimeout: told of every request cut off (for `/metrics`).
    init(timeout: TimeAmount, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            answering = false
            cancelDeadline()
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                self.deadline = nil
                self.expire(context)
            }
        case .end:
            cancelDeadline()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answering = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelDeadline()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelDeadline()
    }

    private func cancelDeadline() {
        deadline?.cancel()
        deadline = nil
    }

    private func expire(_ context: ChannelHandlerContext) {
        onTimeout()
        guard !answering else {
            context.close(promise: nil)
            return
        }
        answering = true
        context.answerProblemAndClose(.requestTimeout, body: Self.answer)
    }

    private static let answer = ByteBuffer(
        string:
            #"{"status":408,"title":"Request Timeout","detail":"The request body did not arrive whole within the server's time limit (http.request_timeout_seconds); send the body at once, or split a large upload.","type":"about:blank"}"#
    )
}
