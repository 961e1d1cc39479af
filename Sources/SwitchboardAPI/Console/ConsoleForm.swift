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
        guard let text = String(validating: buffer.readableBytesView, as: UTF8.self) else {
            throw Problem(
                .badRequest, "Form not readable", detail: "The form is not UTF-8 text; send it from the console's page."
            )
        }
        let form = ConsoleForm(encoded: text)
        if let bad = form.undecodable.first {
            throw Problem.invalid(
                bad, "is not valid form encoding (percent-encoded UTF-8); send it from the console's page")
        }
        return form
    }

    /// Refuses text the API refuses (JSONInput): a NUL, which would cut a value short in C code.
    /// - Throws: `Problem` 422 naming the first such field.
    func requireCleanText() throws {
        if let bad = pairs.first(where: { $0.value.contains("\u{0}") || $0.name.contains("\u{0}") }) {
            throw Problem.invalid(bad.name, "must not contain U+0000 (a NUL character); remove it and send again")
        }
    }

    /// A typed value as a page shows it back: a NUL (which HTML cannot carry) as U+FFFD, so the
    /// person sees where it was.
    static func shown(_ value: String) -> String { value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}") }

    /// Names of fields whose percent-encoding did not decode to UTF-8.
    private(set) var undecodable: [String] = []

    init(encoded: String) {
        var pairs: [(name: String, value: String)] = []
        var undecodable: [String] = []
        for part in encoded.split(separator: "&") {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let rawName = pieces[0].replacingOccurrences(of: "+", with: " ")
            let rawValue = pieces.count > 1 ? pieces[1].replacingOccurrences(of: "+", with: " ") : ""
            let name = rawName.removingPercentEncoding ?? rawName
            guard rawName.removingPercentEncoding != nil, let value = rawValue.removingPercentEncoding else {
                undecodable.append(name)
                continue
            }
            pairs.append((name, value))
        }
        self.pairs = pairs
        self.undecodable = undecodable
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
    /// Sheet, "Synchronizer Token Pattern"), compared in constant time. A page rendered for a
    /// session sends the token and its form id as `TOKEN.FORMID` (``ConsoleSubmissions``).
    /// - Returns: the form id, or nil for a form sent without one.
    /// - Throws: `Problem` 403 "Form expired".
    @discardableResult
    func requireToken(_ expected: String) throws -> String? {
        let sent = raw("csrf") ?? ""
        if let dot = sent.lastIndex(of: "."), Self.same(sent[..<dot], expected) {
            let formID = String(sent[sent.index(after: dot)...])
            return formID.isEmpty ? nil : formID
        }
        guard Self.same(Substring(sent), expected) else {
            throw Problem(
                .forbidden, "Form expired",
                detail: "This form's security token does not match your session. Reload the page and submit it again.")
        }
        return nil
    }

    /// Whether `given` is `wanted`, in time that depends on their lengths only; false for an empty `wanted`.
    private static func same(_ given: Substring, _ wanted: String) -> Bool {
        let given = Array(given.utf8)
        let wanted = Array(wanted.utf8)
        var difference = UInt8(given.count == wanted.count ? 0 : 1)
        for index in wanted.indices where index < given.count { difference |= given[index] ^ wanted[index] }
        return difference == 0 && !wanted.isEmpty
    }

    /// Names given more than once in a form that takes them once: read as the first value, the
    /// others would be dropped without a word, where the API refuses the same (`QueryInput`).
    /// - Throws: `Problem` 422 naming the first such field.
    func requireSingleValues(except repeatable: Set<String> = ["fields"]) throws {
        var counts: [String: Int] = [:]
        for pair in pairs where !repeatable.contains(pair.name) { counts[pair.name, default: 0] += 1 }
        if let (name, count) = counts.filter({ $0.value > 1 }).min(by: { $0.key < $1.key }) {
            throw Problem.invalid(name, "is given \(count) times; give it once")
        }
    }
}
