import Foundation
import Hummingbird
import NIOCore
import SwitchboardCore

/// A submitted HTML form (`application/x-www-form-urlencoded`, WHATWG URL standard section 5), read
/// within the API's body limit. Every console form carries the session's CSRF token in `csrf`.
struct ConsoleForm {
    private(set) var pairs: [(name: String, value: String)]

    init(pairs: [(name: String, value: String)]) { self.pairs = pairs }

    /// Reads the body; a form that is too large or not URL-encoded is a 4xx ``Problem``.
    static func read(_ request: Request, limit: BodyLimits) async throws -> ConsoleForm {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded") else {
            throw Problem(
                .unsupportedMediaType, "Form expected",
                detail: "The console's pages post application/x-www-form-urlencoded forms.")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limit.maxBytes)
        } catch {
            throw Problem(.contentTooLarge, "Form too large", detail: "A form may be at most \(limit.maxBytes) bytes.")
        }
        return ConsoleForm(encoded: String(buffer: buffer))
    }

    init(encoded: String) {
        pairs = encoded.split(separator: "&").map { part in
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            return (decode(pieces[0]), pieces.count > 1 ? decode(pieces[1]) : "")
        }
    }

    /// The first value of a field, trimmed; nil when absent or empty.
    subscript(_ name: String) -> String? {
        guard
            let value = pairs.first(where: { $0.name == name })?.value.trimmingCharacters(in: .whitespacesAndNewlines),
            !value.isEmpty
        else { return nil }
        return value
    }

    /// A field's value exactly as sent (passwords keep their spaces).
    func raw(_ name: String) -> String? { pairs.first(where: { $0.name == name })?.value }

    /// Every value of a repeated field (checkboxes).
    func all(_ name: String) -> [String] { pairs.filter { $0.name == name }.map(\.value) }

    /// Refuses a form whose `csrf` field is not the session's token (OWASP CSRF Prevention Cheat
    /// Sheet, "Synchronizer Token Pattern"), compared in constant time.
    func requireToken(_ expected: String) throws {
        let given = Array((raw("csrf") ?? "").utf8)
        let wanted = Array(expected.utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for index in wanted.indices where index < given.count { difference |= given[index] ^ wanted[index] }
        guard difference == 0, !wanted.isEmpty else {
            throw Problem(
                .forbidden, "Form expired",
                detail: "This form's security token does not match your session. Reload the page and submit it again.")
        }
    }
}
