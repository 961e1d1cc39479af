/// Reads a JSON config object key by key, recording each problem with its dotted path.
struct ConfigReader {
    private let object: [String: JSONValue]
    private let path: String
    var errors: [FieldError] = []

    init(_ value: JSONValue, path: String) {
        self.path = path
        if case .object(let object) = value {
            self.object = object
        } else {
            self.object = [:]
            errors.append(FieldError(path.isEmpty ? "file" : path, "must be a JSON object"))
        }
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    mutating func allow(_ keys: Set<String>) {
        for key in object.keys.sorted() where !keys.contains(key) {
            errors.append(
                FieldError(name(key), "is not a known setting; known here: \(keys.sorted().joined(separator: ", "))"))
        }
    }

    mutating func string(_ key: String, into target: inout String) {
        guard let value = object[key] else { return }
        if case .string(let text) = value, !text.isEmpty {
            target = text
        } else {
            errors.append(FieldError(name(key), "must be a non-empty string, not \(value.typeName)"))
        }
    }

    mutating func optionalString(_ key: String, into target: inout String?) {
        guard let value = object[key] else { return }
        switch value {
        case .null: target = nil
        case .string(let text): target = text
        default: errors.append(FieldError(name(key), "must be a string or null, not \(value.typeName)"))
        }
    }

    mutating func int(_ key: String, in range: ClosedRange<Int>, into target: inout Int, hint: String? = nil) {
        guard let value = object[key] else { return }
        guard case .number(let number) = value, number.rounded() == number, let whole = Int(exactly: number) else {
            errors.append(FieldError(name(key), "must be a whole number, not \(value.typeName)"))
            return
        }
        guard range.contains(whole) else {
            let suffix = hint.map { " (\($0))" } ?? ""
            errors.append(
                FieldError(
                    name(key), "must be between \(range.lowerBound) and \(range.upperBound), got \(whole)\(suffix)"))
            return
        }
        target = whole
    }

    mutating func double(_ key: String, in range: ClosedRange<Double>, into target: inout Double) {
        guard let value = object[key] else { return }
        guard case .number(let number) = value, range.contains(number) else {
            errors.append(FieldError(name(key), "must be a number between \(range.lowerBound) and \(range.upperBound)"))
            return
        }
        target = number
    }

    mutating func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, into target: inout E)
    where E.RawValue == String {
        guard let value = object[key] else { return }
        let allowed = E.allCases.map(\.rawValue)
        guard case .string(let text) = value, let parsed = E(rawValue: text) else {
            errors.append(FieldError(name(key), "must be one of \(allowed.joined(separator: ", "))"))
            return
        }
        target = parsed
    }

    mutating func object(_ key: String, _ body: (inout ConfigReader) -> Void) {
        guard let value = object[key] else { return }
        var sub = ConfigReader(value, path: name(key))
        body(&sub)
        errors.append(contentsOf: sub.errors)
    }
}
