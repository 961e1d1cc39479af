import GRDB

/// A database error that says the storage cannot take writes for now, rather than that the request
/// was wrong: the same write may succeed once the operator frees space or the lock is released.
/// From SQLite's result codes (https://sqlite.org/rescode.html).
public enum StorageFault: String, Sendable, CustomStringConvertible {
    /// `SQLITE_FULL`: the disk (or the file system holding the data directory) is full.
    case diskFull = "disk_full"
    /// `SQLITE_IOERR` and its extended codes: the operating system reported an I/O error.
    case ioError = "io_error"
    /// `SQLITE_READONLY`, `SQLITE_CANTOPEN`: the file or its directory cannot be written or opened.
    case notWritable = "not_writable"
    /// `SQLITE_BUSY`, `SQLITE_LOCKED`: another connection held the database past the busy timeout.
    case busy

    /// Nil for errors that are not about the storage (constraints, SQL errors, refusals by triggers).
    public init?(_ error: DatabaseError) {
        switch error.resultCode {
        case .SQLITE_FULL: self = .diskFull
        case .SQLITE_IOERR: self = .ioError
        case .SQLITE_READONLY, .SQLITE_CANTOPEN: self = .notWritable
        case .SQLITE_BUSY, .SQLITE_LOCKED: self = .busy
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .diskFull: "the disk is full"
        case .ioError: "an I/O error"
        case .notWritable: "the database file cannot be written"
        case .busy: "the database stayed locked"
        }
    }
}
