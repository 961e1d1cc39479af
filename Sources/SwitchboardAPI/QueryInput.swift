import Foundation
import Hummingbird
import SwitchboardCore

/// A request's query parameters, read one by one so that one 422 names every bad parameter (the
/// throwing `Request.query` stops at the first), as `JSONInput` does for body fields.
///
/// ```swift
/// var parameters = request.queryInput()
/// filter.limit = parameters.limit()
/// filter.since = parameters.value("since", hint: Timestamp.hint, Timestamp.parse)
/// try parameters.finish()  // 422 naming since and limit, if both were bad
/// ```
///
/// Every value read keeps to `TextRule` (no U+0000 or other C0 control but tab, LF and CR), and a
/// parameter given twice is refused rather than one of the two silently winning, as a duplicate key
/// in a JSON body is. A parameter the route never read is refused by `finish` too, as an unknown
/// body field is: `?stauts=failed` would otherwise list every message, and `?acount=` would turn an
/// audit of one account into an audit of all, with nothing to say the filter was not applied.
struct QueryInput {
    /// Each parameter's values, in the order given (percent-decoded by Hummingbird).
    private var parameters: [Substring: [Substring]] = [:]
    /// The parameters in the order the request gave them, for naming unknown ones in that order.
    private var given: [Substring] = []
    /// The names the route read (present or not), in the order it read them.
    private var read: [String] = []
    private(set) var errors: [FieldError] = []
    /// Parameters already refused for their escapes; reading them adds no second error.
    private var undecodable: Set<String> = []

    init(_ request: Request) {
        // A percent escape that is no UTF-8 (`?q=%FF`) is decoded to something other than what was
        // sent, and a search for it answers an empty list: refused, naming the parameter.
        for piece in (request.uri.query ?? "").split(separator: "&") {
            guard piece.contains("%"), piece.removingPercentEncoding == nil else { continue }
            let raw = piece.prefix { $0 != "=" }
            let name = raw.removingPercentEncoding ?? String(raw)
            errors.append(
                FieldError(
                    name,
                    "is not UTF-8 text once its percent escapes are decoded; percent-encode the UTF-8 bytes of the text (é is %C3%A9)"
                ))
            undecodable.insert(name)
        }
        // Read once: Hummingbird parses the query string anew on every access to `queryParameters`.
        for (name, value) in request.uri.queryParameters {
            // `?&limit=5` and `a=1&&b=2` hold an empty piece, which names no parameter.
            if name.isEmpty && value.isEmpty { continue }
            if parameters[name] == nil { given.append(name) }
            parameters[name, default: []].append(value)
        }
    }

    /// The raw text of `name`; nil when absent, or (recorded as an error) given twice, empty or breaking
    /// `TextRule`.
    mutating func text(_ name: String) -> String? {
        if !read.contains(name) { read.append(name) }
        guard !undecodable.contains(name) else { return nil }
        let values = parameters[Substring(name)] ?? []
        guard let first = values.first else { return nil }
        guard values.count == 1 else {
            errors.append(FieldError(name, "is given \(values.count) times; give it once"))
            return nil
        }
        // `?group=` filters by nothing: it would answer an empty list, or be read as no filter.
        guard !first.isEmpty else {
            errors.append(FieldError(name, "is empty; give a value or leave the parameter out"))
            return nil
        }
        let text = String(first)
        if let problem = TextRule.problem(text) {
            errors.append(FieldError(name, problem))
            return nil
        }
        return text
    }

    /// `name` read by `parse`; nil when absent or bad, a bad value recorded with `hint` (which says
    /// what is accepted, with an example).
    /// Records `message` against `name`, for a rule between parameters (a range whose end is
    /// before its start).
    mutating func fail(_ name: String, _ message: String) {
        errors.append(FieldError(name, message))
    }

    mutating func value<T>(_ name: String, hint: String, _ parse: (String) -> T?) -> T? {
        guard let text = text(name) else { return nil }
        guard let value = parse(text) else {
            errors.append(FieldError(name, hint))
            return nil
        }
        return value
    }

    /// `limit`: a whole number from 1 to `max`, `defaultValue` when absent or bad.
    mutating func limit(default defaultValue: Int = 50, max: Int = 200) -> Int {
        value("limit", hint: "must be a whole number from 1 to \(max)") {
            Int($0).flatMap { (1...max).contains($0) ? $0 : nil }
        } ?? defaultValue
    }

    /// Throws one 422 naming every bad parameter, if there were any, and every parameter the route
    /// did not read (with the ones it takes).
    func finish() throws {
        var errors = self.errors
        let takes = read.isEmpty ? "it takes none" : "it takes " + read.joined(separator: ", ")
        for name in given where !read.contains(String(name)) {
            errors.append(FieldError(String(name), "is not a parameter of this request; \(takes)"))
        }
        if !errors.isEmpty { throw Problem.invalid(errors) }
    }
}

extension Request {
    /// The query parameters, for reading several with every bad one named (see `QueryInput`).
    func queryInput() -> QueryInput { QueryInput(self) }

    /// Refuses every query parameter, for a request that takes none: a mistyped filter
    /// (`/v1/account/shares?addon=recc`) would otherwise be answered as if it were absent, a full
    /// answer that reads as a filtered one.
    /// - Throws: `Problem` 422 naming each parameter.
    func refuseQueryParameters() throws { try queryInput().finish() }
}
