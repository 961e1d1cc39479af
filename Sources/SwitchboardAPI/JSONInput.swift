import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// A JSON object from a request body, read field by field so that every bad field is reported at once
/// (a `Decodable` stops at the first) and unknown fields are refused rather than silently ignored.
struct JSONInput {
    private let object: [String: JSONValue]
    private(set) var errors: [FieldError] = []

    init(bytes: ByteBuffer, allowed: Set<String>) throws {
        guard bytes.readableBytes > 0 else {
            throw Problem.invalid("body", "must be a JSON object, e.g. {\"name\": \"value\"}")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(Array(bytes.readableBytesView))
        } catch {
            throw Problem(
                .badRequest, "Malformed JSON",
                detail:
                    "The request body is not valid JSON at byte \(error.offset); check quotes, commas and braces.")
        }
        guard case .object(let object) = parsed else {
            throw Problem.invalid("body", "must be a JSON object, not \(parsed.typeName)")
        }
        self.object = object
        for key in object.keys.sorted() where !allowed.contains(key) {
            errors.append(
                FieldError(key, "is not a known field; allowed fields are \(allowed.sorted().joined(separator: ", "))"))
        }
    }

    func has(_ field: String) -> Bool { object[field] != nil }

    /// A string field; `nil` when absent (recorded as an error when required) or of the wrong type.
    mutating func string(_ field: String, required: Bool = false, maxLength: Int = 1000) -> String? {
        switch object[field] {
        case nil, .null?:
            if required { errors.append(FieldError(field, "is required")) }
            return nil
        case .string(let text)?:
            if text.count > maxLength {
                errors.append(FieldError(field, "must be at most \(maxLength) characters (got \(text.count))"))
                return nil
            }
            // Blank as `CharacterSet.whitespaces` means it (tab and the Zs spaces), without bridging
            // to NSString on every field of every request.
            if required
                && text.unicodeScalars.allSatisfy({ $0 == "\t" || $0.properties.generalCategory == .spaceSeparator })
            {
                errors.append(FieldError(field, "must not be empty"))
                return nil
            }
            return text
        case let other?:
            errors.append(FieldError(field, "must be a string, not \(other.typeName)"))
            return nil
        }
    }

    mutating func bool(_ field: String) -> Bool? {
        switch object[field] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            errors.append(FieldError(field, "must be true or false, not \(other.typeName)"))
            return nil
        }
    }

    mutating func stringArray(_ field: String, maxCount: Int = 100) -> [String]? {
        switch object[field] {
        case nil, .null?: return nil
        case .array(let items)?:
            var strings: [String] = []
            for item in items {
                guard case .string(let text) = item else {
                    errors.append(FieldError(field, "must be an array of strings, e.g. [\"customers\"]"))
                    return nil
                }
                strings.append(text)
            }
            if strings.count > maxCount {
                errors.append(FieldError(field, "must have at most \(maxCount) entries"))
                return nil
            }
            return strings
        case let other?:
            errors.append(FieldError(field, "must be an array of strings, not \(other.typeName)"))
            return nil
        }
    }

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field, message))
    }

    /// Throws one problem naming every bad field, if there were any.
    func finish() throws {
        if !errors.isEmpty { throw Problem.invalid(errors) }
    }
}
