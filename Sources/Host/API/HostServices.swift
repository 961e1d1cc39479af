/// What route handlers work with: the stores and the policies in force.
struct HostServices: Sendable {
    let config: ServeConfiguration
    let accounts: AccountStore
    let messages: MessageStore
    let contacts: ContactStore
    let usage: UsageStore
    let pipeline: DeliveryPipeline
    let simulator: SimulatedCarrier
    let sendLimiter: SendRateLimiter
    let authThrottle: AuthThrottle
    let metrics: HostMetrics
    let addons: AddonPlatform
}
