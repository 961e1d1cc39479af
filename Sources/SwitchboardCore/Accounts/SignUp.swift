import Foundation

extension AccountStore {
    /// Why a sign-up was refused.
    public enum SignUpRefusal: Error, Sendable, Equatable {
        /// Fields break the rules; each error names the field and the fix.
        case invalid([FieldError])
        /// An account with this email exists.
        case emailTaken
    }

    /// The rules `POST /v1/accounts` applies to each field as it reads the request (`JSONInput`),
    /// for callers that take the fields another way (`switchboard accounts create`): the name
    /// required and not blank, at most 200 characters, the email at most 254, the company at most
    /// 200 (characters as Unicode code points), none with a control character other than tab, line
    /// feed and carriage return (`TextRule`). `signUpProblems` checks the rest.
    public static func accountFieldProblems(name: String, email: String, company: String?) -> [FieldError] {
        var problems: [FieldError] = []
        for (field, value, limit) in [("name", name, 200), ("email", email, 254), ("company", company, 200)] {
            guard let value else { continue }
            if let problem = TextRule.problem(value)
                ?? TextRule.sizeProblem(value, maxLength: limit, required: field == "name")
            {
                problems.append(FieldError(field, problem))
            }
        }
        return problems
    }

    /// The rule breaks in a sign-up's fields, each naming the field and the fix; empty when valid.
    /// A nil field is one the caller already reported (missing or of the wrong type). The password
    /// is checked against `name` and `email` too (`PasswordPolicy`).
    public func signUpProblems(email: String?, password: String?, name: String? = nil) -> [FieldError] {
        Self.signUpProblems(email: email, password: password, name: name, policy: policy)
    }

    /// `signUpProblems` without a store, under `policy`.
    public static func signUpProblems(
        email: String?, password: String?, name: String? = nil, policy: PasswordPolicy
    ) -> [FieldError] {
        var problems: [FieldError] = []
        if let email, !EmailAddress.isValid(email) {
            problems.append(FieldError("email", "must be an email address, e.g. ada@example.com"))
        }
        if let password, let problem = policy.problem(with: password, email: email, name: name) {
            problems.append(FieldError("password", problem))
        }
        return problems
    }

    /// The sign-up use case: checks the email and the password policy, then creates the account with
    /// its first API key (shown once).
    /// - Throws: `SignUpRefusal`, or a storage error.
    public func signUp(_ new: NewAccount) async throws -> Created {
        let problems = signUpProblems(email: new.email, password: new.password, name: new.name)
        if !problems.isEmpty { throw SignUpRefusal.invalid(problems) }
        do {
            return try await create(new)
        } catch Failure.emailTaken {
            throw SignUpRefusal.emailTaken
        }
    }
}

/// Email address syntax, as far as a sign-up form should judge it: one `@`, a domain of two or more
/// labels none of them empty (`example..com` has an empty one, RFC 1035 section 2.3.1), no white
/// space, invisible character or control, at most 254 characters (RFC 5321 section 4.5.3.1.3).
public enum EmailAddress {
    public static func isValid(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, email.lengthInCodePoints <= 254 else { return false }
        let labels = parts[1].split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, !labels.contains(where: \.isEmpty) else { return false }
        // Nor anything that shows nothing: `ada@example.com` with a zero-width space or a soft
        // hyphen in it reads as the address without, and is another account.
        return !email.unicodeScalars.contains {
            $0.properties.isWhitespace || $0.properties.isDefaultIgnorableCodePoint
                || $0.properties.generalCategory == .control
        }
    }

    /// The form an address is stored, compared and looked up in: Unicode NFC (UAX #15), then lower
    /// case. "ä" typed as one character or as "a" and a combining diaeresis is one address, so two
    /// accounts cannot hold addresses that read the same.
    public static func key(_ email: String) -> String {
        email.precomposedStringWithCanonicalMapping.lowercased()
    }
}
