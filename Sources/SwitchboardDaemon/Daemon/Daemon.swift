import Crypto
import Foundation
import GRDB
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import ServiceLifecycle
import SwitchboardAPI
import SwitchboardAddons
import SwitchboardCore
import SwitchboardSMPP
import Synchronization
import UnixSignals

/// The composition root of `switchboard serve`: opens storage, wires the core together and runs the
/// HTTP API beside the background services until shut down.
public final class Daemon: Sendable {
    public let config: ServeConfiguration
    public let operatorToken: String
    public let dataDirectory: URL
    let services: HostServices
    let callbacks: StatusCallbackQueue
    /// The simulator, or the SMPP connectors' router; run as a service when it is not the simulator.
    let carrier: any CarrierConnector & Service
    /// The SMPP server for customers, when `smpp_server.port` is set.
    public let smppServer: SMPPServer?
    /// Parts of long SMPP messages, of both the SMPP server and the carrier connectors.
    let partials: SMPPPartials
    /// The SMPP server's TLS certificate (`smpp_server.tls`), read again on SIGHUP.
    private let smppCertificate: ListenerCertificate?
    let logger: Logger
    let clock: any WallClock
    public let addons: AddonPlatform
    public let ledger: LedgerMaintenance
    /// The web console's services; nil when `console.enabled` is false.
    let console: ConsoleServices?
    private let running = Mutex<ServiceGroup?>(nil)

    public init(config: ServeConfiguration, clock: any WallClock = SystemWallClock(), logger: Logger) throws {
        self.config = config
        self.clock = clock
        self.logger = logger
        let layout = try DataDirectory(path: config.dataDir)
        dataDirectory = layout.root
        let pool = try SwitchboardDatabase.open(
            at: layout.databasePath, durability: config.durability, migrations: DaemonSchema.migrations)
        operatorToken = try config.operatorToken ?? layout.operatorToken()
        let writer = GroupCommitWriter(pool: pool)
        let digest = ContentDigest(key: try layout.contentDigestKey())
        let metrics = HostMetrics()
        var addonSettings = config.addons
        if addonSettings.bundledDirectory == nil {
            addonSettings.bundledDirectory = BundledAddons.manifestDirectory()
            // A binary copied away from its build or installation finds no bundled add-ons; said
            // here, or it would run without them and answer every add-on request with 404.
            if addonSettings.bundledDirectory == nil {
                logger.warning(
                    "no bundled add-ons found; set addons.bundled_dir in the config to load them",
                    metadata: ["looked_in": "\(BundledAddons.searchedPlaces)"])
            }
        }
        if addonSettings.libraryDirectories.isEmpty {
            addonSettings.libraryDirectories = BundledAddons.libraryDirectories()
        }
        let addons = try AddonPlatform(
            settings: addonSettings, stateRoot: layout.root.appendingPathComponent("addons"),
            pseudonymKey: try layout.pseudonymKey(), writer: writer, clock: clock, metrics: metrics.registry,
            accountMetrics: metrics.accountRegistry, logger: logger)
        self.addons = addons
        ledger = LedgerMaintenance(
            writer: writer, key: try layout.ledgerSigningKey(database: pool), settings: config.ledger, clock: clock,
            logger: logger)
        let messages = MessageStore(
            writer: writer, clock: clock, digest: digest, events: addons,
            optOuts: try pool.read { try OptOutFilter.load($0) })
        let callbackTargets = try CallbackTargetPolicy(allowTargets: config.callbacks.allowTargets)
            .allowingPlainHTTP(config.callbacks.allowHTTP)
        let callbacks = StatusCallbackQueue(
            writer: writer, clock: clock, settings: config.callbacks, policy: callbackTargets,
            metrics: metrics.callbackMetrics(), logger: logger)
        let simulator = SimulatedCarrier(settings: config.simulator)
        // With SMPP connectors configured, messages leave through them; the simulator still
        // serves `POST /v1/admin/inbound` for tests of the inbound path.
        // One store for both sides: its run loop purges expired parts every minute.
        let partials = SMPPPartials(writer: writer, clock: clock)
        self.partials = partials
        let carrier: any CarrierConnector & Service =
            config.smppConnectors.isEmpty
            ? simulator
            : SMPPCarrierRouter(
                settings: config.smppConnectors, partials: partials,
                metrics: SMPPMetrics(registry: metrics.registry), logger: logger)
        self.carrier = carrier
        let pipeline = DeliveryPipeline(
            store: messages, carrier: carrier, callbacks: callbacks, metrics: metrics.pipelineMetrics(),
            logger: logger)
        // The simulator's inbound injection reaches the pipeline whichever carrier sends.
        if !config.smppConnectors.isEmpty { simulator.bind(pipeline) }
        self.callbacks = callbacks
        let sendLimiter = SendRateLimiter(
            ratePerSecond: config.rateLimits.sendPerSecond, burst: config.rateLimits.sendBurst, clock: clock)
        let accounts = AccountStore(
            writer: writer, clock: clock, hasher: PasswordHasher(costLog2: config.passwordCost), events: addons,
            hashing: PasswordHashingPool(
                maxConcurrent: config.passwordHashing.maxConcurrent, maxWaiting: config.passwordHashing.maxWaiting),
            sessions: SessionPolicy(
                lifetimeSeconds: config.sessions.lifetimeSeconds, maxPerAccount: config.sessions.maxPerAccount))
        let sending = SendService(
            messages: messages, pipeline: pipeline, limiter: sendLimiter, check: addons, clock: clock,
            callbackTargets: callbackTargets)
        let smppCredentials = SMPPCredentials(
            writer: writer, clock: clock, hasher: PasswordHasher(costLog2: config.passwordCost),
            hashing: accounts.hashing)
        let usage = UsageStore(writer: writer, clock: clock, events: addons)
        let authThrottle = AuthThrottle(
            maxAttempts: config.rateLimits.authFailures, windowSeconds: config.rateLimits.authWindowSeconds,
            clock: clock)
        let smppCertificate = try config.smppServerTLS.map {
            try ListenerCertificate(
                listener: "smpp", certificateFile: $0.certificateFile, keyFile: $0.keyFile, registry: metrics.registry)
        }
        self.smppCertificate = smppCertificate
        smppServer =
            config.smppServer.isEnabled
            ? SMPPServer(
                settings: config.smppServer, defaultHost: config.host,
                dependencies: .init(
                    sending: sending, credentials: smppCredentials,
                    deliveries: SMPPDeliveries(writer: writer, clock: clock), throttle: authThrottle, usage: usage,
                    partials: partials, messages: messages),
                logger: logger, metrics: SMPPMetrics(registry: metrics.registry),
                tlsConfiguration: smppCertificate?.serverConfiguration())
            : nil
        services = HostServices(
            settings: APISettings(
                body: BodyLimits(maxBytes: config.maxBodyBytes),
                retentionDays: config.retentionDays),
            accounts: accounts,
            messages: messages,
            contacts: ContactStore(writer: writer, clock: clock),
            usage: usage,
            erasures: ErasureService(
                writer: writer, clock: clock, accounts: accounts, requests: addons, retentionDays: config.retentionDays),
            sending: sending,
            // Credentials are offered only where a customer can bind with them.
            smppCredentials: config.smppServer.isEnabled ? smppCredentials : nil,
            pipeline: pipeline,
            simulator: simulator,
            carrier: carrier,
            sendLimiter: sendLimiter,
            authThrottle: authThrottle,
            metrics: metrics,
            addons: addons,
            webhookSecrets: WebhookSecrets(
                writer: writer, clock: clock, defaultOverlapSeconds: config.callbacks.secretOverlapSeconds),
            clientAddresses: ClientAddressResolver(trustedProxies: config.trustedProxyNetworks),
            signUpThrottle: AuthThrottle(
                maxAttempts: config.rateLimits.signupsPerAddress, windowSeconds: config.rateLimits.signupWindowSeconds,
                clock: clock),
            secondFactors: SecondFactors(writer: writer, clock: clock))
        console =
            config.console.enabled
            ? ConsoleServices(
                sessions: ConsoleSessions(
                    writer: writer, clock: clock,
                    policy: ConsoleSessionPolicy(
                        idleSeconds: config.console.idleMinutes * 60,
                        absoluteSeconds: config.console.absoluteHours * 3600)
                ),
                factors: services.secondFactors ?? SecondFactors(writer: writer, clock: clock),
                countries: try config.console.countriesFile.map { path in
                    do {
                        return try CountryLookup(contentsOf: path)
                    } catch let error as CountryLookup.LookupError {
                        throw ConfigurationError(
                            source: "console.countries_file", problems: [FieldError("countries_file", error.message)])
                    }
                } ?? CountryLookup(),
                settings: ConsoleSettings(
                    secureCookies: config.console.secureCookies ?? (config.http.tls != nil),
                    smsAccountID: config.console.smsAccount, smsFrom: config.console.smsFrom,
                    auditDownloadPage: config.console.auditDownloadPage),
                verifyLedger: { [addons, ledger, root = layout.root.path] in
                    try await Daemon.verifyLedger(
                        addons: addons, ledger: ledger, dataDirectory: root, checkpointDirectory: nil)
                })
            : nil
    }

    public var accounts: AccountStore { services.accounts }
    public var usage: UsageStore { services.usage }
    public var messages: MessageStore { services.messages }

    /// The HTTP API's routes over this daemon's services, as `run` serves them (tests drive it
    /// in-process).
    package func makeRouter() -> Router<AppContext> {
        APIRouter.make(services: services, operatorToken: operatorToken, console: console)
    }

    /// Runs until SIGTERM/SIGINT (when `signals` lists them) or until the calling task is cancelled.
    /// In-flight requests finish first; queued work stays in the database for the next start.
    public func run(
        signals: [UnixSignal] = [.sigterm, .sigint],
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) async throws {
        let router = makeRouter()
        let logger = self.logger
        let budget = ConnectionBudget(
            descriptorLimit: ConnectionBudget.raiseDescriptorLimit(),
            callbackConcurrency: config.callbacks.maxConcurrency, configured: config.http.maxConnections,
            smppServer: smppServer != nil, smppConfigured: config.smppServer.maxConnections)
        if let warning = budget.warning { logger.warning("\(warning)") }
        smppServer?.limitConnections(to: budget.smppConnections)
        let limiter = ConnectionLimiter(
            limit: budget.maxConnections, observe: services.metrics.httpConnectionObserver(limit: budget.maxConnections)
        )
        let requestTimedOut = services.metrics.httpRequestTimeoutCounter()
        let requestTimeout = TimeAmount.seconds(Int64(config.http.requestTimeoutSeconds))
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [
                    limiter.handler(),
                    RequestBodyDeadlineHandler(
                        timeout: requestTimeout, onTimeout: requestTimedOut),
                ],
                idleTimeout: .seconds(Int64(config.http.idleTimeoutSeconds))))
        // With http.tls, the listener speaks HTTPS only; a bad certificate or key stops the start
        // here, naming the file.
        let certificate = try config.http.tls.map {
            try ListenerCertificate(
                listener: "https", certificateFile: $0.certificateFile, keyFile: $0.keyFile,
                registry: services.metrics.registry)
        }
        let app = Application(
            router: router,
            server: try certificate.map { try .tls(http1, tlsConfiguration: $0.serverConfiguration()) } ?? http1,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "switchboard"),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info(
                    "switchboard is listening", metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                await onListening(port)
            },
            logger: logger)
        let retention = RetentionJob(
            usage: services.usage, retentionDays: config.retentionDays, interval: .seconds(3600), logger: logger)
        var members: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: services.simulator),
            .init(service: services.pipeline),
            .init(service: callbacks),
            .init(service: retention),
            .init(service: ledger),
            .init(service: services.addons),
            .init(service: app),
        ]
        if certificate != nil, config.http.plainPort > 0 {
            // Plain HTTP for the machine itself only (health checks, scrapes): never a public address.
            let plain = Application(
                router: makeRouter(), server: http1,
                configuration: .init(
                    address: .hostname("127.0.0.1", port: config.http.plainPort), serverName: "switchboard"),
                onServerRunning: { channel in
                    logger.info(
                        "plain HTTP for local checks is listening",
                        metadata: ["address": "\(channel.localAddress?.description ?? "?")"])
                },
                logger: logger)
            members.append(.init(service: LocalHTTPListener(application: plain, port: config.http.plainPort)))
        }
        if !config.smppConnectors.isEmpty { members.append(.init(service: carrier)) }
        if let smppServer { members.append(.init(service: smppServer)) }
        if smppServer != nil || !config.smppConnectors.isEmpty { members.append(.init(service: partials)) }
        // Signals belong to the process: only a daemon that handles them (`serve`) takes SIGHUP.
        if !signals.isEmpty {
            members.append(
                .init(
                    service: ReloadOnSignal(registry: services.addons.registry, logger: logger) {
                        [smppCertificate] in
                        certificate?.reloadLogged(logger: logger)
                        smppCertificate?.reloadLogged(logger: logger)
                    }))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: members,
                gracefulShutdownSignals: signals,
                logger: logger))
        if let file = config.addons.consentFile {
            let applied = try await ConsentFile.apply(
                file: file, accounts: services.accounts, addons: services.addons, actor: "config:\(file)")
            logger.info("consent file applied", metadata: ["file": "\(file)", "changes": "\(applied.count)"])
        }
        running.withLock { $0 = group }
        try await group.run()
    }

    /// Stops a running daemon the way SIGTERM does: stop accepting, finish in-flight work, return.
    public func shutdown() async {
        await running.withLock { $0 }?.triggerGracefulShutdown()
    }
}
