import Logging
import ServiceLifecycle

/// Purges activity logs older than the retention period, once at start and then every `interval`.
public struct RetentionJob: Service {
    let usage: UsageStore
    let retentionDays: Int
    let interval: Duration
    let logger: Logger

    /// Purges activity logs older than `retentionDays` every `interval`.
    package init(usage: UsageStore, retentionDays: Int, interval: Duration, logger: Logger) {
        self.usage = usage
        self.retentionDays = retentionDays
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let purged = try await usage.purge(retentionDays: retentionDays)
                    if purged > 0 {
                        logger.info(
                            "purged expired activity",
                            metadata: ["rows": "\(purged)", "retention_days": "\(retentionDays)"])
                    }
                } catch {
                    logger.error("retention purge failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
