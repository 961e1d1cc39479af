import SwitchboardAddons
import SwitchboardCore

/// The settings the HTTP API itself applies.
package struct APISettings: Sendable {
    /// How much of a request body is read, and for how long.
    package var body: BodyLimits
    /// Days activity logs are kept (the retention run an operator starts by hand).
    package var retentionDays: Int

    package init(body: BodyLimits, retentionDays: Int) {
        self.body = body
        self.retentionDays = retentionDays
    }
}

/// Bounds on reading a request body.
package struct BodyLimits: Sendable {
    /// The largest body read, in bytes; larger bodies get 413.
    package var maxBytes: Int

    package init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }
}

/// What route handlers work with: the use cases, the stores and the policies in force. The
/// composition root builds it; routes only translate between HTTP and these.
package struct HostServices: Sendable {
    let settings: APISettings
    package let accounts: AccountStore
    package let messages: MessageStore
    let contacts: ContactStore
    package let usage: UsageStore
    let erasures: ErasureService
    let sending: SendService
    package let smppCredentials: SMPPCredentials?
    package let pipeline: DeliveryPipeline
    package let simulator: SimulatedCarrier
    /// The carrier messages leave through: the simulator, or the SMPP connectors' router.
    package let carrier: any CarrierConnector
    let sendLimiter: SendRateLimiter
    let authThrottle: AuthThrottle
    package let metrics: HostMetrics
    package let addons: AddonPlatform
    let webhookSecrets: WebhookSecrets
    /// Which address a request comes from (trusted proxies' `X-Forwarded-For`).
    let clientAddresses: ClientAddressResolver
    /// Sign-ups per client address (`rate_limits.signups_per_address`).
    let signUpThrottle: AuthThrottle
    /// The accounts' second factors (enrolled in the console), which `POST /v1/login` asks for too.
    package var secondFactors: SecondFactors?

    package init(
        settings: APISettings, accounts: AccountStore, messages: MessageStore, contacts: ContactStore,
        usage: UsageStore, erasures: ErasureService, sending: SendService, smppCredentials: SMPPCredentials? = nil,
        pipeline: DeliveryPipeline,
        simulator: SimulatedCarrier,
        carrier: (any CarrierConnector)? = nil,
        sendLimiter: SendRateLimiter, authThrottle: AuthThrottle, metrics: HostMetrics, addons: AddonPlatform,
        webhookSecrets: WebhookSecrets, clientAddresses: ClientAddressResolver = ClientAddressResolver(),
        signUpThrottle: AuthThrottle = AuthThrottle(maxAttempts: 20, windowSeconds: 3600, clock: SystemWallClock()),
        secondFactors: SecondFactors? = nil
    ) {
        self.settings = settings
        self.accounts = accounts
        self.messages = messages
        self.contacts = contacts
        self.usage = usage
        self.erasures = erasures
        self.sending = sending
        self.smppCredentials = smppCredentials
        self.pipeline = pipeline
        self.simulator = simulator
        self.carrier = carrier ?? simulator
        self.sendLimiter = sendLimiter
        self.authThrottle = authThrottle
        self.metrics = metrics
        self.addons = addons
        self.webhookSecrets = webhookSecrets
        self.clientAddresses = clientAddresses
        self.signUpThrottle = signUpThrottle
        self.secondFactors = secondFactors
    }
}
