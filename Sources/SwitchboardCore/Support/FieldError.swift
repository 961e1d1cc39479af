/// One input field that was rejected, and how to fix it.
public struct FieldError: Sendable, Codable, Equatable {
    public var field: String
    public var message: String

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}
