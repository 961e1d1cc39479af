import PluginAPI

/// A read-only view of one `sb_event`, valid only during the callback that received it.
public struct EventView {
    public let raw: UnsafePointer<sb_event>

    public init(_ raw: UnsafePointer<sb_event>) {
        self.raw = raw
    }

    public var typeName: String { String(cString: raw.pointee.type_name) }
    public var eventID: String { String(cString: raw.pointee.event_id) }
    public var accountID: String { String(cString: raw.pointee.account_id) }
    public var timeMs: Int64 { raw.pointee.time_ms }

    /// The text (or pseudonym, or digest) of a field; nil when the add-on was not given it.
    public func text(_ id: String) -> String? {
        guard let field = sb_event_get(raw, id), field.pointee.kind != SB_FIELD_INT, let bytes = field.pointee.bytes
        else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(field.pointee.length)), as: UTF8.self)
    }

    /// The value of an integer field; nil when absent.
    public func int(_ id: String) -> Int64? {
        guard let field = sb_event_get(raw, id), field.pointee.kind == SB_FIELD_INT else { return nil }
        return field.pointee.int_value
    }

    /// Whether the field is present at all (granted and applicable).
    public func has(_ id: String) -> Bool { sb_event_get(raw, id) != nil }
}

/// A read-only view of an erasure subject.
public struct SubjectView {
    public let raw: UnsafePointer<sb_subject>

    public init(_ raw: UnsafePointer<sb_subject>) {
        self.raw = raw
    }

    public var kind: UInt32 { raw.pointee.kind }
    public var accountID: String { String(cString: raw.pointee.account_id) }
    public var value: String? { Self.string(raw.pointee.value, raw.pointee.value_length) }
    public var pseudonym: String? { Self.string(raw.pointee.pseudonym, raw.pointee.pseudonym_length) }

    private static func string(_ bytes: UnsafePointer<UInt8>?, _ length: UInt64) -> String? {
        guard let bytes else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(length)), as: UTF8.self)
    }
}
