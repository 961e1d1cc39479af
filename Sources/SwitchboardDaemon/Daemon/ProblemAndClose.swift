import HTTPTypes
import NIOCore
import NIOHTTPTypes

extension ChannelHandlerContext {
    /// Answers with a problem+json `body` (RFC 9457) and `Connection: close`, then closes the
    /// connection; for the channel handlers that refuse a connection or a request before any route
    /// sees it. `retryAfter` (seconds) adds `Retry-After`.
    ///
    /// The HTTP codec holds a response written before its request was read, so the connection is
    /// also closed after a second whatever became of the write.
    func answerProblemAndClose(_ status: HTTPResponse.Status, body: ByteBuffer, retryAfter: Int? = nil) {
        var head = HTTPResponse(status: status)
        head.headerFields[.contentType] = "application/problem+json"
        head.headerFields[.contentLength] = String(body.readableBytes)
        if let retryAfter { head.headerFields[.retryAfter] = String(retryAfter) }
        head.headerFields[.connection] = "close"
        write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        write(NIOAny(HTTPResponsePart.body(body)), promise: nil)
        let context = self
        writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
        let channel = self.channel
        eventLoop.assumeIsolated().scheduleTask(in: .seconds(1)) { channel.close(promise: nil) }
    }
}
