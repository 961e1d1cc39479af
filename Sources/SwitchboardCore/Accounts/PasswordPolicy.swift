/// The password rules, stated to the user in every rejection.
public struct PasswordPolicy: Sendable {
    public var minimumLength = 12
    public var maximumLength = 128

    public init() {}

    public var statement: String {
        "use \(minimumLength) to \(maximumLength) characters, not your email address and not a common password"
    }

    /// The reason `password` is refused, or nil when it is acceptable.
    public func problem(with password: String, email: String?) -> String? {
        if password.count < minimumLength {
            return "is too short (\(password.count) characters); \(statement)"
        }
        if password.count > maximumLength {
            return "is too long (\(password.count) characters); \(statement)"
        }
        let lowered = password.lowercased()
        if let email = email?.lowercased(), !email.isEmpty {
            let local = email.split(separator: "@").first.map(String.init) ?? email
            if lowered == email || (local.count >= 4 && lowered.contains(local)) {
                return "must not be or contain your email address; \(statement)"
            }
        }
        if CommonPasswords.contains(lowered) {
            return "is on the list of commonly used passwords; \(statement)"
        }
        if Set(lowered).count < 4 {
            return "repeats too few distinct characters; \(statement)"
        }
        return nil
    }
}
