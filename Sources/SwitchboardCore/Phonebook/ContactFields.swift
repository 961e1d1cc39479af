import Foundation

/// The editable fields of a contact, validated.
public struct ContactFields: Sendable, Equatable {
    public var number: String
    public var name: String?
    public var notes: String?
    public var groups: [String]

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
        if let name, name.count > 200 { problems.append(FieldError("name", "must be at most 200 characters")) }
        if let notes, notes.count > 2000 { problems.append(FieldError("notes", "must be at most 2000 characters")) }
        for group in groups where group.isEmpty || group.count > 64 {
            problems.append(FieldError("groups", "each group name must be 1 to 64 characters"))
            break
        }
        return problems
    }

    var groupsJSON: String {
        String(decoding: (try? JSONEncoder().encode(groups)) ?? Data("[]".utf8), as: UTF8.self)
    }
}
