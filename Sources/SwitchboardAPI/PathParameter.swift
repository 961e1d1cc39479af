import Hummingbird

extension AppContext {
    /// The path parameter `name`, percent-decoded (RFC 3986 section 2.1), as docs/api.md promises:
    /// `/v1/addons/%72eporting` names the add-on `reporting` and `/v1/account/numbers/%2B3725…`
    /// the number `+3725…`. Hummingbird hands parameters over as they were written. Text whose
    /// percent signs do not decode (`%zz`) is taken as written, and then names nothing.
    /// - Throws: what `Parameters.require` throws when the route has no such parameter.
    func pathParameter(_ name: String) throws -> String {
        let raw = try parameters.require(name)
        return raw.removingPercentEncoding ?? raw
    }
}
