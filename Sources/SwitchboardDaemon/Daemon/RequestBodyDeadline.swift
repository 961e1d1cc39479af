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
///
/// The timer is set when a read ends with a body still to come, not at every head: almost every
/// request arrives whole in one read, and a timer set and cancelled per request was about 1% of the
/// daemon's CPU per message in the SMPP benchmark's HTTP load (`perf record`, docs/benchmarks.md).
final class RequestBodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let onTimeout: @Sendable () -> Void
    private var deadline: Scheduled<Void>?
    /// A request head arrived and its end has not yet.
    private var awaitingEnd = false
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
            awaitingEnd = true
            cancelDeadline()
        case .end:
            awaitingEnd = false
            cancelDeadline()
        case .body:
            break
        }
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if awaitingEnd, deadline == nil {
            deadline = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                self.deadline = nil
                self.expire(context)
            }
        }
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data) { answering = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        awaitingEnd = false
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
