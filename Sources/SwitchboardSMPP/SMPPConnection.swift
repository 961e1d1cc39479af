import Logging
import NIOCore
import NIOPosix
import NIOSSL
import SMPP

/// An SMPP connection: its channel and the session handler on it, usable from any task.
struct SMPPConnection: Sendable {
    let channel: any Channel
    private let handler: NIOLoopBound<SMPPSessionHandler>

    /// Sets up `channel`'s pipeline for SMPP: the frame decoder (PDUs up to `maxPDULength` octets),
    /// the encoder and a session handler; `silence` says what an unanswered request does to the link.
    static func configure(
        _ channel: any Channel, maxPDULength: Int = 70_000, responseTimeout: TimeAmount,
        enquireLinkInterval: TimeAmount?, silence: SMPPSessionHandler.Silence = .failsTheRequest, logger: Logger,
        peerWindow: Int = 64,
        onWindowFull: @escaping @Sendable () -> Void = {}, onRequest: @escaping SMPPSessionHandler.RequestHandler
    ) throws -> SMPPConnection {
        let handler = SMPPSessionHandler(
            eventLoop: channel.eventLoop, responseTimeout: responseTimeout, enquireLinkInterval: enquireLinkInterval,
            silence: silence, logger: logger, peerWindow: peerWindow, onWindowFull: onWindowFull, onRequest: onRequest)
        let operations = channel.pipeline.syncOperations
        try operations.addHandler(ByteToMessageHandler(SMPPFrameDecoder(maxLength: maxPDULength)))
        try operations.addHandler(MessageToByteHandler(SMPPEncoder()))
        try operations.addHandler(handler)
        return SMPPConnection(channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
    }

    /// Sends a request and waits for its response.
    /// - Throws: `SMPPSessionError` (closed, timed out, `generic_nack`).
    func request(_ command: CommandID, body: PDUBody = .empty) async throws -> PDU {
        let handler = self.handler
        return try await channel.eventLoop.flatSubmit { handler.value.request(command, body: body) }.get()
    }

    /// Why the TLS layer ended the connection, if it did.
    func tlsFailure() async -> String? {
        let handler = self.handler
        return try? await channel.eventLoop.submit { handler.value.tlsFailure }.get()
    }

    /// Requests in flight on this connection.
    func inFlight() async -> Int {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.inFlight }.get()) ?? 0
    }

    /// Sends `unbind` (waiting at most the response timeout for `unbind_resp`) and closes.
    func unbind() async {
        _ = try? await request(.unbind)
        try? await channel.close()
    }

    /// Opens a TCP connection to `host:port` (over TLS with `tls`, checking the certificate against
    /// `serverName`, or the peer's address when nil) and binds as `mode` with `bind`'s credentials.
    /// A request unanswered for `responseTimeout` while nothing at all is read closes the link
    /// (``SMPPSessionHandler/Silence/closesASilentLink``), so that the connector binds afresh.
    /// - Throws: `SMPPBindError` naming the SMSC's refusal (`ESME_RINVPASWD`…) or the connection error
    ///   (a certificate the connector does not trust among them).
    static func bind(
        host: String, port: Int, as command: CommandID, bind: BindRequest, connectTimeout: TimeAmount,
        responseTimeout: TimeAmount, enquireLinkInterval: TimeAmount, logger: Logger,
        tls: NIOSSLContext? = nil, serverName: String? = nil,
        onRequest: @escaping SMPPSessionHandler.RequestHandler
    ) async throws -> SMPPConnection {
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(connectTimeout)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard let tls else { return }
                        try channel.pipeline.syncOperations.addHandler(
                            NIOSSLClientHandler(context: tls, serverHostname: serverName))
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            throw SMPPBindError.unreachable("\(host):\(port)", "\(error)")
        }
        let connection: SMPPConnection
        do {
            connection = try await channel.eventLoop.submit {
                try SMPPConnection.configure(
                    channel, responseTimeout: responseTimeout, enquireLinkInterval: enquireLinkInterval,
                    silence: .closesASilentLink, logger: logger, onRequest: onRequest)
            }.get()
        } catch {
            try? await channel.close()
            throw error
        }
        let response: PDU
        do {
            response = try await connection.request(command, body: .bind(bind))
        } catch {
            try? await channel.close()
            // A TLS handshake that failed closes the connection before the bind is answered: say why.
            if let failure = await connection.tlsFailure() { throw SMPPBindError.tls(failure) }
            throw SMPPBindError.noAnswer("\(error)")
        }
        guard response.status == .ok else {
            try? await channel.close()
            throw SMPPBindError.refused(response.status)
        }
        return connection
    }
}

/// Why a bind to an SMSC did not succeed.
enum SMPPBindError: Error, CustomStringConvertible {
    case unreachable(String, String)
    case noAnswer(String)
    case refused(CommandStatus)
    case tls(String)

    var description: String {
        switch self {
        case .tls(let error):
            "the TLS handshake with the SMSC failed: \(error); check the connector's tls.ca_file and tls.server_name"
        case .unreachable(let address, let error): "cannot connect to \(address): \(error)"
        case .noAnswer(let error): "the SMSC did not answer the bind: \(error)"
        case .refused(let status):
            switch status {
            case .invalidPassword: "the SMSC refused the bind: \(status); check the connector's password"
            case .invalidSystemID: "the SMSC refused the bind: \(status); check the connector's system_id"
            case .alreadyBound: "the SMSC refused the bind: \(status); another session holds this system_id"
            default: "the SMSC refused the bind: \(status)"
            }
        }
    }
}
