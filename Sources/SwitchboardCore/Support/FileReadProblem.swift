import Foundation

/// Why a file named by the operator could not be read, in words: Foundation's errors on Linux read
/// `The operation could not be completed. (NSCocoaErrorDomain error 256.)`, which names neither
/// the file nor the fault.
package enum FileReadProblem {
    /// "does not exist", "is a directory, not a file", "is not readable by this user", or the
    /// error's own description when none of those is the cause.
    package static func reason(_ path: String, _ error: any Error) -> String {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return "does not exist" }
        if isDirectory.boolValue { return "is a directory, not a file" }
        if !FileManager.default.isReadableFile(atPath: path) { return "is not readable by this user" }
        return "cannot be read (\(error.localizedDescription))"
    }
}
