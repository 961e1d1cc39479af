import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Liveness and metrics, unauthenticated.
struct SystemRoutes {
    let services: HostServices

    func add(to router: Router<AppContext>) {
        router.get("healthz") { _, _ in
            try JSONResponse.make(["status": "ok"])
        }
        router.get("metrics") { _, _ in
            await services.addons.publishRuntimeMetrics()
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4"
            return Response(
                status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: services.metrics.render())))
        }
    }
}
