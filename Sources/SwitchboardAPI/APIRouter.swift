import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// Assembles every route with its middleware.
package enum APIRouter {
    /// - Parameter console: the web console's services; nil serves the API alone.
    package static func make(services: HostServices, operatorToken: String, console: ConsoleServices? = nil)
        -> Router<AppContext>
    {
        let router = Router(context: AppContext.self)
        router.add(middleware: ActivityLogMiddleware(usage: services.usage, metrics: services.metrics))
        // Inside the activity log, so a storage fault is logged with the 503 it became.
        router.add(middleware: StorageErrorMiddleware())
        router.add(middleware: BodylessRequestMiddleware())
        SystemRoutes(services: services).add(to: router)
        let accounts = AccountRoutes(services: services)
        accounts.addPublic(to: router)

        let basicAuth = BasicAuthMiddleware(
            accounts: services.accounts, throttle: services.authThrottle, addresses: services.clientAddresses)
        let authenticated = router.group("v1")
            .add(middleware: basicAuth)
        accounts.addAuthenticated(to: authenticated)
        MessageRoutes(services: services).add(to: authenticated)
        ContactRoutes(services: services).add(to: authenticated)
        UsageRoutes(services: services).add(to: authenticated)
        AddonRoutes(services: services).add(to: authenticated)
        PrivacyRoutes(services: services).add(to: authenticated)
        WebhookSecretRoutes(services: services).add(to: authenticated)
        SMPPCredentialRoutes(services: services).add(to: authenticated)

        let admin = router.group("v1/admin")
            .add(
                middleware: OperatorAuthMiddleware(
                    token: operatorToken, throttle: services.authThrottle, addresses: services.clientAddresses))
        AdminRoutes(services: services).add(to: admin)
        AuditRoutes(services: services).add(to: admin)
        PrivacyRoutes(services: services).addAdmin(to: admin)
        if let console {
            ConsoleRoutes(services: services, console: console, operatorToken: operatorToken).add(to: router)
        }
        return router
    }
}
