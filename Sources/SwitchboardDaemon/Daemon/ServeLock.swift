import Foundation
import SwitchboardCore

#if canImport(Glibc)
    import Glibc
#endif

/// The exclusive lock `switchboard serve` holds on its data directory (`serve.lock`, `flock(2)`)
/// for as long as it runs, so that a second daemon on the same SQLite file refuses to start.
///
/// Two daemons on one file would both claim the same carrier submissions and callbacks, and each
/// keeps in memory what only it writes: the opt-out fingerprints (`OptOutFilter`), the newest
/// event-log rows. The lock is the kernel's: it goes with the process, also after `kill -9`, so a
/// crashed daemon never leaves a stale lock behind, and `O_CLOEXEC` keeps the add-on runners the
/// daemon starts from inheriting it. The audit and account commands read and write beside a running
/// daemon and take no lock.
package final class ServeLock: Sendable {
    private let descriptor: Int32

    /// Takes the lock of the data directory at `dataDir`, creating the directory and the lock file
    /// (mode 0600) when missing.
    /// - Throws: `ConfigurationError` naming `data_dir` when another process holds the lock or the
    ///   file cannot be opened.
    package init(dataDir: String) throws {
        let root = try DataDirectory(path: dataDir).root
        let path = root.appendingPathComponent("serve.lock").path
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else {
            throw Self.refusal("\(path) cannot be opened (\(String(cString: strerror(errno)))); check the permissions")
        }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let reason = errno
            close(descriptor)
            guard reason == EWOULDBLOCK else {
                throw Self.refusal("\(path) cannot be locked (\(String(cString: strerror(reason))))")
            }
            throw Self.refusal(
                "another switchboard serve is running on \(root.path) (it holds serve.lock); two daemons on one database would claim the same work, so stop that one first or give this one its own --data-dir"
            )
        }
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    private static func refusal(_ message: String) -> ConfigurationError {
        ConfigurationError(source: "data_dir", problems: [FieldError("data_dir", message)])
    }
}
