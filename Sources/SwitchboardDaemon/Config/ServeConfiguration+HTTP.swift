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
        public init() {}
    }

    /// Reads `http`.
    mutating func applyHTTP(_ reader: inout ConfigReader) {
        reader.object("http") { sub in
            sub.allow(["idle_timeout_seconds", "request_timeout_seconds", "max_connections"])
            sub.int("idle_timeout_seconds", in: 1...3600, into: &http.idleTimeoutSeconds)
            sub.int("request_timeout_seconds", in: 1...3600, into: &http.requestTimeoutSeconds)
            var max = http.maxConnections ?? 0
            sub.int("max_connections", in: 1...1_000_000, into: &max)
            if max > 0 { http.maxConnections = max }
        }
    }
}
