import Foundation
import SwitchboardCore
import Synchronization

/// One version of an add-on in service: its manifest and, when libraries are loaded, its endpoint.
///
/// Work is done under a lease (a delivery batch from taking it off the outbox to recording it, or
/// one pre-send check). A reload retires the old version, which shuts down only once its last lease
/// is returned: every batch it took on is answered and recorded by it, and the next batch goes to
/// the new version, so no event is dropped or delivered twice across a reload.
final class LoadedAddon: Sendable {
    let manifest: Manifest
    let endpoint: (any AddonEndpoint)?
    /// Bundled add-ons need no library pin; a reload loads the next version under the same rule.
    let bundled: Bool
    /// The manifest file's and the library's digests, so that SIGHUP reloads only what changed.
    let fingerprint: String

    private let use = Mutex((leases: 0, retired: false))

    init(manifest: Manifest, endpoint: (any AddonEndpoint)?, bundled: Bool, fingerprint: String) {
        self.manifest = manifest
        self.endpoint = endpoint
        self.bundled = bundled
        self.fingerprint = fingerprint
    }

    /// Delivery batches and checks this version is working on right now.
    var inFlight: Int { use.withLock { $0.leases } }

    /// False once retired: the caller then takes the registry's current version instead.
    func acquire() -> Bool {
        use.withLock { use in
            if use.retired { return false }
            use.leases += 1
            return true
        }
    }

    func release() {
        let last = use.withLock { use in
            use.leases -= 1
            return use.retired && use.leases == 0
        }
        if last { endpoint?.shutdown() }
    }

    /// Takes this version out of service; it shuts down when the work it holds is done.
    func retire() {
        let idle = use.withLock { use in
            use.retired = true
            return use.leases == 0
        }
        if idle { endpoint?.shutdown() }
    }
}
