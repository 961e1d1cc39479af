import Foundation
import NIOCore
import ServiceLifecycle

/// The plain-HTTP listener for the machine's own checks (`http.plain_port`, beside HTTPS), named
/// when its port is taken. `serve` names a taken port as the main HTTP listener's, so without this
/// a taken `plain_port` would be blamed on `--port`.
struct LocalHTTPListener: Service {
    /// The listener that could not be opened, with its address and what to do.
    struct ListenFailure: Error, CustomStringConvertible {
        let description: String
    }

    /// The Hummingbird application serving on 127.0.0.1:`port`.
    let application: any Service
    /// The TCP port (`http.plain_port`).
    let port: Int

    /// Serves until cancelled.
    /// - Throws: `ListenFailure` when the port is in use; any other error of the application as it is.
    func run() async throws {
        do {
            try await application.run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw ListenFailure(
                description:
                    "cannot listen for plain HTTP on 127.0.0.1:\(port): the address is in use; another process holds the port (`ss -ltnp` shows which): stop it, or give http.plain_port another port"
            )
        }
    }
}
