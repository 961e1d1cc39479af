import Foundation

/// The credentials of an `Authorization` header: HTTP Basic (RFC 7617) with the account id and an API
/// key or session token, or a Bearer token (RFC 6750).
enum BasicCredentials {
    static func parse(_ header: String) -> (accountID: String, secret: String)? {
        guard header.count > 6, header.prefix(6).lowercased() == "basic " else { return nil }
        guard let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let decoded = String(data: data, encoding: .utf8),
            let colon = decoded.firstIndex(of: ":")
        else { return nil }
        let user = String(decoded[..<colon])
        let password = String(decoded[decoded.index(after: colon)...])
        guard !user.isEmpty, !password.isEmpty else { return nil }
        return (user, password)
    }

    /// The token of `Bearer <token>` (the scheme matched without regard to case, RFC 9110 section
    /// 11.1), or nil for any other header or an empty token.
    static func bearerToken(_ header: String) -> String? {
        guard header.count > 7, header.prefix(7).lowercased() == "bearer " else { return nil }
        let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces)
        return token.isEmpty ? nil : token
    }
}
