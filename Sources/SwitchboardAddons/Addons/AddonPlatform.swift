import Crypto
import Foundation
import GRDB
import Logging
import PluginAPI
import Prometheus
import ServiceLifecycle
import SwitchboardCore
import Synchronization

/// The add-on side of the daemon: it receives the core's domain events and pre-send checks,
/// mediates each into the view an add-on may see, dispatches it, and records the share.
public final class AddonPlatform: DomainEventSink, PreSendCheck, Service {
    public let registry: AddonRegistry
    public let consents: ConsentStore
    public let records: AddonRecordStore
    let mediator: Mediator
    package let writer: GroupCommitWriter
    let clock: any WallClock
    let logger: Logger
    let wakeups: [String: BatchQueue<Void>]
    /// The `recipients` value of an event for one add-on alone, the usual case, made once per add-on
    /// rather than for every event.
    let soleRecipient: [String: String]
    let commitWakeups: CommitWakeups
    let counters: AddonCounters
    let modes = ContentModeCache()
    /// The newest event log rows, for workers that keep up.
    let recent = RecentLog()
    /// Shares made by pre-send checks, waiting for the writer. They are recorded at the time of the
    /// write that commits them (milliseconds after the check, and before the sender hears of the
    /// message), so that one writer batch's checks make one ledger record per add-on and account.
    let checkShares = PendingWrites<Ledger.Share>()

    /// `metrics` is the public registry (per add-on figures only); `accountMetrics` holds what names
    /// an account (metrics add-ons emit) and is served to the operator alone.
    package init(
        settings: AddonSettings, stateRoot: URL, pseudonymKey: SymmetricKey, writer: GroupCommitWriter,
        clock: any WallClock, metrics: PrometheusCollectorRegistry, accountMetrics: PrometheusCollectorRegistry,
        logger: Logger
    ) throws {
        let records = try AddonRecordStore(writer: writer, clock: clock, accountMetrics: accountMetrics)
        let consents = try ConsentStore(writer: writer, clock: clock, recent: recent)
        self.records = records
        self.consents = consents
        self.writer = writer
        self.clock = clock
        self.logger = logger
        mediator = Mediator(pseudonyms: Pseudonymizer(master: pseudonymKey))
        registry = AddonRegistry(settings: settings, stateRoot: stateRoot, logger: logger, clock: clock) { record in
            // An add-on may only write records for accounts that enabled it.
            guard consents.current(accountID: record.accountID, addonID: record.addonID) != nil else { return false }
            return records.store(record)
        }
        wakeups = Dictionary(uniqueKeysWithValues: registry.manifests.map { ($0.id, BatchQueue<Void>()) })
        commitWakeups = CommitWakeups(queues: wakeups, writer: writer)
        soleRecipient = Dictionary(
            uniqueKeysWithValues: registry.manifests.map { ($0.id, EventLog.recipients([$0.id])) })
        counters = AddonCounters(registry: metrics)
    }

    /// Add-ons (by id) that subscribe to `type` and that this account has enabled.
    private func recipients(of type: EventType, accountID: String) -> [(id: String, grant: ConsentRecord)] {
        registry.subscribers(of: type).compactMap { id in
            consents.current(accountID: accountID, addonID: id).map { (id, $0) }
        }
    }

    // MARK: DomainEventSink

    /// Writes the event once to the event log, for every add-on that will receive it, in the
    /// caller's transaction. The stored event is the full one: the view is built at delivery, so a
    /// withdrawal or a content-mode change made in between still applies.
    public func publish(_ db: Database, _ type: EventType, accountID: String, _ event: () -> DomainEvent) throws {
        let targets = recipients(of: type, accountID: accountID)
        guard !targets.isEmpty else { return }
        let event = event()
        let recipients =
            targets.count == 1
            ? soleRecipient[targets[0].id] ?? EventLog.recipients([targets[0].id])
            : EventLog.recipients(targets.lazy.map(\.id))
        try appendToLog(
            db, accountID: accountID, kind: .event, recipients: recipients, payload: event.stored, event: event)
        commitWakeups.wake(targets.lazy.map(\.id), after: db)
    }

    /// Writes a row to the event log in the caller's transaction and, once its request commits,
    /// hands it to the workers in memory (`RecentLog`).
    func appendToLog(
        _ db: Database, accountID: String, kind: EventLog.Kind, recipients: String, payload: Data,
        event: DomainEvent?
    ) throws {
        try EventLog.append(db, accountID: accountID, kind: kind, recipients: recipients, payload: payload)
        let row = RecentLog.Row(
            entry: EventLog.Entry(
                seq: db.lastInsertedRowID, accountID: accountID, kind: kind, recipients: recipients, payload: payload),
            event: event)
        _ = writer.afterRequestCommit { [recent] in recent.append(row) }
    }

    // MARK: PreSendCheck

    public func wantsCheck(accountID: String) -> Bool {
        !recipients(of: .messageSubmit, accountID: accountID).isEmpty
    }

    public func check(_ event: DomainEvent) async -> PreSendVerdict {
        let targets = recipients(of: .messageSubmit, accountID: event.accountID)
        guard !targets.isEmpty else { return .allow }
        let contentMode = (try? await contentModes([event.accountID])[event.accountID]) ?? .store
        var shares: [Ledger.Share] = []
        var verdict = PreSendVerdict.allow
        for (id, grant) in targets {
            // The view is built for, checked by and recorded against one version of the add-on.
            let checked = await registry.withAddon(id) { manifest, endpoint in
                let view = mediator.view(of: event, for: manifest, grant: grant, contentMode: contentMode)
                if view.fields.isEmpty { return (manifest, view, AddonLibrary.CheckOutcome.allow) }
                let started = ContinuousClock.now
                let outcome = await endpoint.check(view)
                counters.checkDuration(manifest.id).recordNanoseconds((ContinuousClock.now - started).nanoseconds)
                return (manifest, view, outcome)
            }
            guard let (manifest, view, outcome) = checked, !view.fields.isEmpty else { continue }
            // The ledger records what crossed: a view the add-on never received was not shared.
            if outcome.delivered {
                shares.append(
                    Ledger.Share(addonID: manifest.id, addonVersion: manifest.version, view: view, consentID: grant.id))
            }
            switch outcome {
            case .allow:
                continue
            case .block(let code, let reason):
                verdict = .block(addonID: manifest.id, addonName: manifest.name, code: code, reason: reason)
            case .failed(let why), .undelivered(let why):
                logger.warning(
                    "pre-send check failed",
                    metadata: [
                        "addon.id": "\(manifest.id)", "reason": "\(why)",
                        "failure_mode": "\(manifest.failureMode.rawValue)",
                    ])
                counters.checkFailures(manifest.id).increment()
                if manifest.failureMode == .failOpen {
                    counters.failOpenPasses(manifest.id).increment()
                    continue
                }
                verdict = .block(
                    addonID: manifest.id, addonName: manifest.name, code: "addon_unavailable",
                    reason:
                        "\(manifest.name) could not check the message (\(why)) and is configured to fail closed; try again later"
                )
            }
            break
        }
        // Not awaited: the message's own insert queues behind this in the writer, so the shares
        // commit in the same batch or an earlier one, before the sender hears of its message.
        if checkShares.add(contentsOf: shares) {
            let logger = self.logger
            writer.writeDetached(
                { [checkShares, clock] db in
                    try Ledger.append(db, checkShares.take(), at: clock.now().epochMillis)
                },
                failed: { error in
                    logger.error("could not record pre-send shares", metadata: ["error": "\(error)"])
                })
        }
        return verdict
    }

    func contentModes(_ accountIDs: [String]) async throws -> [String: ContentMode] {
        let (known, missing, epoch) = modes.lookup(accountIDs)
        if missing.isEmpty { return known }
        let read = try await writer.pool.read { db in
            var modes: [String: ContentMode] = [:]
            let rows = try Row.fetchAll(
                db,
                sql:
                    "SELECT id, content_mode FROM accounts WHERE id IN (\(databaseQuestionMarks(count: missing.count)))",
                arguments: StatementArguments(missing))
            for row in rows { modes[row["id"]] = ContentMode(rawValue: row["content_mode"]) ?? .store }
            return modes
        }
        modes.fill(read, readAt: epoch)
        return known.merging(read) { $1 }
    }

    public func contentModeChanges(_ db: Database, accountID: String) {
        let modes = self.modes
        modes.invalidate(accountID)
        db.afterNextTransaction(
            onCommit: { _ in modes.invalidate(accountID) }, onRollback: { _ in modes.invalidate(accountID) })
    }

    /// Refreshes the per add-on gauges on /metrics (state, restarts, crashes, timeouts, backlog).
    package func publishRuntimeMetrics() async {
        let depths = (try? await backlog()) ?? [:]
        for manifest in registry.manifests {
            guard var status = registry.runtimeStatus(manifest.id) else { continue }
            status.outboxDepth = depths[manifest.id] ?? 0
            counters.publish(status, addonID: manifest.id)
        }
    }

    /// Events and erasure orders waiting for each configured add-on.
    package func backlog() async throws -> [String: Int] {
        let ids = registry.manifests.map(\.id)
        return try await writer.pool.read { db in try EventLog.backlog(db, addonIDs: ids) }
    }

    // MARK: Service

    /// One delivery loop per add-on; isolated runners are stopped on the way out.
    public func run() async throws {
        defer { registry.stopRunners() }
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                // Consent changed by another process (`switchboard addons apply`) takes effect within a second.
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: .seconds(1))
                        do { try await self.consents.reload() } catch is CancellationError {
                            return
                        } catch {
                            self.logger.error("could not reload consent records", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // Every add-on gets a worker, also sync-only ones: erasure orders reach them through the log.
                let configured = self.registry.manifests.map(\.id)
                let consumers = configured.filter { self.registry.isLoaded($0) && self.wakeups[$0] != nil }
                do {
                    try await self.writer.write { db in try EventLog.open(db, addonIDs: consumers) }
                } catch {
                    // Workers still deliver; the log is not pruned until their cursors exist.
                    self.logger.error("could not open the add-ons' cursors", metadata: ["error": "\(error)"])
                }
                let prune = EventLog.pruneSQL(consumers: consumers, configured: configured)
                for addonID in consumers {
                    guard let wake = self.wakeups[addonID] else { continue }
                    let worker = OutboxWorker(
                        platform: self, addonID: addonID, wake: wake, consumers: consumers, pruneSQL: prune)
                    group.addTask { await worker.run() }
                }
            }
        }
    }
}
