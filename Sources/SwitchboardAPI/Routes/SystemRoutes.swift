import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Liveness and metrics, unauthenticated. Nothing here names an account: per-account metrics are
/// on `/v1/admin/metrics` (`AdminRoutes`).
struct SystemRoutes {
    let services: HostServices

    func add(to router: Router<AppContext>) {
        router.get("healthz") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        router.get("metrics") { _, _ in
            await services.addons.publishRuntimeMetrics()
            return Self.prometheusText(services.metrics.render())
        }
    }

    /// A `200` carrying metrics in the Prometheus text format (version 0.0.4).
    static func prometheusText(_ bytes: [UInt8]) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/plain; version=0.0.4"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
