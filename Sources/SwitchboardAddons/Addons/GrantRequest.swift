import SwitchboardCore

/// What a customer asks to grant, checked against the manifest: named fields and whole categories,
/// each of which must be requested by the add-on, and together covering every required field.
public struct GrantRequest: Sendable, Equatable {
    public var fields: [String]

    public static func resolve(manifest: Manifest, fields: [String], categories: [String]) -> Result<
        GrantRequest, GrantProblems
    > {
        var problems: [FieldError] = []
        var granted = Set<String>()
        for field in fields {
            if manifest.field(field) == nil {
                problems.append(
                    FieldError(
                        "fields",
                        "\(field) is not requested by \(manifest.name); it asks for \(manifest.fields.map(\.id).joined(separator: ", "))"
                    ))
            } else {
                granted.insert(field)
            }
        }
        for name in categories {
            guard let category = DataCategory(rawValue: name) else {
                problems.append(FieldError("categories", "\(name) is not a category; use content, account or usage"))
                continue
            }
            let inCategory = manifest.fields.filter { $0.category == category }.map(\.id)
            // A category the add-on asks nothing of grants nothing: said, so the customer does not
            // believe it granted (or that the add-on will receive) data of that kind.
            guard !inCategory.isEmpty else {
                let asked = Set(manifest.fields.map(\.category.rawValue)).sorted().joined(separator: ", ")
                problems.append(
                    FieldError(
                        "categories",
                        "\(name): \(manifest.name) asks for no field of this category; it asks for \(asked) data"))
                continue
            }
            granted.formUnion(inCategory)
        }
        let missing = manifest.requiredFields.filter { !granted.contains($0) }
        if !missing.isEmpty {
            problems.append(
                FieldError(
                    "fields",
                    "\(manifest.name) cannot work without \(missing.joined(separator: ", ")); grant them or leave the add-on disabled"
                ))
        }
        if problems.isEmpty && granted.isEmpty {
            problems.append(FieldError("fields", "name the fields or categories to grant"))
        }
        return problems.isEmpty
            ? .success(GrantRequest(fields: granted.sorted())) : .failure(GrantProblems(problems: problems))
    }
}

public struct GrantProblems: Error, Sendable {
    public var problems: [FieldError]
}
