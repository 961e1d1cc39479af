import Foundation
import Hummingbird
import SwitchboardAddons
import SwitchboardCore

/// A JSON object from a request body, read field by field so that every bad field is reported at once
/// (a `Decodable` stops at the first) and unknown fields are refused rather than silently ignored.
///
/// Every route reads its body through this, so the rules for input live here once:
/// - the body is I-JSON (`JSONParser`): a duplicate key, a number a double cannot hold exactly, a lone
///   surrogate or nesting past the limit is a 400 naming the field where there is one;
/// - every string in every field, at any depth, keeps to `TextRule` (no U+0000 or other C0 control
///   but tab, LF and CR); a field that breaks it is a 422 naming it, and reads as absent here, so
///   its value never reaches a store. Passwords (`secretFields`) are the exception.
struct JSONInput {
    /// Fields never stored as text: a password is hashed from its UTF-8 bytes, every byte counting,
    /// so any character is kept exactly. Refusing some would also lock out an account whose
    /// password already holds one.
    static let secretFields: Set<String> = ["password", "current_password"]

    private let object: [String: JSONValue]
    private(set) var errors: [FieldError] = []
    /// Fields already refused for their text; later checks of them add no second error.
    private var refused: Set<String> = []

    init(bytes: ByteBuffer, allowed: Set<String>) throws {
        guard bytes.readableBytes > 0 else {
            throw Problem.invalid("body", "must be a JSON object, e.g. {\"name\": \"value\"}")
        }
        let parsed: JSONValue
        do {
            parsed = try JSONParser.parse(Array(bytes.readableBytesView))
        } catch {
            throw Self.problem(error)
        }
        guard case .object(let object) = parsed else {
            throw Problem.invalid("body", "must be a JSON object, not \(parsed.typeName)")
        }
        self.object = object
        for key in object.keys.sorted() {
            if !allowed.contains(key) {
                let known =
                    allowed.isEmpty
                    ? "this request takes no fields; send an empty object {} or no body"
                    : "allowed fields are \(allowed.sorted().joined(separator: ", "))"
                errors.append(FieldError(key, "is not a known field; \(known)"))
            } else if !Self.secretFields.contains(key), let problem = Self.textProblem(in: object[key]!) {
                errors.append(FieldError(key, problem))
                refused.insert(key)
            }
        }
    }

    /// The 400 for a body that is not I-JSON, naming the field when the fault is inside one.
    static func problem(_ error: JSONParser.Malformed) -> Problem {
        let detail = "The request body \(error.description)."
        guard let field = error.field else { return Problem(.badRequest, "Malformed JSON", detail: detail) }
        let message =
            switch error.reason {
            case .duplicateKey: "appears more than once in one object; send each key once"
            case .inexactNumber:
                "is a number that cannot be kept exactly: numbers must lie within ±9007199254740992 (2^53); "
                    + "send larger values as strings"
            default: error.description
            }
        return Problem(.badRequest, "Malformed JSON", detail: detail, errors: [FieldError(field, message)])
    }

    /// The first `TextRule` problem among the strings of `value` (keys of nested objects included),
    /// with the array entry it is in.
    private static func textProblem(in value: JSONValue) -> String? {
        switch value {
        case .string(let text): return TextRule.problem(text)
        case .array(let items):
            for (index, item) in items.enumerated() {
                if let problem = textProblem(in: item) { return "entry \(index + 1) \(problem)" }
            }
            return nil
        case .object(let members):
            for (key, member) in members.sorted(by: { $0.key < $1.key }) {
                if let problem = TextRule.problem(key) ?? textProblem(in: member) { return "key \"\(key)\" \(problem)" }
            }
            return nil
        case .null, .bool, .number: return nil
        }
    }

    func has(_ field: String) -> Bool { object[field] != nil }

    /// Whether `field` holds a value: present and not `null` (which reads as not given).
    func given(_ field: String) -> Bool {
        if case .null? = object[field] { return false }
        return object[field] != nil
    }

    /// A string field; `nil` when absent (recorded as an error when required) or of the wrong type.
    mutating func string(_ field: String, required: Bool = false, maxLength: Int = 1000) -> String? {
        guard !refused.contains(field) else { return nil }
        switch object[field] {
        case nil, .null?:
            if required { errors.append(FieldError(field, "is required")) }
            return nil
        case .string(let text)?:
            if let problem = TextRule.sizeProblem(text, maxLength: maxLength, required: required) {
                errors.append(FieldError(field, problem))
                return nil
            }
            return text
        case let other?:
            errors.append(FieldError(field, "must be a string, not \(other.typeName)"))
            return nil
        }
    }

    mutating func bool(_ field: String) -> Bool? {
        guard !refused.contains(field) else { return nil }
        switch object[field] {
        case nil, .null?: return nil
        case .bool(let value)?: return value
        case let other?:
            errors.append(FieldError(field, "must be true or false, not \(other.typeName)"))
            return nil
        }
    }

    mutating func stringArray(_ field: String, maxCount: Int = 100) -> [String]? {
        guard !refused.contains(field) else { return nil }
        switch object[field] {
        case nil, .null?: return nil
        case .array(let items)?:
            var strings: [String] = []
            for (index, item) in items.enumerated() {
                guard case .string(let text) = item else {
                    errors.append(
                        FieldError(field, "must be an array of strings; entry \(index + 1) is \(item.typeName)"))
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

    /// Records a problem with `field`, unless its text was already refused (one error says more).
    mutating func fail(_ field: String, _ message: String) {
        guard !refused.contains(field) else { return }
        errors.append(FieldError(field, message))
    }

    /// Throws one problem naming every bad field, if there were any.
    func finish() throws {
        if !errors.isEmpty { throw Problem.invalid(errors) }
    }
}
