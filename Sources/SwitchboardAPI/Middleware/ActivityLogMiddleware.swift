import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Records every API request in the activity log: time, account, method, path, status, latency, address.
struct ActivityLogMiddleware: RouterMiddleware {
    typealias Context = AppContext
    let usage: UsageStore
    let metrics: HostMetrics

    func handle(_ request: Request, context: AppContext, next: (Request, AppContext) async throws -> Response)
        async throws -> Response
    {
        let started = ContinuousClock.now
        let at = usage.clock.now()
        func record(_ status: Int) {
            let elapsed = ContinuousClock.now - started
            metrics.requests.record(elapsed)
            let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
            usage.log(
                UsageStore.RequestRecord(
                    at: at, accountID: context.notes.account, method: request.method.rawValue, path: request.uri.path,
                    status: status, latencyMicros: micros, ip: context.remoteAddress))
        }
        do {
            let response = try await next(request, context)
            record(Int(response.status.code))
            return response
        } catch let error as any HTTPResponseError {
            record(Int(error.status.code))
            throw error
        } catch {
            record(500)
            throw error
        }
    }
}
