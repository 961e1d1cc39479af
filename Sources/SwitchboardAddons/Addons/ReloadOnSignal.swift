import Logging
import ServiceLifecycle
import SwitchboardCore
import UnixSignals

/// SIGHUP reloads every add-on whose manifest or library changed, the way operators expect a
/// daemon to pick up its files again. Add-ons that did not change keep running untouched.
/// `also` runs on each SIGHUP too (the TLS listeners read their certificates again).
package struct ReloadOnSignal: Service {
    let registry: AddonRegistry
    let logger: Logger
    let also: @Sendable () -> Void

    package init(registry: AddonRegistry, logger: Logger, also: @escaping @Sendable () -> Void = {}) {
        self.registry = registry
        self.logger = logger
        self.also = also
    }

    package func run() async throws {
        let signals = await UnixSignalsSequence(trapping: .sighup)
        await cancelWhenGracefulShutdown {
            for await _ in signals {
                also()
                logger.info("SIGHUP: reloading changed add-ons")
                for result in await registry.reloadChanged() {
                    if case .success(let reload) = result, reload.outcome == "unchanged" { continue }
                    switch result {
                    case .success(let reload):
                        logger.info(
                            "add-on reloaded on SIGHUP",
                            metadata: ["addon.id": "\(reload.id)", "version": "\(reload.toVersion)"])
                    case .failure(let error):
                        logger.error(
                            "add-on kept its running version",
                            metadata: ["addon.id": "\(error.id)", "reason": "\(error.reason)"])
                    }
                }
            }
        }
    }
}
