#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads and crash-safe replacement of an add-on's state file, in the directory the host
/// gives each add-on (`HostHandle.stateDirectory`).
///
/// A replacement writes a sibling temporary file, flushes it, and renames it over the old file, so a
/// crash or power loss leaves either the old contents or the new, never a torn mix.
public enum StateFile {
    /// The file's bytes, or nil when it does not exist.
    public static func load(_ path: String) throws(StateFileError) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StateFileError(operation: "open", path: path, errno: errno)
        }
        defer { close(fd) }
        var contents: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw StateFileError(operation: "read", path: path, errno: errno)
            }
            if count == 0 { return contents }
            contents.append(contentsOf: chunk[0..<count])
        }
    }

    /// Replaces the file's contents with `bytes`, atomically and durably.
    public static func replace(_ path: String, with bytes: [UInt8]) throws(StateFileError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(StateFileError) in try replace(path, with: buffer) }
        }.get()
    }

    /// The same for bytes held elsewhere (a `Data`'s, say), so a large snapshot is not copied first.
    public static func replace(_ path: String, with bytes: UnsafeRawBufferPointer) throws(StateFileError) {
        let temporary = path + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        if fd < 0 { throw StateFileError(operation: "create", path: temporary, errno: errno) }
        do throws(StateFileError) {
            try writeAll(bytes, to: fd, path: temporary)
            if fsync(fd) != 0 { throw StateFileError(operation: "fsync", path: temporary, errno: errno) }
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        if close(fd) != 0 {
            let code = errno
            unlink(temporary)
            throw StateFileError(operation: "close", path: temporary, errno: code)
        }
        if rename(temporary, path) != 0 {
            let code = errno
            unlink(temporary)
            throw StateFileError(operation: "rename", path: path, errno: code)
        }
        syncDirectory(containing: path)
    }

    /// Opens (creating it) a file that `append` adds to: a journal. Keep the descriptor with the
    /// state your instance's lock guards, and `closeAppend` it before replacing or removing the file.
    public static func openAppend(_ path: String) throws(StateFileError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        if fd < 0 { throw StateFileError(operation: "open", path: path, errno: errno) }
        return fd
    }

    /// Appends `bytes` in one write. No fsync: the bytes survive a crash of the process (they are
    /// in the kernel's cache) but not of the machine, like the host's own `durability: normal`.
    /// Pair a journal of small appends with an occasional `replace` snapshot rather than replacing
    /// a whole file on every event.
    public static func append(_ bytes: [UInt8], to fd: Int32, path: String) throws(StateFileError) {
        try writeAll(bytes, to: fd, path: path)
    }

    public static func closeAppend(_ fd: Int32) {
        close(fd)
    }

    /// Deletes the file; nothing to do when it does not exist.
    public static func remove(_ path: String) throws(StateFileError) {
        if unlink(path) != 0 && errno != ENOENT {
            throw StateFileError(operation: "unlink", path: path, errno: errno)
        }
    }

    private static func writeAll(_ bytes: [UInt8], to fd: Int32, path: String) throws(StateFileError) {
        try bytes.withUnsafeBytes { buffer in
            Result { () throws(StateFileError) in try writeAll(buffer, to: fd, path: path) }
        }.get()
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to fd: Int32, path: String) throws(StateFileError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw StateFileError(operation: "write", path: path, errno: errno)
            }
            offset += written
        }
    }

    /// Makes the rename itself durable. Best effort: some file systems refuse to fsync a directory,
    /// and the new contents are already safe in the renamed file.
    private static func syncDirectory(containing path: String) {
        let directory = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? "."
        let fd = open(directory.isEmpty ? "/" : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }
}

/// A failed state-file operation, with the system's reason.
public struct StateFileError: Error, CustomStringConvertible, Sendable {
    /// The step that failed: "open", "read", "create", "write", "fsync", "close", "rename" or "unlink".
    public let operation: String
    public let path: String
    public let errno: Int32

    public var description: String {
        "could not \(operation) \(path): \(String(cString: strerror(errno))) (errno \(errno)); "
            + "check that the add-on's state directory exists, is writable and has free space"
    }
}
