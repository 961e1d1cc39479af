import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The descriptors a child started with `posix_spawn` inherits.
package enum SpawnDescriptors {
    private typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

    /// Adds to `actions` the closing of every descriptor from `lowest` up, so that the child keeps
    /// only what the actions before set up. SwiftNIO accepts connections without `FD_CLOEXEC`
    /// (`accept4` with `SOCK_NONBLOCK` only), so a child would otherwise hold every connection open
    /// at its start: the parent's close of one would send no FIN while the child lives.
    ///
    /// Uses glibc's `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34, found at run time:
    /// Swift's Glibc module does not declare it); without it, closes each descriptor
    /// `/proc/self/fd` lists now (glibc ignores a close action on a descriptor closed meanwhile).
    package static func closeAll(from lowest: Int32, in actions: inout posix_spawn_file_actions_t) {
        if let symbol = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np") {
            let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
            if addCloseFrom(&actions, lowest) == 0 { return }
        }
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
        for fd in open.compactMap({ Int32($0) }) where fd >= lowest {
            posix_spawn_file_actions_addclose(&actions, fd)
        }
    }
}
