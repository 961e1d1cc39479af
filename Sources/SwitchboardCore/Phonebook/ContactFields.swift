import Foundation

/// The editable fields of a contact, validated.
public struct ContactFields: Sendable, Equatable {
    public var number: String
    public var name: String?
    public var notes: String?
    public var groups: [String]
    /// The most groups a contact is in.
    public static let maxGroups = 100

    public init(number: String, name: String?, notes: String?, groups: [String]) {
        self.number = number
        self.name = name
        self.notes = notes
        self.groups = groups
    }

    /// Every problem with these fields, each naming the field and the fix.
    public var problems: [FieldError] {
        var problems: [FieldError] = []
        if !PhoneNumber.isE164(number) { problems.append(FieldError("number", PhoneNumber.e164Hint)) }
        // The JSON API's words for the same rule, so a CSV row and a request say the same.
        if let name, let problem = TextRule.sizeProblem(name, maxLength: 200, required: false) {
            problems.append(FieldError("name", problem))
        }
        if let notes, let problem = TextRule.sizeProblem(notes, maxLength: 2000, required: false) {
            problems.append(FieldError("notes", problem))
        }
        // The JSON API refuses more in the request; the CSV import and the console come here only.
        if groups.count > Self.maxGroups {
            problems.append(FieldError("groups", "must have at most \(Self.maxGroups) entries (got \(groups.count))"))
        }
        for group in groups where group.isEmpty || group.lengthInCodePoints > 64 {
            problems.append(FieldError("groups", "each group name must be 1 to 64 characters"))
            break
        }
        return problems
    }

    var groupsJSON: String {
        String(decoding: (try? JSONEncoder().encode(groups)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
