/// Reads a JSON config object key by key, recording each problem with its dotted path.
package struct ConfigReader {
    private let object: [String: JSONValue]
    private let path: String
    fileprivate var objectValue: [String: JSONValue] { object }
    fileprivate var pathPrefix: String { path }
    package var errors: [FieldError] = []

    package init(_ value: JSONValue, path: String) {
        self.path = path
        if case .object(let object) = value {
            self.object = object
        } else {
            self.object = [:]
            errors.append(FieldError(path.isEmpty ? "file" : path, "must be a JSON object"))
        }
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : path + "." + key }

    package mutating func allow(_ keys: Set<String>) {
        for key in object.keys.sorted() where !keys.contains(key) {
            errors.append(
                FieldError(name(key), "is not a known setting; known here: \(keys.sorted().joined(separator: ", "))"))
        }
    }

    /// A non-empty string, within the text rule (`TextRule`: no control character but tab and line
    /// breaks).
    package mutating func string(_ key: String, into target: inout String) {
        guard let value = object[key] else { return }
        guard case .string(let text) = value else {
            errors.append(FieldError(name(key), "must be a string, not \(value.typeName)"))
            return
        }
        if text.isEmpty {
            errors.append(FieldError(name(key), "must not be empty"))
        } else if let problem = TextRule.problem(text) {
            errors.append(FieldError(name(key), problem))
        } else {
            target = text
        }
    }

    package mutating func optionalString(_ key: String, into target: inout String?) {
        guard let value = object[key] else { return }
        switch value {
        case .null: target = nil
        case .string(let text):
            if let problem = TextRule.problem(text) {
                errors.append(FieldError(name(key), problem))
            } else {
                target = text
            }
        default: errors.append(FieldError(name(key), "must be a string or null, not \(value.typeName)"))
        }
    }

    /// A number as a person wrote it: `0.5`, `3`.
    static func written(_ number: Double) -> String {
        if number.rounded() == number, let whole = Int(exactly: number) { return String(whole) }
        return "\(number)"
    }

    package mutating func int(_ key: String, in range: ClosedRange<Int>, into target: inout Int, hint: String? = nil) {
        guard let value = object[key] else { return }
        guard case .number(let number) = value else {
            errors.append(FieldError(name(key), "must be a whole number, not \(value.typeName)"))
            return
        }
        guard number.rounded() == number, let whole = Int(exactly: number) else {
            errors.append(FieldError(name(key), "must be a whole number, got \(Self.written(number))"))
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

    package mutating func double(_ key: String, in range: ClosedRange<Double>, into target: inout Double) {
        guard let value = object[key] else { return }
        guard case .number(let number) = value, range.contains(number) else {
            let got = if case .number(let number) = value { Self.written(number) } else { value.typeName }
            errors.append(
                FieldError(
                    name(key),
                    "must be a number between \(Self.written(range.lowerBound)) and \(Self.written(range.upperBound)), got \(got)"
                ))
            return
        }
        target = number
    }

    package mutating func enumeration<E: RawRepresentable & CaseIterable>(_ key: String, into target: inout E)
    where E.RawValue == String {
        guard let value = object[key] else { return }
        let allowed = E.allCases.map(\.rawValue)
        guard case .string(let text) = value, let parsed = E(rawValue: text) else {
            errors.append(FieldError(name(key), "must be one of \(allowed.joined(separator: ", "))"))
            return
        }
        target = parsed
    }

    package mutating func object(_ key: String, _ body: (inout ConfigReader) -> Void) {
        guard let value = object[key] else { return }
        var sub = ConfigReader(value, path: name(key))
        body(&sub)
        errors.append(contentsOf: sub.errors)
    }
}

extension ConfigReader {
    /// The raw value of a key, for shapes the typed readers do not cover.
    package func value(_ key: String) -> JSONValue? { objectValue[key] }

    var keyPath: String { pathPrefix }

    package mutating func required(_ key: String) -> Bool {
        if objectValue[key] == nil {
            errors.append(FieldError(pathPrefix.isEmpty ? key : pathPrefix + "." + key, "is required"))
            return false
        }
        return true
    }

    /// Whether the object has `key` at all (to tell "not set" from a default).
    package func has(_ key: String) -> Bool { objectValue[key] != nil }

    package mutating func bool(_ key: String, into target: inout Bool) {
        guard let value = objectValue[key] else { return }
        if case .bool(let flag) = value {
            target = flag
        } else {
            errors.append(
                FieldError(
                    pathPrefix.isEmpty ? key : pathPrefix + "." + key, "must be true or false, not \(value.typeName)"))
        }
    }

    package mutating func stringArray(_ key: String, into target: inout [String]) {
        guard let value = objectValue[key] else { return }
        guard case .array(let items) = value else {
            errors.append(
                FieldError(
                    pathPrefix.isEmpty ? key : pathPrefix + "." + key,
                    "must be an array of strings, not \(value.typeName)"))
            return
        }
        var strings: [String] = []
        for item in items {
            guard case .string(let text) = item else {
                errors.append(
                    FieldError(pathPrefix.isEmpty ? key : pathPrefix + "." + key, "must contain only strings"))
                return
            }
            strings.append(text)
        }
        target = strings
    }

    package mutating func stringMap(_ key: String, into target: inout [String: String]) {
        guard let value = objectValue[key] else { return }
        guard case .object(let object) = value else {
            errors.append(
                FieldError(pathPrefix.isEmpty ? key : pathPrefix + "." + key, "must be an object of string values"))
            return
        }
        for (name, item) in object {
            guard case .string(let text) = item else {
                errors.append(
                    FieldError(
                        (pathPrefix.isEmpty ? key : pathPrefix + "." + key) + "." + name,
                        "must be a string, not \(item.typeName)"))
                continue
            }
            target[name] = text
        }
    }

    package mutating func record(_ field: String, _ message: String) {
        errors.append(FieldError(pathPrefix.isEmpty ? field : pathPrefix + "." + field, message))
    }
}

extension ConfigReader {
    /// Reads an array of objects, each through `body` with its index in the path (`key[2].field`).
    package mutating func objects(_ key: String, _ body: (Int, inout ConfigReader) -> Void) {
        guard let value = objectValue[key] else { return }
        let name = pathPrefix.isEmpty ? key : pathPrefix + "." + key
        guard case .array(let items) = value else {
            errors.append(FieldError(name, "must be an array of objects, not \(value.typeName)"))
            return
        }
        for (index, item) in items.enumerated() {
            var sub = ConfigReader(item, path: "\(name)[\(index)]")
            body(index, &sub)
            errors.append(contentsOf: sub.errors)
        }
    }
}
