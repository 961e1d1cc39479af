import Foundation

/// One file of an add-on project or of the SDK, by its path inside the directory it goes into.
public struct AddonProjectFile: Sendable {
    /// The path relative to the directory, with `/` between components.
    public var path: String
    public var contents: Data

    /// A file of `contents` at `path`.
    public init(path: String, contents: Data) {
        self.path = path
        self.contents = contents
    }

    init(path: String, text: String) {
        self.init(path: path, contents: Data(text.utf8))
    }
}

/// Writes a set of files into a directory, all or nothing: every conflict is found before the first
/// file is written, so a refused run leaves the directory as it was.
enum ProjectFiles {
    enum Existing {
        /// Any file already there is a conflict (a new project goes into an empty place).
        case refuse
        /// A file with the same contents is left alone; one that differs is a conflict.
        case keepIfIdentical
        /// A file with the same contents is left alone; one that differs is replaced.
        case replace
    }

    /// Returns the paths of the files written; files already up to date are left out.
    static func write(_ files: [AddonProjectFile], to directory: URL, existing: Existing) throws -> [String] {
        let manager = FileManager.default
        var conflicts: [String] = []
        var pending: [(URL, Data)] = []
        for file in files {
            let url = directory.appendingPathComponent(file.path)
            guard manager.fileExists(atPath: url.path) else {
                pending.append((url, file.contents))
                continue
            }
            if existing == .refuse {
                conflicts.append(url.path)
            } else if (try? Data(contentsOf: url)) != file.contents {
                if existing == .replace { pending.append((url, file.contents)) } else { conflicts.append(url.path) }
            }
        }
        guard conflicts.isEmpty else {
            throw existing == .refuse
                ? AddonSDKError(
                    code: .filesExist,
                    message:
                        "\(directory.path) already holds \(conflicts.joined(separator: ", ")); choose an empty directory",
                    files: conflicts)
                : AddonSDKError(
                    code: .filesDiffer,
                    message:
                        "these files differ from the SDK's: \(conflicts.joined(separator: ", ")); pass --force to replace them, or choose another directory",
                    files: conflicts)
        }
        for (url, contents) in pending {
            do {
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try contents.write(to: url, options: .atomic)
            } catch {
                // Foundation's own text names an error domain and a code; this names the file.
                throw AddonSDKError(
                    code: .cannotWrite,
                    message:
                        "cannot write \(url.path): \(Self.plainReason(error) ?? error.localizedDescription); choose a directory you can write to (not a file, not under one)",
                    files: [url.path])
            }
        }
        return pending.map(\.0.path)
    }

    /// The system's reason for a failed write (errno's text), when Foundation kept it.
    static func plainReason(_ error: any Error) -> String? {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain
        {
            return String(cString: strerror(Int32(underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))) }
        switch nsError.code {
        case CocoaError.fileWriteFileExists.rawValue: return "a file is in the way"
        case CocoaError.fileWriteNoPermission.rawValue: return "permission denied"
        case CocoaError.fileNoSuchFile.rawValue, CocoaError.fileWriteUnknown.rawValue:
            return "a parent is not a directory"
        default: return nil
        }
    }
}
