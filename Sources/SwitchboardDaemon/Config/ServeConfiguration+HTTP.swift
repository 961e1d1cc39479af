import Foundation
import SwitchboardCore

extension ServeConfiguration {
    /// How the HTTP listener treats connections: how long they may idle or trickle, and how many
    /// may be open at once.
    public struct HTTP: Sendable, Equatable {
        /// Seconds a connection may stay without a request in progress: idle keep-alive, and a new
        /// connection whose request head has not arrived whole (slowloris). Default 30.
        public var idleTimeoutSeconds = 30
        /// Seconds from a request's head to the end of its body; a body trickled for longer is
        /// answered `408` and the connection closed. Default 60.
        public var requestTimeoutSeconds = 60
        /// Connections open at once; nil: as many as the descriptor limit allows after the daemon's
        /// own reserve (see `ConnectionBudget`).
        public var maxConnections: Int?
        /// HTTPS on `port` when set: the API and everything else on the listener over TLS 1.2/1.3.
        public var tls: TLSFiles?
        /// With `tls`, a plain HTTP listener on 127.0.0.1 at this port for local health checks and
        /// scrapes (`/healthz`, `/metrics`); 0 (the default): none.
        public var plainPort = 0
        public init() {}
    }

    /// A TLS listener's PEM files: the certificate (then its chain) and its unencrypted key.
    public struct TLSFiles: Sendable, Equatable {
        public var certificateFile: String
        public var keyFile: String

        public init(certificateFile: String, keyFile: String) {
            self.certificateFile = certificateFile
            self.keyFile = keyFile
        }

        /// Reads `certificate_file` and `key_file` (both required) of a `tls` object.
        static func read(_ tls: inout ConfigReader) -> TLSFiles? {
            var certificate: String?
            var key: String?
            tls.optionalString("certificate_file", into: &certificate)
            tls.optionalString("key_file", into: &key)
            _ = tls.required("certificate_file")
            _ = tls.required("key_file")
            guard let certificate, let key else { return nil }
            return TLSFiles(certificateFile: certificate, keyFile: key)
        }
    }

    /// Reads `http`.
    mutating func applyHTTP(_ reader: inout ConfigReader) {
        reader.object("http") { sub in
            sub.allow(["idle_timeout_seconds", "request_timeout_seconds", "max_connections", "tls", "plain_port"])
            sub.int("idle_timeout_seconds", in: 1...3600, into: &http.idleTimeoutSeconds)
            sub.int("request_timeout_seconds", in: 1...3600, into: &http.requestTimeoutSeconds)
            var max = http.maxConnections ?? 0
            sub.int("max_connections", in: 1...1_000_000, into: &max)
            if max > 0 { http.maxConnections = max }
            sub.object("tls") { tls in
                tls.allow(["certificate_file", "key_file"])
                http.tls = TLSFiles.read(&tls)
            }
            sub.int("plain_port", in: 0...65535, into: &http.plainPort)
        }
    }
}
