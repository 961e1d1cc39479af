import Hummingbird
import SwitchboardCore

extension AppContext {
    /// The path parameter `name`, percent-decoded (RFC 3986 section 2.1), as docs/api.md promises:
    /// `/v1/addons/%72eporting` names the add-on `reporting` and `/v1/account/numbers/%2B3725…`
    /// the number `+3725…`. Hummingbird hands parameters over as they were written. Text whose
    /// percent signs do not decode (`%zz`) is taken as written, and then names nothing.
    /// - Throws: `422` naming the parameter when the decoded text breaks `TextRule` (`%00`: SQLite
    ///   would read the id only up to the NUL, and act on the object a proxy or a log never saw);
    ///   what `Parameters.require` throws when the route has no such parameter.
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        let decoded = raw.removingPercentEncoding ?? raw
        if let problem = TextRule.problem(decoded) { throw Problem.invalid(name, problem) }
        return decoded
    }
}
