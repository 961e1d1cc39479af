import PluginAPI

/// One field of an add-on's view, and how it was treated on the way out.
public struct ViewField: Sendable, Equatable {
    public enum Treatment: String, Sendable, Codable {
        case clear
        case pseudonym
        case digest
    }

    public var id: String
    public var value: FieldValue
    public var treatment: Treatment
}

/// The event as one add-on may see it.
public struct AddonView: Sendable, Equatable {
    public var eventID: String
    public var type: EventType
    public var accountID: String
    public var timeMs: Int64
    public var fields: [ViewField]
}

extension AddonView {
    /// Lays the view out as a C `sb_event` whose pointers live only during `body` (the ABI's
    /// call-scoped rule): all strings go into one buffer, the fields into one array.
    func withCEvent<R>(_ body: (UnsafePointer<sb_event>) -> R) -> R {
        var storage: [UInt8] = []
        func append(_ text: String) -> Int {
            let offset = storage.count
            storage.append(contentsOf: text.utf8)
            storage.append(0)
            return offset
        }
        let typeOffset = append(type.rawValue)
        let eventOffset = append(eventID)
        let accountOffset = append(accountID)
        var layout: [(idOffset: Int, valueOffset: Int, length: Int)] = []
        for field in fields {
            let idOffset = append(field.id)
            switch field.value {
            case .text(let text):
                let valueOffset = storage.count
                storage.append(contentsOf: text.utf8)
                layout.append((idOffset, valueOffset, storage.count - valueOffset))
                storage.append(0)
            case .int:
                layout.append((idOffset, -1, 0))
            }
        }
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!)
            func cString(_ offset: Int) -> UnsafePointer<CChar> { (base + offset).assumingMemoryBound(to: CChar.self) }
            var cFields: [sb_field] = []
            cFields.reserveCapacity(fields.count)
            for (field, place) in zip(fields, layout) {
                let kind: UInt32
                var intValue: Int64 = 0
                switch (field.value, field.treatment) {
                case (.int(let value), _):
                    kind = UInt32(SB_FIELD_INT)
                    intValue = value
                case (.text, .clear): kind = UInt32(SB_FIELD_TEXT)
                case (.text, .pseudonym): kind = UInt32(SB_FIELD_PSEUDONYM)
                case (.text, .digest): kind = UInt32(SB_FIELD_DIGEST)
                }
                cFields.append(
                    sb_field(
                        id: cString(place.idOffset), kind: kind, reserved: 0,
                        bytes: place.valueOffset < 0
                            ? nil : (base + place.valueOffset).assumingMemoryBound(to: UInt8.self),
                        length: UInt64(place.length), int_value: intValue))
            }
            return cFields.withUnsafeBufferPointer { fieldBuffer in
                var event = sb_event(
                    struct_size: UInt32(MemoryLayout<sb_event>.size), type: type.abiCode,
                    type_name: cString(typeOffset),
                    event_id: cString(eventOffset), account_id: cString(accountOffset), time_ms: timeMs,
                    fields: fieldBuffer.baseAddress, field_count: UInt32(fieldBuffer.count), reserved: 0)
                return withUnsafePointer(to: &event) { body($0) }
            }
        }
    }
}
